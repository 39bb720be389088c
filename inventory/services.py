"""Inventory use cases: every write to articles, stock, movements and alerts goes through here."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from erp import events
from inventory.errors import (
    ArticleExistsError,
    InsufficientStockError,
    InvalidMovementError,
    MovementNotPendingError,
    UnknownArticleError,
    UnknownWarehouseError,
)
from inventory.models import (
    AlertStatus,
    Article,
    Movement,
    MovementKind,
    MovementStatus,
    Stock,
    StockAlert,
    Warehouse,
    normalize_code,
)
from inventory.models import format_quantity as qty


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, or an external API key (by label, since inventory cannot see integrations)."""

    user: object | None = None
    key_label: str = ""

    @property
    def label(self) -> str:
        return self.key_label or (str(self.user) if self.user else "sistema")


SYSTEM = Actor()


def get_article(code: str) -> Article:
    try:
        return Article.objects.get(code=normalize_code(code))
    except Article.DoesNotExist:
        raise UnknownArticleError(f"No existe el artículo '{code}'.") from None


def get_warehouse(code: str) -> Warehouse:
    try:
        return Warehouse.objects.get(code=normalize_code(code))
    except Warehouse.DoesNotExist:
        raise UnknownWarehouseError(f"No existe el depósito '{code}'.") from None


# ----------------------------------------------------------------------------- movements


def _movement_payload(movement: Movement) -> dict:
    return {
        "id": movement.pk,
        "tipo": movement.kind,
        "articulo": movement.article.code,
        "deposito": movement.warehouse.code,
        "deposito_destino": movement.to_warehouse.code if movement.to_warehouse_id else None,
        "cantidad": qty(movement.quantity * (movement.direction if movement.kind == MovementKind.ADJUSTMENT else 1)),
        "estado": movement.status,
        "referencia": movement.reference,
        "creado_por": movement.created_by_label,
        "fecha": movement.created_at.isoformat(),
    }


def validate_movement(kind, article, warehouse, quantity, to_warehouse=None, direction=1) -> Decimal:
    """Check a movement's shape before recording it (forms call this too); returns the quantity as Decimal."""
    if kind not in MovementKind.values:
        raise InvalidMovementError(f"Tipo de movimiento desconocido: '{kind}'.")
    quantity = Decimal(quantity)
    if quantity <= 0:
        raise InvalidMovementError("La cantidad debe ser mayor que cero.", details={"quantity": ["Debe ser > 0."]})
    if not article.active:
        raise InvalidMovementError(f"El artículo '{article.code}' está inactivo.")
    if kind == MovementKind.TRANSFER:
        if to_warehouse is None or to_warehouse.pk == warehouse.pk:
            raise InvalidMovementError("Una transferencia necesita un depósito destino distinto del origen.")
    elif to_warehouse is not None:
        raise InvalidMovementError("Solo las transferencias tienen depósito destino.")
    if direction not in (1, -1):
        raise InvalidMovementError("El sentido de un ajuste es +1 o -1.")
    return quantity


def _create_movement(*, kind, article, warehouse, quantity, to_warehouse=None, direction=1, reference="", actor):
    quantity = validate_movement(kind, article, warehouse, quantity, to_warehouse, direction)
    if kind == MovementKind.IN:
        direction = 1
    elif kind in (MovementKind.OUT, MovementKind.TRANSFER):
        direction = -1
    movement = Movement.objects.create(
        kind=kind,
        article=article,
        warehouse=warehouse,
        to_warehouse=to_warehouse,
        quantity=quantity,
        direction=direction,
        reference=reference or "",
        created_by=actor.user,
        created_by_key=actor.key_label,
    )
    events.emit("movimiento_creado", _movement_payload(movement))
    return movement


@transaction.atomic
def create_movement(
    *,
    kind: str,
    article: Article,
    warehouse: Warehouse,
    quantity,
    to_warehouse: Warehouse | None = None,
    direction: int = 1,
    reference: str = "",
    actor: Actor = SYSTEM,
    auto_approve: bool = False,
) -> Movement:
    """Record a pending movement (emits movimiento_creado); with auto_approve it is applied at once, or not at all."""
    movement = _create_movement(
        kind=kind,
        article=article,
        warehouse=warehouse,
        quantity=quantity,
        to_warehouse=to_warehouse,
        direction=direction,
        reference=reference,
        actor=actor,
    )
    if auto_approve:
        _approve(movement, actor)
    return movement


def _locked_stock_rows(article: Article, warehouses: list[Warehouse]) -> dict[int, Stock]:
    """Ensure the rows exist, then lock them in primary-key order so concurrent approvals cannot deadlock."""
    Stock.objects.bulk_create(
        [Stock(article=article, warehouse=w) for w in warehouses],
        ignore_conflicts=True,
    )
    rows = Stock.objects.select_for_update().filter(article=article, warehouse__in=warehouses).order_by("pk")
    return {row.warehouse_id: row for row in rows}


def _deltas(movement: Movement) -> list[tuple[Warehouse, Decimal]]:
    if movement.kind == MovementKind.TRANSFER:
        return [(movement.warehouse, -movement.quantity), (movement.to_warehouse, movement.quantity)]
    return [(movement.warehouse, movement.quantity * movement.direction)]


def _approve(movement: Movement, actor: Actor) -> Movement:
    deltas = _deltas(movement)
    rows = _locked_stock_rows(movement.article, [w for w, _ in deltas])
    for warehouse, delta in deltas:
        row = rows[warehouse.pk]
        if row.quantity + delta < 0:
            raise InsufficientStockError(
                f"Stock insuficiente de '{movement.article.code}' en '{warehouse.code}': "
                f"hay {row.quantity}, se necesitan {-delta}.",
                details={"disponible": str(row.quantity), "requerido": str(-delta)},
            )
    for warehouse, delta in deltas:
        Stock.objects.filter(pk=rows[warehouse.pk].pk).update(quantity=F("quantity") + delta, updated_at=timezone.now())
    movement.status = MovementStatus.APPROVED
    movement.approved_by = actor.user
    movement.approved_by_key = actor.key_label
    movement.decided_at = timezone.now()
    movement.save(update_fields=["status", "approved_by", "approved_by_key", "decided_at", "updated_at"])
    events.emit("movimiento_aprobado", _movement_payload(movement))
    for warehouse, _ in deltas:
        _evaluate_alert(movement.article, warehouse)
    return movement


def _lock_pending(movement_id: int) -> Movement:
    movement = (
        Movement.objects.select_for_update(of=("self",))
        .select_related("article", "warehouse", "to_warehouse")
        .filter(pk=movement_id)
        .first()
    )
    if movement is None:
        raise InvalidMovementError(f"No existe el movimiento {movement_id}.", code="UNKNOWN_MOVEMENT", status=404)
    if movement.status != MovementStatus.PENDING:
        raise MovementNotPendingError(f"El movimiento {movement_id} ya está {movement.get_status_display().lower()}.")
    return movement


@transaction.atomic
def approve_movement(movement_id: int, *, actor: Actor = SYSTEM) -> Movement:
    """Apply a pending movement to stock atomically; INSUFFICIENT_STOCK (409) leaves everything unchanged."""
    return _approve(_lock_pending(movement_id), actor)


@transaction.atomic
def reject_movement(movement_id: int, *, actor: Actor = SYSTEM, reason: str = "") -> Movement:
    movement = _lock_pending(movement_id)
    movement.status = MovementStatus.REJECTED
    movement.approved_by = actor.user
    movement.approved_by_key = actor.key_label
    movement.decided_at = timezone.now()
    movement.rejection_reason = reason[:300]
    movement.save()
    events.emit("movimiento_rechazado", _movement_payload(movement))
    return movement


# ----------------------------------------------------------------------------- alerts


def _evaluate_alert(article: Article, warehouse: Warehouse) -> None:
    """Open an alert when stock falls below the minimum; resolve open ones when it is back."""
    quantity = Stock.objects.get(article=article, warehouse=warehouse).quantity
    open_alert = StockAlert.objects.filter(
        article=article, warehouse=warehouse, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    ).first()
    below = article.min_stock > 0 and quantity < article.min_stock
    if below and open_alert is None:
        alert = StockAlert.objects.create(
            article=article, warehouse=warehouse, quantity=quantity, min_stock=article.min_stock
        )
        data = {
            "articulo": article.code,
            "nombre": article.name,
            "deposito": warehouse.code,
            "cantidad_actual": qty(quantity),
            "umbral_minimo": qty(article.min_stock),
        }
        events.emit("alerta_generada", {"alerta_id": alert.pk, **data})
        events.emit("stock_bajo", data)
    elif not below and open_alert is not None:
        open_alert.status = AlertStatus.RESOLVED
        open_alert.resolved_at = timezone.now()
        open_alert.save(update_fields=["status", "resolved_at", "updated_at"])


@transaction.atomic
def acknowledge_alert(alert_id: int, *, actor: Actor = SYSTEM) -> StockAlert:
    alert = StockAlert.objects.select_for_update().get(pk=alert_id)
    if alert.status != AlertStatus.OPEN:
        raise MovementNotPendingError(
            f"La alerta {alert_id} ya está {alert.get_status_display().lower()}.", code="ALERT_NOT_OPEN"
        )
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = actor.user
    alert.acknowledged_at = timezone.now()
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "updated_at"])
    return alert


# ----------------------------------------------------------------------------- stock and articles


def apply_stock_level(
    *, article: Article, warehouse: Warehouse, quantity, reference: str, actor: Actor
) -> Movement | None:
    """set_stock without its own transaction, for callers that batch many rows in theirs (the CSV import)."""
    quantity = Decimal(quantity)
    if quantity < 0:
        raise InvalidMovementError("La cantidad de stock no puede ser negativa.")
    current = Stock.objects.filter(article=article, warehouse=warehouse).values_list("quantity", flat=True).first()
    delta = quantity - (current or Decimal("0"))
    if delta == 0:
        if current is None:  # "there are none" is still a fact worth a row: it shows up in stock lists
            Stock.objects.bulk_create([Stock(article=article, warehouse=warehouse)], ignore_conflicts=True)
        return None
    movement = _create_movement(
        kind=MovementKind.ADJUSTMENT,
        article=article,
        warehouse=warehouse,
        quantity=abs(delta),
        direction=1 if delta > 0 else -1,
        reference=reference,
        actor=actor,
    )
    return _approve(movement, actor)


@transaction.atomic
def set_stock(*, article: Article, warehouse: Warehouse, quantity, reference: str = "", actor: Actor = SYSTEM):
    """Bring stock to `quantity` through an approved ajuste, so history stays complete; None if unchanged."""
    return apply_stock_level(article=article, warehouse=warehouse, quantity=quantity, reference=reference, actor=actor)


@transaction.atomic
def create_article(*, code: str, **fields) -> Article:
    """Create an article; an existing code (case-insensitive) is ARTICLE_EXISTS (409), never an overwrite."""
    if Article.objects.filter(code=normalize_code(code)).exists():
        raise ArticleExistsError(f"Ya existe el artículo '{normalize_code(code)}'.")
    return save_article(code=code, **fields)[0]


ARTICLE_FIELDS = ("name", "category", "unit", "material", "diameter_mm", "min_stock", "active", "external_ref")


@transaction.atomic
def save_article(*, code: str, article: Article | None = None, **fields) -> tuple[Article, bool]:
    """Create or update an article by code; re-evaluates alerts when the minimum changes. Returns (article, created)."""
    unknown = set(fields) - set(ARTICLE_FIELDS)
    if unknown:
        raise InvalidMovementError(f"Campos desconocidos: {', '.join(sorted(unknown))}.")
    created = False
    if article is None:
        article = Article.objects.select_for_update().filter(code=normalize_code(code)).first()
        if article is None:
            article, created = Article(code=code), True
    old_min = article.min_stock
    for name, value in fields.items():
        setattr(article, name, value)
    article.save()
    if not created and article.min_stock != old_min:
        for warehouse_id in Stock.objects.filter(article=article).values_list("warehouse_id", flat=True):
            _evaluate_alert(article, Warehouse.objects.get(pk=warehouse_id))
    return article, created
