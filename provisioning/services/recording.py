"""Running a change and recording it: router I/O, then service state, audit row and event in one transaction."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from erp import events
from erp.exceptions import DomainError
from provisioning.models import Router, RouterOperation, Service
from provisioning.routeros import RouterClient
from provisioning.services.connections import _session
from provisioning.services.convergence import _QueueSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Saved:
    """What a change's ``done`` set on its service: the fields to save and the event to emit, if any."""

    fields: tuple[str, ...]
    event: str | None = None


@dataclass
class _Change:
    """One validated mutation: its router I/O, and ``done``, which applies the new state to the service."""

    router: Router
    operation: str
    service: Service | None
    params: dict[str, Any]  # for the audit row: built from non-secret fields only
    io: Callable[[RouterClient], Any] | None = None
    done: Callable[[], _Saved] | None = None
    message: str = ""
    spec: _QueueSpec | None = None
    claims_ip: str = ""  # the IP the service holds once this change succeeds


@dataclass
class _Attempt:
    """A change whose router I/O has run, waiting to be recorded; ``saved`` is set once ``done`` ran."""

    change: _Change
    duration_ms: int
    error: str = ""
    saved: _Saved | None = None


def _mutate(change: _Change, *, user, client: RouterClient | None) -> Any:
    """Router I/O with no transaction open, then outcome + audit + event in one transaction."""
    started = time.monotonic()
    try:
        result = _io(change, client)
    except DomainError as exc:
        _record([_Attempt(change, _ms_since(started), error=exc.message)], user=user)
        raise
    _record([_Attempt(change, _ms_since(started))], user=user)
    return result


def _io(change: _Change, client: RouterClient | None) -> Any:
    if change.io is None:
        return None
    try:
        with _session(change.router, client) as session:
            return change.io(session)
    except DomainError as exc:
        logger.warning("Router %s: %s failed: %s", change.router.name, change.operation, exc.message)
        raise


def _record(attempts: list[_Attempt], *, user) -> None:
    """Each attempt's service state, audit row and event, all in ONE transaction.

    Bulk runs record a chunk of services at a time: one commit instead of one per service, and the
    chunk's events reach the subscribers together after it (``erp.events`` dispatches per transaction).
    """
    if not attempts:
        return
    now = timezone.now()
    user = user if getattr(user, "is_authenticated", False) else None
    updates: dict[tuple[str, ...], list[Service]] = {}
    emitted: list[tuple[str, Service]] = []
    with transaction.atomic():
        for attempt in attempts:
            service = attempt.change.service
            if attempt.saved is None:  # done() runs once, even if the chunk is recorded again one by one
                if attempt.error:
                    attempt.saved = _Saved(("last_error",))
                    if service is not None:
                        service.last_error = attempt.error
                elif attempt.change.done is not None:
                    attempt.saved = attempt.change.done()
                else:
                    attempt.saved = _Saved(())
            if service is None or not attempt.saved.fields:
                continue
            service.updated_at = now
            updates.setdefault((*attempt.saved.fields, "updated_at"), []).append(service)
            if attempt.saved.event:
                emitted.append((attempt.saved.event, service))
        for fields, rows in updates.items():
            _save_fields(rows, fields)
        RouterOperation.objects.bulk_create(
            RouterOperation(
                router=attempt.change.router,
                service=attempt.change.service,
                operation=attempt.change.operation,
                params=attempt.change.params,
                success=not attempt.error,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                user=user,
            )
            for attempt in attempts
        )
        for event, service in emitted:
            events.emit(event, _event_data(service))


def _save_fields(rows: list[Service], fields: tuple[str, ...]) -> None:
    """Save ``fields`` of ``rows``: one prepared UPDATE run for every row, in order.

    A chunk's services differ in IP and MAC, so the ORM would compile one UPDATE per service (or
    bulk_update() a CASE per row and field), which costs more than running it. Values still go through
    each field's get_db_prep_save(); rows are updated in run order, so an IP handed from one service to
    another within the chunk never collides with the unique (router, ip) constraint.
    """
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    columns = [Service._meta.get_field(name) for name in fields]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - identifiers from model metadata only
        quote(Service._meta.db_table),
        ", ".join(f"{quote(column.column)} = %s" for column in columns),
        quote(Service._meta.pk.column),
    )
    params = [
        [column.get_db_prep_save(getattr(row, column.attname), connection) for column in columns] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _event_data(service: Service) -> dict[str, Any]:
    return {
        "service_id": service.pk,
        "customer": service.customer.code,
        "router": service.router.name if service.router_id else "",
        "ip_address": service.ip_address or "",
        "mac_address": service.mac_address,
        "status": service.status,
    }
