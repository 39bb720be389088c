"""The core dashboard panel: staff users, undispatched events, running mode."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from erp.dashboard import Panel
from erp.models import OutboxEvent


def system_context(request) -> dict:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return {
        "staff_users": get_user_model().objects.filter(is_staff=True, is_active=True).count(),
        "pending_events": OutboxEvent.objects.filter(dispatched_at__isnull=True).count(),
        "mode": f"{engine} · {'Redis' if settings.REDIS_URL else _('embebido')}",
    }


SYSTEM_PANEL = Panel("system", _("Sistema"), "admin/erp/panel_system.html", system_context, order=900)
