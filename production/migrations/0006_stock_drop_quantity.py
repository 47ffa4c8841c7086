from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("production", "0005_stock_on_hand_reserved"),
    ]

    operations = [
        migrations.RemoveField(model_name="stock", name="quantity"),
        migrations.RemoveField(model_name="stockmovement", name="quantity"),
        migrations.AddConstraint(
            model_name="stock",
            constraint=models.CheckConstraint(condition=models.Q(("reserved__gte", 0)), name="stock_reserved_gte_0"),
        ),
        migrations.AddConstraint(
            model_name="stock",
            constraint=models.CheckConstraint(
                condition=models.Q(("on_hand__gte", models.F("reserved"))), name="stock_available_gte_0"
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind__in", ["reservation", "release", "consumption", "unconsumed"]),
                        ("order__isnull", False),
                    ),
                    models.Q(("kind__in", ["restock", "inventory", "waste"]), ("reserved_delta", 0)),
                    _connector="OR",
                ),
                name="movement_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(("on_hand_delta", 0), ("reserved_delta", 0), _negated=True),
                name="movement_moves_something",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind__in", ["reservation", "release"]), _negated=True),
                    ("on_hand_delta", 0),
                    _connector="OR",
                ),
                name="movement_reservation_off_shelf",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockmovement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind__in", ["consumption", "unconsumed"]), _negated=True),
                    ("on_hand_delta", models.F("reserved_delta")),
                    _connector="OR",
                ),
                name="movement_consumption_both",
            ),
        ),
    ]
