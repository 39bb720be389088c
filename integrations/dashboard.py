"""The integrations panel of the admin dashboard: a 14-day success/failure chart (inline SVG) and queue figures."""

from django.utils.translation import gettext_lazy as _

from erp.dashboard import Panel
from integrations import reports

CHART_W, CHART_H, PAD = 560, 160, 20


def build_chart(series: list[dict]) -> dict:
    """Stacked bars (ok below, errors on top) as SVG coordinates; the template only draws them."""
    peak = max((d["ok"] + d["error"] for d in series), default=0) or 1
    slot = (CHART_W - 2 * PAD) / max(len(series), 1)
    width = slot * 0.7
    usable = CHART_H - 2 * PAD
    bars = []
    for i, day in enumerate(series):
        x = PAD + i * slot + (slot - width) / 2
        ok_h = usable * day["ok"] / peak
        err_h = usable * day["error"] / peak
        base = CHART_H - PAD
        bars.append(
            {
                "x": round(x, 1),
                "w": round(width, 1),
                "ok_y": round(base - ok_h, 1),
                "ok_h": round(ok_h, 1),
                "err_y": round(base - ok_h - err_h, 1),
                "err_h": round(err_h, 1),
                "label_x": round(x + width / 2, 1),
                "day": day["day"],
                "ok": day["ok"],
                "error": day["error"],
            }
        )
    return {"width": CHART_W, "height": CHART_H, "bars": bars, "peak": peak, "base": CHART_H - PAD}


def integrations_context(request) -> dict:
    series = reports.list_daily_outcomes(days=14)
    deliveries = reports.count_deliveries_by_status()
    return {
        "chart": build_chart(series),
        "total_ok": sum(d["ok"] for d in series),
        "total_error": sum(d["error"] for d in series),
        "deliveries_pending": deliveries["pendiente"],
        "deliveries_failed": deliveries["fallido"],
        "last_erp_sync": reports.find_last_erp_sync(),
        "next_erp_sync": reports.find_next_run(reports.ERP_SYNC_TASK),
    }


INTEGRATIONS_PANEL = Panel(
    "integrations", _("Integraciones"), "admin/integrations/panel_integrations.html", integrations_context, order=200
)
