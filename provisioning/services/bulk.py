"""Bulk runs: many services per router over one connection, recorded a chunk at a time."""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _

from erp.exceptions import DomainError
from provisioning.errors import AddressInUseError
from provisioning.models import RouterOperation, Service
from provisioning.routeros import RouterAuthError, RouterUnreachableError
from provisioning.services.addresses import _AddressBook
from provisioning.services.cached_router import CachedRouter, _Step
from provisioning.services.connections import open_client
from provisioning.services.mutations import _prepare_deprovision, _prepare_provision, _prepare_state
from provisioning.services.recording import _Attempt, _Change, _io, _ms_since, _record
from provisioning.services.results import Outcome

logger = logging.getLogger(__name__)

Op = RouterOperation.Operation
Status = Service.Status

BULK_CHUNK = 100  # services whose router I/O runs before their outcomes are recorded in one transaction

BULK_ACTIONS: dict[str, Callable[..., _Change]] = {
    "suspend": lambda service, **_: _prepare_state(
        service, target=Status.SUSPENDIDO, operation=Op.SUSPEND, event="servicio_suspendido"
    ),
    "activate": lambda service, **_: _prepare_state(
        service, target=Status.ACTIVO, operation=Op.ACTIVATE, event="servicio_activado"
    ),
    "deprovision": lambda service, **_: _prepare_deprovision(service),
}


def run_bulk(services: Iterable[Service], action: str, *, user=None, chunk_size: int = BULK_CHUNK) -> list[Outcome]:
    """Suspend / activate / deprovision many services, one connection per router, one outcome per service."""
    prepare = BULK_ACTIONS[action]
    return _run_grouped([(service, {}) for service in services], prepare, user=user, chunk_size=chunk_size)


def provision_services(
    items: Iterable[tuple[Service, str, str]], *, user=None, chunk_size: int = BULK_CHUNK
) -> list[Outcome]:
    """Provision ``(service, ip, mac)`` items reusing one connection per router.

    Same result per service as ``provision_service`` (audit row, state, event, ``last_error`` on failure);
    the outcomes of up to ``chunk_size`` services are recorded in one transaction after their router I/O.
    """
    work = [(service, {"ip": ip, "mac": mac}) for service, ip, mac in items]
    return _run_grouped(work, _prepare_provision, user=user, chunk_size=chunk_size)


def _run_grouped(
    items: list[tuple[Service, dict]], prepare: Callable[..., _Change], *, user, chunk_size: int
) -> list[Outcome]:
    # Customer, plan and router of every service in three queries (none if the caller used select_related).
    prefetch_related_objects([service for service, _kwargs in items], "customer", "plan", "router")
    outcomes: dict[int, Outcome] = {}
    by_router: dict[int | None, list[tuple[Service, dict]]] = {}
    for service, kwargs in items:
        by_router.setdefault(service.router_id, []).append((service, kwargs))
    for router_id, group in by_router.items():
        client = CachedRouter(open_client(group[0][0].router)) if router_id is not None else None
        fatal: str | None = None
        try:
            for start in range(0, len(group), max(chunk_size, 1)):
                chunk = group[start : start + max(chunk_size, 1)]
                fatal = _run_chunk(chunk, prepare, client, outcomes, fatal=fatal, user=user)
        finally:
            if client is not None:
                client.close()
    return [outcomes[service.pk] for service, _kwargs in items]


@dataclass
class _Pending:
    """A bulk service whose change is planned: its writes wait to be sent with the other services' ones."""

    change: _Change
    steps: list[_Step]
    started: float
    new_claim: bool = False
    error: str = ""


def _run_chunk(
    chunk: list[tuple[Service, dict]],
    prepare: Callable[..., _Change],
    client: CachedRouter | None,
    outcomes: dict[int, Outcome],
    *,
    fatal: str | None,
    user,
) -> str | None:
    """Plan every service of the chunk on the cached router, send their writes, record them in one transaction.

    No transaction is open while the router is talked to. Returns the error that makes the rest of the
    router's services pointless to try (unreachable, refused login), if one happened.
    """
    addresses = _AddressBook(chunk[0][0].router_id, (kwargs["ip"] for _s, kwargs in chunk if "ip" in kwargs))
    pending: list[_Pending] = []
    attempts: list[_Attempt] = []

    def send() -> str | None:
        lost = _send_steps(client, pending)
        for item in pending:
            service = item.change.service
            attempts.append(_Attempt(item.change, _ms_since(item.started), error=item.error))
            outcomes[service.pk] = Outcome(service, not item.error, item.error or item.change.message)
            if item.change.claims_ip:
                if item.error:
                    if item.new_claim:
                        addresses.drop(service, item.change.claims_ip)
                else:
                    addresses.settle(service, item.change.claims_ip)
        pending.clear()
        return lost

    try:
        for service, kwargs in chunk:
            if fatal is not None:
                # The router refused us or vanished: trying each remaining service would cost a timeout each.
                outcomes[service.pk] = Outcome(service, False, _("No se intentó: %(error)s") % {"error": fatal})
                continue
            try:
                try:
                    change = prepare(service, addresses=addresses, **kwargs)
                except AddressInUseError:
                    if not pending:
                        raise
                    fatal = send()  # a pending change may be moving that IP away: finish those, ask again
                    if fatal is not None:
                        outcomes[service.pk] = Outcome(service, False, _("No se intentó: %(error)s") % {"error": fatal})
                        continue
                    change = prepare(service, addresses=addresses, **kwargs)
            except DomainError as exc:  # invalid input or state: nothing was tried, as in the single path
                outcomes[service.pk] = Outcome(service, False, exc.message)
                continue
            started = time.monotonic()
            client.restart_deadline()
            try:
                _io(change, client)  # reads come from the cache (read once); writes are collected as steps
            except DomainError as exc:
                client.take_steps()  # nothing of a half-planned change is sent
                if isinstance(exc, RouterUnreachableError | RouterAuthError):
                    fatal = exc.message
                    for item in pending:  # planned but nothing sent: not tried, as the rest
                        outcomes[item.change.service.pk] = Outcome(
                            item.change.service, False, _("No se intentó: %(error)s") % {"error": fatal}
                        )
                    pending.clear()
                elif pending:
                    fatal = send()  # the others' planned writes match the cache: send them before dropping it
                client.forget_all()  # it holds this change's half-planned view
                attempts.append(_Attempt(change, _ms_since(started), error=exc.message))
                outcomes[service.pk] = Outcome(service, False, exc.message)
                continue
            new_claim = addresses.claim(service, change.claims_ip) if change.claims_ip else False
            pending.append(_Pending(change, client.take_steps(), started, new_claim))
        if pending:
            fatal = send() or fatal
    finally:
        # Also when something unexpected escapes: the services already settled get their audit rows.
        _record(attempts, user=user)
    return fatal


def _send_steps(client: CachedRouter, pending: list[_Pending]) -> str | None:
    """Step n of every pending service in one round trip, for n = 0, 1, ...: a service's own steps stay in order.

    A refused step fails its service (its later steps are not sent) and drops the cache, whose optimistic
    view is then wrong. A lost connection fails every service with steps left; its message is returned.
    """
    round_ = 0
    while batch := [item for item in pending if not item.error and round_ < len(item.steps)]:
        steps = [item.steps[round_] for item in batch]
        client.restart_deadline()
        try:
            results = client.pipeline([(step.menu, step.verb, step.values) for step in steps])
        except DomainError as exc:
            for item in batch:
                item.error = exc.message
            client.forget_all()
            logger.warning("Router %s: bulk run failed: %s", batch[0].change.router.name, exc.message)
            return exc.message if isinstance(exc, RouterUnreachableError | RouterAuthError) else None
        for item, step, result in zip(batch, steps, results, strict=True):
            if isinstance(result, DomainError):
                item.error = result.message
                client.forget_all()
                logger.warning(
                    "Router %s: %s failed: %s", item.change.router.name, item.change.operation, result.message
                )
            elif step.on_id is not None and result:
                step.on_id(result)
        round_ += 1
    return None
