from django.db import migrations

# The dashboard sums the day's orders from an index alone (order_day_board_idx, order_updated_idx): a row
# changed since the table was last vacuumed is read from the table instead, and a busy day changes every
# order several times. Vacuumed after every thousand changed or new rows, not a fifth of the whole history.
ORDER_AUTOVACUUM = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "1000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "1000",
}


def order_vacuum_often(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("ventes", "Order")._meta.db_table
    options = ", ".join(f"{name} = {value}" for name, value in ORDER_AUTOVACUUM.items())
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET ({options})")


def order_vacuum_as_default(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("ventes", "Order")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET ({', '.join(ORDER_AUTOVACUUM)})")


class Migration(migrations.Migration):
    dependencies = [("ventes", "0020_order_dashboard_day")]

    operations = [migrations.RunPython(order_vacuum_often, order_vacuum_as_default)]
