"""App configs: the core app and the admin site (Emerald's dashboard)."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ErpConfig(AppConfig):
    name = "erp"
    verbose_name = _("Núcleo")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from erp import dashboard
        from erp.panels import SYSTEM_PANEL

        dashboard.register(SYSTEM_PANEL)


class EmeraldAdminConfig(AdminConfig):
    default_site = "erp.admin_site.EmeraldAdminSite"
