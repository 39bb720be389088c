"""Read queries of the integration log: the report endpoint's figures and the dashboard's daily series."""

from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.models import DeliveryStatus, IntegrationLog, LogStatus, WebhookDelivery

# The beat task of the ERP synchroniser (a later issue); "proxima_sincronizacion" is read from its schedule.
ERP_SYNC_TASK = "integrations.sync_erp"
ERP_SYSTEM = "erp"


def _rate(ok: int, total: int) -> float:
    return round(100.0 * ok / total, 2) if total else 0.0


def get_integration_report(*, desde: datetime, hasta: datetime) -> dict:
    """Totals, success rate and a per-system breakdown of the log entries in [desde, hasta)."""
    window = IntegrationLog.objects.filter(created_at__gte=desde, created_at__lt=hasta)
    ok = Q(status=LogStatus.OK)
    totals = window.aggregate(total=Count("id"), ok=Count("id", filter=ok), last=Max("created_at"))
    systems = [
        {
            "sistema": row["system"],
            "total": row["total"],
            "exitosas": row["ok"],
            "fallidas": row["total"] - row["ok"],
            "tasa_exito": _rate(row["ok"], row["total"]),
            "ultima": row["last"],
        }
        for row in window.values("system")
        .annotate(total=Count("id"), ok=Count("id", filter=ok), last=Max("created_at"))
        .order_by("system")
    ]
    return {
        "total_sincronizaciones": totals["total"],
        "exitosas": totals["ok"],
        "fallidas": totals["total"] - totals["ok"],
        "tasa_exito": _rate(totals["ok"], totals["total"]),
        "ultima_sincronizacion": totals["last"],
        "proxima_sincronizacion": find_next_run(ERP_SYNC_TASK),
        "desde": desde,
        "hasta": hasta,
        "por_sistema": systems,
    }


def find_last_erp_sync() -> datetime | None:
    return IntegrationLog.objects.filter(system=ERP_SYSTEM).aggregate(last=Max("created_at"))["last"]


def find_next_run(task_name: str) -> datetime | None:
    """When beat will next run `task_name`, from its django-celery-beat row; None if there is no enabled one."""
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.filter(task=task_name, enabled=True).first()
    if task is None:
        return None
    now = timezone.now()
    try:
        remaining = task.schedule.remaining_estimate(task.last_run_at or now)
    except Exception:  # an odd schedule must not break a report
        return None
    return now + max(remaining, timedelta(0))


def list_daily_outcomes(*, days: int = 14, now=None) -> list[dict]:
    """[{day, ok, error}] for the last `days` days (local dates, oldest first, zero-filled)."""
    now = timezone.localtime(now or timezone.now())
    first = (now - timedelta(days=days - 1)).date()
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        IntegrationLog.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(ok=Count("id", filter=Q(status=LogStatus.OK)), error=Count("id", filter=~Q(status=LogStatus.OK)))
    )
    by_day = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day, {})
        series.append({"day": day, "ok": row.get("ok", 0), "error": row.get("error", 0)})
    return series


def count_deliveries_by_status() -> dict[str, int]:
    counts = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in DeliveryStatus.values}
