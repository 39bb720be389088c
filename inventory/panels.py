"""The inventory dashboard panel: pending movements, open alerts and the articles furthest below minimum."""

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from erp.dashboard import Panel
from inventory.models import AlertStatus, Movement, MovementStatus, Stock, StockAlert


def inventory_context(request) -> dict:
    below = (
        Stock.objects.filter(article__min_stock__gt=0, quantity__lt=F("article__min_stock"))
        .select_related("article", "warehouse")
        .annotate(deficit=F("article__min_stock") - F("quantity"))
        .order_by("-deficit")[:5]
    )
    return {
        "pending_movements": Movement.objects.filter(status=MovementStatus.PENDING).count(),
        "open_alerts": StockAlert.objects.filter(status=AlertStatus.OPEN).count(),
        "below": below,
    }


INVENTORY_PANEL = Panel("inventory", _("Inventario"), "admin/inventory/panel.html", inventory_context, order=10)
