"""Typed order events: each row of an order's history says what kind of change it is, with its details.

Existing rows get their type from their states: no ``from_state`` is the
placing, the same state on both sides is an edit of the lines (whose states
are then cleared: only placing and state moves carry states), anything else a
state move.
"""

from django.db import migrations, models
from django.db.models import F, Q


def type_existing_events(apps, schema_editor):
    OrderEvent = apps.get_model("ventes", "OrderEvent")
    OrderEvent.objects.filter(from_state="").update(type="placed")
    OrderEvent.objects.filter(~Q(from_state=""), from_state=F("to_state")).update(
        type="lines_edited", from_state="", to_state=""
    )
    OrderEvent.objects.filter(type="").update(type="state_moved")


def untype_events(apps, schema_editor):
    OrderEvent = apps.get_model("ventes", "OrderEvent")
    # Before types, an edit kept the order's state on both sides; the state it had then is not known: received.
    OrderEvent.objects.filter(type="lines_edited").update(from_state="received", to_state="received")
    OrderEvent.objects.exclude(type__in=["placed", "lines_edited", "state_moved"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ventes", "0004_order_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderevent",
            name="type",
            field=models.CharField(default="", max_length=30, verbose_name="type"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="orderevent",
            name="params",
            field=models.JSONField(blank=True, default=dict, verbose_name="détails"),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="to_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pending_payment", "en attente de paiement"),
                    ("received", "reçue"),
                    ("preparing", "en préparation"),
                    ("ready", "prête"),
                    ("out_for_delivery", "en livraison"),
                    ("completed", "terminée"),
                    ("cancelled", "annulée"),
                ],
                max_length=20,
                verbose_name="vers",
            ),
        ),
        migrations.RunPython(type_existing_events, untype_events, elidable=False),
    ]
