"""The default warehouse every installation starts with."""

from django.db import migrations

DEFAULT_CODE = "CENTRAL"


def create_default(apps, schema_editor):
    Warehouse = apps.get_model("inventory", "Warehouse")
    Warehouse.objects.get_or_create(code=DEFAULT_CODE, defaults={"name": "Depósito central"})


def remove_default(apps, schema_editor):
    apps.get_model("inventory", "Warehouse").objects.filter(code=DEFAULT_CODE, stock__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(create_default, remove_default)]
