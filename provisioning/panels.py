"""The provisioning dashboard panel: services by status, routers enabled, router changes that failed today."""

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from erp.dashboard import Panel
from provisioning.models import Router, RouterOperation, Service


def provisioning_context(request) -> dict:
    by_status = dict(Service.objects.values_list("status").annotate(n=Count("id")).order_by())
    since = timezone.now() - timezone.timedelta(hours=24)
    return {
        "services": [(label, by_status.get(value, 0)) for value, label in Service.Status.choices],
        "routers_enabled": Router.objects.filter(enabled=True).count(),
        "failed_operations": RouterOperation.objects.filter(success=False, created_at__gte=since).count(),
    }


PROVISIONING_PANEL = Panel(
    "provisioning",
    _("Aprovisionamiento"),
    "admin/provisioning/panel_provisioning.html",
    provisioning_context,
    order=200,
)
