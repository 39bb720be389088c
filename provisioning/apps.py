"""App config for provisioning: adds its dashboard panel."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = _("Aprovisionamiento")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from erp import dashboard
        from provisioning.panels import PROVISIONING_PANEL

        dashboard.register(PROVISIONING_PANEL)
