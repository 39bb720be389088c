"""The event catalog and emit(): every domain event is an outbox row written in the caller's transaction."""

import logging
import threading
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
    _pending.setdefault(_connection_key(), []).append(event)
    transaction.on_commit(_dispatch_after_commit)
    return event


# Events emitted by this thread and not yet dispatched. The first after-commit callback of a transaction
# dispatches all of them in one transaction; the callbacks of the others find the list empty. Events left
# over from a rolled-back transaction match no row and cost nothing.
_pending: dict[int, list] = {}


def _connection_key() -> int:
    # Django connections are per thread, and so are their after-commit callbacks.
    return threading.get_ident()


def _dispatch_after_commit() -> None:
    emitted = _pending.pop(_connection_key(), [])
    if not emitted:
        return
    try:
        _dispatch_emitted(emitted)
    except Exception:  # the sweeper retries; a subscriber failure must not break the caller's request
        logger.exception("Dispatch of outbox events %s failed; the sweeper will retry", [e.pk for e in emitted])


def _dispatch_emitted(emitted: list) -> int:
    """dispatch_events() for events this thread just committed, without reading them back: the stamp is the
    claim. If the sweeper took some meanwhile, the stamp is rolled back and the locking path sorts them out."""
    from erp.models import OutboxEvent

    pks = [e.pk for e in emitted]
    with transaction.atomic():
        stamped = OutboxEvent.objects.filter(pk__in=pks, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now()
        )
        if stamped == len(emitted):
            for event in emitted:
                for handler in list(_subscribers):
                    handler(event)
            return stamped
        transaction.set_rollback(True)
    return dispatch_events(pks)


def dispatch_event(event_pk: int) -> bool:
    """Hand one event to every subscriber exactly once; True if this call dispatched it."""
    return dispatch_events([event_pk]) == 1


def dispatch_events(event_pks: list[int]) -> int:
    """Hand each event to every subscriber exactly once, all in one transaction; returns how many."""
    from erp.models import OutboxEvent

    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(pk__in=event_pks, dispatched_at__isnull=True)
            .order_by("pk")
        )
        for event in events:
            for handler in list(_subscribers):
                handler(event)
        if events:
            OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
    return len(events)


def dispatch_pending(*, older_than_seconds: int = 5, limit: int = 500) -> int:
    """Sweep events committed but never dispatched (process died after commit); returns how many."""
    from erp.models import OutboxEvent

    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    ids = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    dispatched = 0
    for pk in ids:  # one by one: a poisoned event must not hold back the others
        try:
            dispatched += dispatch_event(pk)
        except Exception:
            logger.exception("Dispatch of outbox event %s failed again", pk)
    return dispatched
