"""The event catalog and emit(): every domain event is an outbox row written in the caller's transaction."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    required: tuple[str, ...]


_MOVEMENT = ("id", "tipo", "articulo", "deposito", "cantidad", "estado")
_SERVICE = ("service_id", "customer", "router", "ip_address", "mac_address", "status")

CATALOG: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("movimiento_creado", "A stock movement was recorded (pending approval).", _MOVEMENT),
        EventType("movimiento_aprobado", "A stock movement was approved and applied to stock.", _MOVEMENT),
        EventType("movimiento_rechazado", "A stock movement was rejected.", _MOVEMENT),
        EventType(
            "stock_bajo",
            "Stock fell below the article's minimum.",
            ("articulo", "nombre", "deposito", "cantidad_actual", "umbral_minimo"),
        ),
        EventType(
            "alerta_generada",
            "A low-stock alert was opened.",
            ("alerta_id", "articulo", "nombre", "deposito", "cantidad_actual", "umbral_minimo"),
        ),
        EventType("servicio_aprovisionado", "A service was provisioned on its router.", _SERVICE),
        EventType("servicio_suspendido", "A service was suspended.", _SERVICE),
        EventType("servicio_activado", "A suspended service was re-activated.", _SERVICE),
        EventType("servicio_dado_de_baja", "A service was removed from its router.", _SERVICE),
        EventType("webhook_test", "A test event sent from the admin.", ("mensaje",)),
    )
}

Subscriber = Callable[["OutboxEvent"], None]  # noqa: F821
_subscribers: list[Subscriber] = []


class UnknownEventError(ValueError):
    pass


def subscribe(handler: Subscriber) -> None:
    """Register a handler called once per event, inside the dispatch transaction (idempotent registration)."""
    if handler not in _subscribers:
        _subscribers.append(handler)


def validate(event_type: str, data: dict) -> None:
    spec = CATALOG.get(event_type)
    if spec is None:
        raise UnknownEventError(f"Unknown event type {event_type!r}; add it to erp.events.CATALOG.")
    missing = [k for k in spec.required if k not in data]
    if missing:
        raise UnknownEventError(f"Event {event_type!r} is missing {', '.join(missing)}.")


def emit(event_type: str, data: dict):
    """Write the event to the outbox in the current transaction; fan-out happens after commit."""
    from erp.models import OutboxEvent

    validate(event_type, data)
    event = OutboxEvent.objects.create(type=event_type, payload=data)
    transaction.on_commit(lambda: _dispatch_after_commit(event.pk))
    return event


def _dispatch_after_commit(event_pk: int) -> None:
    try:
        dispatch_event(event_pk)
    except Exception:  # the sweeper retries; a subscriber failure must not break the caller's request
        logger.exception("Dispatch of outbox event %s failed; the sweeper will retry", event_pk)


def dispatch_event(event_pk: int) -> bool:
    """Hand one event to every subscriber exactly once; True if this call dispatched it."""
    from erp.models import OutboxEvent

    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_pk, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return False
        for handler in list(_subscribers):
            handler(event)
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
    return True


def dispatch_pending(*, older_than_seconds: int = 5, limit: int = 500) -> int:
    """Sweep events committed but never dispatched (process died after commit); returns how many."""
    from erp.models import OutboxEvent

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(dispatch_event(pk) for pk in ids)
