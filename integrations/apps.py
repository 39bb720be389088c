"""App config for integrations: subscribes to the event outbox and adds its dashboard panel."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integraciones")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from erp import dashboard, events
        from integrations.dashboard import INTEGRATIONS_PANEL
        from integrations.webhooks.outbound import fan_out_event

        events.subscribe(fan_out_event)
        from integrations.sync import erp_push
        from integrations.webhooks.inbound import register_handler

        register_handler(erp_push.ARTICLES_EVENT, erp_push.handle_articles_push)
        register_handler(erp_push.STOCK_EVENT, erp_push.handle_stock_push)
        dashboard.register(INTEGRATIONS_PANEL)
