"""App config for hubs."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubsConfig(AppConfig):
    name = "hubs"
    verbose_name = _("Hubs")
    default_auto_field = "django.db.models.BigAutoField"
