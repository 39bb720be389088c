"""Read queries of the inventory: the stock report."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from inventory.models import Article, Movement, Stock, format_quantity


def stock_report(*, date_from: date, date_to: date) -> dict:
    """Articles, units per warehouse, articles below minimum with their deficit, movements per day."""
    below = (
        Stock.objects.filter(article__min_stock__gt=0, quantity__lt=F("article__min_stock"))
        .select_related("article", "warehouse")
        .order_by("article__code", "warehouse__code")
    )
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(date_from, time.min), tz)
    end = timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz)
    per_day = (
        Movement.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            total=Count("id"),
            aprobados=Count("id", filter=Q(status="aprobado")),
            pendientes=Count("id", filter=Q(status="pendiente")),
            rechazados=Count("id", filter=Q(status="rechazado")),
        )
        .order_by("day")
    )
    return {
        "articulos": {
            "total": Article.objects.count(),
            "activos": Article.objects.filter(active=True).count(),
        },
        "stock_por_deposito": [
            {
                "deposito": row["warehouse__code"],
                "nombre": row["warehouse__name"],
                "unidades": format_quantity(row["units"]),
            }
            for row in Stock.objects.values("warehouse__code", "warehouse__name")
            .annotate(units=Sum("quantity"))
            .order_by("warehouse__code")
        ],
        "bajo_minimo": [
            {
                "articulo": s.article.code,
                "nombre": s.article.name,
                "deposito": s.warehouse.code,
                "cantidad_actual": format_quantity(s.quantity),
                "umbral_minimo": format_quantity(s.article.min_stock),
                "deficit": format_quantity(s.article.min_stock - s.quantity),
            }
            for s in below
        ],
        "movimientos_por_dia": [
            {"fecha": row["day"].isoformat(), **{k: row[k] for k in ("total", "aprobados", "pendientes", "rechazados")}}
            for row in per_day
        ],
        "desde": date_from.isoformat(),
        "hasta": date_to.isoformat(),
    }
