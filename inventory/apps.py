"""App config for inventory."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventario")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from erp import dashboard
        from inventory.panels import INVENTORY_PANEL

        dashboard.register(INVENTORY_PANEL)
