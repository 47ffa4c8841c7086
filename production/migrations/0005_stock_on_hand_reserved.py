"""Stock in two figures: on hand (physically there) and reserved (held by open orders).

Until now a line had one level, which reservations lowered: it was what was
still available. This keeps that meaning: a line's new on-hand is its old level
plus what the open orders (awaiting payment or received) hold, and its reserved
is what they hold. Each ledger row is rewritten in the two-figure form, and the
orders that went to the oven, which kept their reservations in the old form,
get the consumption row they would have written.
"""

import django.core.validators
from django.db import migrations, models
from django.db.models import F, Sum

OPEN_STATES = ["pending_payment", "received"]
ORDER_KINDS = ["reservation", "release"]
NOTE = "reprise du stock en deux chiffres"


def two_figures(apps, schema_editor):
    Stock = apps.get_model("production", "Stock")
    StockMovement = apps.get_model("production", "StockMovement")
    # An old row's quantity lowered the level when an order reserved: the order held its opposite.
    StockMovement.objects.filter(kind__in=ORDER_KINDS).update(reserved_delta=-F("quantity"))
    StockMovement.objects.exclude(kind__in=ORDER_KINDS).update(on_hand_delta=F("quantity"))
    consumed = (
        StockMovement.objects.filter(order__isnull=False)
        .exclude(order__state__in=OPEN_STATES)
        .values("stock_id", "order_id")
        .annotate(held=Sum("reserved_delta"))
        .filter(held__gt=0)
        .order_by("stock_id", "order_id")
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            stock_id=row["stock_id"],
            order_id=row["order_id"],
            kind="consumption",
            on_hand_delta=-row["held"],
            reserved_delta=-row["held"],
            note=NOTE,
        )
        for row in consumed
    )
    ledger = {
        row["stock_id"]: row
        for row in StockMovement.objects.values("stock_id").annotate(
            on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta")
        )
    }
    for stock in Stock.objects.order_by("pk"):
        sums = ledger.get(stock.pk, {"on_hand": 0, "reserved": 0})
        stock.reserved = sums["reserved"] or 0
        stock.on_hand = stock.quantity + stock.reserved
        gap = stock.on_hand - (sums["on_hand"] or 0)
        if gap:
            # A level that its old ledger did not explain: the difference is recorded, as a count would.
            StockMovement.objects.create(stock=stock, kind="inventory", on_hand_delta=gap, note=NOTE)
        stock.save(update_fields=["on_hand", "reserved"])


def one_figure(apps, schema_editor):
    Stock = apps.get_model("production", "Stock")
    StockMovement = apps.get_model("production", "StockMovement")
    # The old form had no consumption: an order in the oven simply kept its reservation.
    StockMovement.objects.filter(kind__in=["consumption", "unconsumed"]).delete()
    StockMovement.objects.filter(kind__in=ORDER_KINDS).update(quantity=-F("reserved_delta"))
    StockMovement.objects.exclude(kind__in=ORDER_KINDS).update(quantity=F("on_hand_delta"))
    Stock.objects.update(quantity=F("on_hand") - F("reserved"))


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0004_dailyreport"),
        ("ventes", "0004_order_idempotency_key"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="stock", name="stock_quantity_gte_0"),
        migrations.RemoveConstraint(model_name="stockmovement", name="movement_kind_valid"),
        migrations.RemoveConstraint(model_name="stockmovement", name="movement_quantity_not_0"),
        migrations.AddField(
            model_name="stock",
            name="on_hand",
            field=models.IntegerField(
                default=0, validators=[django.core.validators.MinValueValidator(0)], verbose_name="en stock"
            ),
        ),
        migrations.AddField(
            model_name="stock",
            name="reserved",
            field=models.IntegerField(default=0, editable=False, verbose_name="réservé"),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="on_hand_delta",
            field=models.IntegerField(
                default=0, help_text="Signé : négatif quand l'étagère se vide.", verbose_name="en stock"
            ),
        ),
        migrations.AddField(
            model_name="stockmovement",
            name="reserved_delta",
            field=models.IntegerField(
                default=0, help_text="Signé : négatif quand une commande rend.", verbose_name="réservé"
            ),
        ),
        # A default, so that going back re-creates the column over rows written in the new form.
        migrations.AlterField(
            model_name="stockmovement",
            name="quantity",
            field=models.IntegerField(default=0, verbose_name="quantité"),
        ),
        migrations.AlterField(
            model_name="stockmovement",
            name="kind",
            field=models.CharField(
                choices=[
                    ("reservation", "réservation"),
                    ("release", "libération"),
                    ("consumption", "consommation"),
                    ("unconsumed", "consommation annulée"),
                    ("restock", "réapprovisionnement"),
                    ("inventory", "inventaire"),
                    ("waste", "perte"),
                ],
                max_length=12,
                verbose_name="type",
            ),
        ),
        migrations.RunPython(two_figures, one_figure),
    ]
