"""Provisioning use cases: router queries, and every change on a router with its audit row and event.

Each mutation validates first, does its router I/O outside any transaction (one connection, or the
caller's in bulk runs), then records the outcome, the RouterOperation audit row and the event in one
short transaction. Mutations converge: they read the router's state and change only what differs, so a
re-run after a half-failure (connection dropped between the lease and the queue) finishes the job.
Bulk runs do the same per chunk of services: router I/O for the chunk (writes pipelined), then every
outcome, audit row and event of the chunk in one transaction.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from erp import events
from erp.exceptions import DomainError
from provisioning.errors import (
    AddressInUseError,
    FeatureDisabledError,
    InvalidInputError,
    QueueNotFoundError,
    RouterDisabledError,
    ServiceStateError,
)
from provisioning.models import Plan, Router, RouterOperation, Service, normalize_mac
from provisioning.routeros import (
    DhcpLease,
    PppSecret,
    RouterAuthError,
    RouterClient,
    RouterConfig,
    RouterUnreachableError,
    SimpleQueue,
    SystemResource,
)
from provisioning.routeros.client import LEASES, QUEUES
from provisioning.routeros.types import format_uptime, same_rate

logger = logging.getLogger(__name__)

Op = RouterOperation.Operation
Status = Service.Status


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionResult:
    success: bool
    message: str
    ip: str
    mac: str
    queue_name: str
    max_limit: str


@dataclass(frozen=True)
class MutationResult:
    success: bool
    message: str
    service_id: int | None = None
    status: str = ""
    queue_name: str = ""
    max_limit: str = ""


@dataclass(frozen=True)
class Outcome:
    """One object's result in a bulk run (admin actions report these one by one)."""

    service: Service
    success: bool
    message: str


# --------------------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------------------


def router_config(router: Router) -> RouterConfig:
    """The client's plain config for a router row (the password is decrypted here and nowhere else)."""
    return RouterConfig(
        host=router.host,
        port=router.port,
        username=router.username,
        password=router.password or "",
        timeout_s=router.timeout_s,
        use_ssl=router.use_ssl,
        tls_mode=router.tls_mode,
        ca_certificate=router.ca_certificate,
        tls_fingerprint=router.tls_fingerprint,
        encoding=router.encoding,
        name=router.name,
    )


def open_client(router: Router) -> RouterClient:
    """An unconnected client for bulk runs: use it as a context manager and pass it as ``client=``."""
    return RouterClient(router_config(router))


@contextmanager
def _session(router: Router, client: RouterClient | None) -> Iterator[RouterClient]:
    if client is not None:
        yield client  # a bulk run's shared connection: its owner closes it
        return
    with open_client(router) as own:
        yield own


# --------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------


def list_leases(router: Router, *, mac: str | None = None, ip: str | None = None) -> list[DhcpLease]:
    """Every DHCP lease of the router, optionally only those with this MAC and/or IP."""
    mac = _valid_mac(mac) if mac else None
    ip = _valid_ip(ip) if ip else None
    with _session(router, None) as client:
        return client.leases(mac=mac, address=ip)


def find_lease_by_mac(router: Router, mac: str) -> DhcpLease | None:
    found = list_leases(router, mac=mac)
    return found[0] if found else None


def find_lease_by_ip(router: Router, ip: str) -> DhcpLease | None:
    found = list_leases(router, ip=ip)
    return found[0] if found else None


def list_queues(router: Router, *, name: str | None = None) -> list[SimpleQueue]:
    with _session(router, None) as client:
        return client.queues(name=name)


def find_queue(router: Router, name: str) -> SimpleQueue | None:
    found = list_queues(router, name=name)
    return found[0] if found else None


def get_service_queue(service: Service) -> SimpleQueue | None:
    """The Simple Queue named after the service on its router (None if absent)."""
    router = _service_router(service)
    return find_queue(router, router.queue_name(service.pk))


def get_resources(router: Router) -> SystemResource:
    """CPU, memory, uptime, version, board and identity: also the admin's "Probar conexión"."""
    with _session(router, None) as client:
        return client.resources()


def list_ppp_secrets(router: Router) -> list[PppSecret]:
    with _session(router, None) as client:
        return client.ppp_secrets()


def validate_pppoe(router: Router, username: str) -> dict[str, Any]:
    """Is this PPPoE user connected? ``uptime`` comes back as ``2d 3h 14m``; ``identity`` is the router's."""
    with _session(router, None) as client:
        sessions = client.ppp_active(name=username)
        identity = client.identity()
    session = sessions[0] if sessions else None
    return {
        "active": session is not None,
        "username": username,
        "current_address": session.address if session else None,
        "uptime": format_uptime(session.uptime) if session else None,
        "caller_id": session.caller_id if session else None,
        "identity": identity,
    }


def get_config_status(router: Router) -> dict[str, Any]:
    """The router's settings (never its password) and whether it answers right now."""
    status: dict[str, Any] = {
        "router_id": router.pk,
        "name": router.name,
        "enabled": router.enabled,
        "host": router.host,
        "port": router.port,
        "username": router.username,
        "password_set": bool(router.password),
        "use_ssl": router.use_ssl,
        "tls_mode": router.tls_mode,
        "timeout_s": router.timeout_s,
        "dhcp_enabled": router.dhcp_enabled,
        "dhcp_server": router.dhcp_server,
        "queue_enabled": router.queue_enabled,
        "queue_name_prefix": router.queue_name_prefix,
        "suspend_action": router.suspend_action,
        "suspend_limit": router.suspend_limit,
        "activate_action": router.activate_action,
        "reachable": False,
        "identity": "",
        "error": "",
    }
    try:
        with _session(router, None) as client:
            status["identity"] = client.identity()
        status["reachable"] = True
    except DomainError as exc:
        status["error"] = exc.message
    return status


# --------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------


def bind_ip(
    router: Router, *, ip: str, mac: str, service: Service | None = None, user=None, client: RouterClient | None = None
) -> MutationResult:
    """Static lease MAC → IP on the router's DHCP server: make a dynamic one static, fix or create the static one."""
    ip, mac = _valid_ip(ip), _valid_mac(mac)
    _require_enabled(router)
    if not router.dhcp_enabled:
        raise FeatureDisabledError(_("El amarre DHCP está deshabilitado en este router."))
    if service is None:
        service = Service.objects.filter(router=router, mac_address=mac).exclude(status=Status.DADO_DE_BAJA).first()
    comment = _lease_comment(service)
    params = {"ip_address": ip, "mac_address": mac, "dhcp_server": router.dhcp_server}
    io = lambda c: _converge_lease(c, router, ip=ip, mac=mac, comment=comment)  # noqa: E731
    _mutate(_Change(router, Op.BIND_IP, service, params, io), user=user, client=client)
    return MutationResult(True, _("IP %(ip)s amarrada a %(mac)s.") % {"ip": ip, "mac": mac})


def create_queue(service: Service, *, user=None, client: RouterClient | None = None) -> MutationResult:
    """The service's Simple Queue: ``<prefix><id>``, target ``<ip>/32``, ``{up}M/{down}M`` from its plan."""
    router, plan = _service_router(service), _service_plan(service)
    _require_enabled(router)
    if not router.queue_enabled:
        raise FeatureDisabledError(_("Las Simple Queues están deshabilitadas en este router."))
    if not service.ip_address:
        raise ServiceStateError(_("El servicio no tiene IP: aprovisiónelo primero."))
    status = service.status if service.status == Status.SUSPENDIDO else Status.ACTIVO
    spec = _queue_spec(service, router, plan, status=status, ip=service.ip_address)
    io = lambda c: _converge_queue(c, spec)  # noqa: E731
    _mutate(_Change(router, Op.CREATE_QUEUE, service, spec.params(), io), user=user, client=client)
    return MutationResult(
        True, _("Cola %(name)s lista.") % {"name": spec.name}, service.pk, service.status, spec.name, spec.max_limit
    )


def provision_service(
    service: Service, *, ip: str, mac: str, user=None, client: RouterClient | None = None
) -> ProvisionResult:
    """Bind IP to MAC, create the queue, mark the service active. Idempotent; a re-run after a failure converges.

    On failure the service keeps its previous status (never becomes active) and records ``last_error``.
    """
    change = _prepare_provision(service, ip=ip, mac=mac)
    _mutate(change, user=user, client=client)
    router, spec = change.router, change.spec
    return ProvisionResult(
        success=True,
        message=change.message,
        ip=change.params["ip_address"],
        mac=change.params["mac_address"],
        queue_name=spec.name if router.queue_enabled else "",
        max_limit=spec.max_limit if router.queue_enabled else "",
    )


def _prepare_provision(service: Service, *, ip: str, mac: str, addresses: _AddressBook | None = None) -> _Change:
    ip, mac = _valid_ip(ip), _valid_mac(mac)
    router, plan = _service_router(service), _service_plan(service)
    _require_enabled(router)
    _require_address_free(service, router, ip, addresses)
    spec = _queue_spec(service, router, plan, status=Status.ACTIVO, ip=ip)
    previous_mac = service.mac_address if service.mac_address != mac else ""
    comment = _lease_comment(service)

    def io(c: RouterClient) -> None:
        if router.dhcp_enabled:
            if previous_mac:  # the customer's device changed: release the old binding
                _remove_static_lease(c, router, previous_mac)
            _converge_lease(c, router, ip=ip, mac=mac, comment=comment)
        if router.queue_enabled:
            _converge_queue(c, spec)

    def done() -> _Saved:
        was_active = service.status == Status.ACTIVO
        service.ip_address, service.mac_address, service.status = ip, mac, Status.ACTIVO
        service.provisioned_at = timezone.now()
        service.last_error = ""
        fields = ("ip_address", "mac_address", "status", "provisioned_at", "last_error")
        return _Saved(fields, None if was_active else "servicio_aprovisionado")

    return _Change(
        router, Op.PROVISION, service, {"ip_address": ip, "mac_address": mac, **spec.params()}, io, done,
        message=_("Servicio %(id)s aprovisionado.") % {"id": service.pk}, spec=spec, claims_ip=ip,
    )  # fmt: skip


def suspend_service(service: Service, *, user=None, client: RouterClient | None = None) -> MutationResult:
    """Apply the router's ``suspend_action`` (disable the queue, or limit it to ``suspend_limit``)."""
    return _change_state(service, Status.SUSPENDIDO, Op.SUSPEND, "servicio_suspendido", user=user, client=client)


def activate_service(service: Service, *, user=None, client: RouterClient | None = None) -> MutationResult:
    """Undo a suspension (``activate_action``: enable the queue at the plan's speed)."""
    return _change_state(service, Status.ACTIVO, Op.ACTIVATE, "servicio_activado", user=user, client=client)


def update_speed(
    service: Service, *, plan: Plan | None = None, user=None, client: RouterClient | None = None
) -> MutationResult:
    """Set the queue's max-limit from ``plan`` (the new plan, stored on success) or the current one."""
    router = _service_router(service)
    plan = plan or _service_plan(service)
    _require_enabled(router)
    if service.status not in (Status.ACTIVO, Status.SUSPENDIDO) or not service.ip_address:
        raise ServiceStateError(_("Solo se cambia la velocidad de servicios activos o suspendidos."))
    spec = _queue_spec(service, router, plan, status=service.status, ip=service.ip_address)

    def done() -> _Saved:
        service.plan = plan
        service.last_error = ""
        return _Saved(("plan", "last_error"))

    io = (lambda c: _converge_queue(c, spec)) if router.queue_enabled else None
    params = {"plan": plan.code, **spec.params()}
    _mutate(_Change(router, Op.UPDATE_SPEED, service, params, io, done), user=user, client=client)
    return MutationResult(
        True,
        _("Velocidad actualizada a %(limit)s.") % {"limit": spec.plan_limit},
        service.pk,
        service.status,
        spec.name,
        spec.max_limit,
    )


def deprovision_service(service: Service, *, user=None, client: RouterClient | None = None) -> MutationResult:
    """Remove the service's queue and static lease from the router and mark it dado_de_baja (idempotent)."""
    change = _prepare_deprovision(service)
    _mutate(change, user=user, client=client)
    return MutationResult(True, change.message, service.pk, service.status)


def _prepare_deprovision(service: Service) -> _Change:
    router = _service_router(service)
    _require_enabled(router)
    name = router.queue_name(service.pk)
    mac = service.mac_address

    def io(c: RouterClient) -> None:
        if router.queue_enabled:
            queue = c.find_queue(name)
            if queue is not None:
                c.remove_queue(queue.id)
        if router.dhcp_enabled and mac:
            _remove_static_lease(c, router, mac)

    def done() -> _Saved:
        was_removed = service.status == Status.DADO_DE_BAJA
        service.status, service.last_error = Status.DADO_DE_BAJA, ""
        return _Saved(("status", "last_error"), None if was_removed else "servicio_dado_de_baja")

    params = {"queue_name": name, "mac_address": mac, "ip_address": service.ip_address or ""}
    message = _("Servicio %(id)s dado de baja.") % {"id": service.pk}
    return _Change(router, Op.DEPROVISION, service, params, io, done, message=message)


def enable_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.ENABLE_QUEUE, user=user, client=client)


def disable_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.DISABLE_QUEUE, user=user, client=client)


def delete_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.DELETE_QUEUE, user=user, client=client)


# --------------------------------------------------------------------------------------
# Bulk: one connection per router
# --------------------------------------------------------------------------------------

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


@dataclass
class _Step:
    """One write a bulk run sends for a service; ``on_id`` learns the ``.id`` an ``add`` got."""

    menu: tuple[str, ...]
    verb: str
    values: dict[str, Any]
    on_id: Callable[[str], None] | None = None


class CachedRouter:
    """A bulk run's view of one router: leases and queues read once, then kept in step with its own writes.

    Converging a service needs lookups (lease by MAC and IP, queue by name); in a bulk run those would be
    most of the round trips. Writes are not sent at once: they are collected as steps (``take_steps``)
    and the cache is updated as if they succeeded, so the bulk runner can send the same step of many
    services in one round trip; when a step fails, the runner calls ``forget_all`` and the next
    service reads the router again. A concurrent change by someone else makes a write fail (reported
    for that service) or leaves a difference that the next run converges.
    """

    def __init__(self, client: RouterClient) -> None:
        self.client = client
        self._leases: dict[str, DhcpLease] | None = None
        self._by_mac: dict[str, set[str]] = {}
        self._by_address: dict[str, set[str]] = {}
        self._queues: dict[str, SimpleQueue] | None = None
        self._steps: list[_Step] = []
        self._placeholders = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)  # restart_deadline, close, pipeline...

    def take_steps(self) -> list[_Step]:
        steps, self._steps = self._steps, []
        return steps

    def forget_all(self) -> None:
        self._leases, self._queues = None, None
        self._by_mac, self._by_address = {}, {}

    def leases(self, *, mac: str | None = None, address: str | None = None) -> list[DhcpLease]:
        cache = self._lease_cache()
        if mac is None and address is None:
            return list(cache.values())
        ids = self._by_mac.get(mac, set()) if mac is not None else self._by_address.get(address, set())
        return [
            cache[lease_id]
            for lease_id in sorted(ids, key=_id_order)
            if (mac is None or cache[lease_id].mac_address == mac)
            and (address is None or cache[lease_id].address == address)
        ]

    def find_queue(self, name: str) -> SimpleQueue | None:
        return self._queue_cache().get(name)

    def add_lease(self, *, address: str, mac: str, server: str, comment: str) -> str:
        lease = DhcpLease(self._placeholder(), address, mac, "", "waiting", False, False, server, comment)
        self._lease_cache()
        self._store(lease)

        def learn(lease_id: str) -> None:
            if self._leases is not None and lease.id in self._leases:
                self._store(replace(self._leases.pop(lease.id), id=lease_id))

        values = {"address": address, "mac-address": mac, "server": server, "comment": comment}
        self._steps.append(_Step(LEASES, "add", values, learn))
        return lease.id

    def make_lease_static(self, lease_id: str) -> None:
        self._steps.append(_Step(LEASES, "make-static", {".id": lease_id}))
        self._patch_lease(lease_id, dynamic=False)

    def update_lease(self, lease_id: str, **values: Any) -> None:
        self._steps.append(_Step(LEASES, "set", {".id": lease_id, **values}))
        self._patch_lease(lease_id, **values)

    def remove_lease(self, lease_id: str) -> None:
        self._steps.append(_Step(LEASES, "remove", {".id": lease_id}))
        self._forget(lease_id)

    def add_queue(self, *, name: str, target: str, max_limit: str, comment: str, disabled: bool = False) -> str:
        queue = SimpleQueue(self._placeholder(), name, target, max_limit, disabled, comment, "0/0", "0/0")
        self._queue_cache()[name] = queue

        def learn(queue_id: str) -> None:
            if self._queues is not None and name in self._queues:
                self._queues[name] = replace(self._queues[name], id=queue_id)

        values = {"name": name, "target": target, "max-limit": max_limit, "comment": comment, "disabled": disabled}
        self._steps.append(_Step(QUEUES, "add", values, learn))
        return queue.id

    def update_queue(self, queue_id: str, **values: Any) -> None:
        self._steps.append(_Step(QUEUES, "set", {".id": queue_id, **values}))
        queues = self._queue_cache()
        for name, queue in queues.items():
            if queue.id == queue_id:
                fields = {key.replace("-", "_"): value for key, value in values.items()}
                queues[name] = replace(queue, **fields)

    def remove_queue(self, queue_id: str) -> None:
        self._steps.append(_Step(QUEUES, "remove", {".id": queue_id}))
        self._queues = {name: queue for name, queue in self._queue_cache().items() if queue.id != queue_id}

    def _placeholder(self) -> str:
        self._placeholders += 1
        return f"+{self._placeholders}"  # until the add's reply tells the real ``*HEX`` id

    def _queue_cache(self) -> dict[str, SimpleQueue]:
        if self._queues is None:
            self._queues = {queue.name: queue for queue in self.client.queues()}
        return self._queues

    def _lease_cache(self) -> dict[str, DhcpLease]:
        if self._leases is None:
            self._leases = {}
            for lease in self.client.leases():
                self._store(lease)
        return self._leases

    def _store(self, lease: DhcpLease) -> None:
        # Indexed by MAC and address: a run over thousands of leases must not scan them all per service.
        self._forget(lease.id)
        self._leases[lease.id] = lease
        self._by_mac.setdefault(lease.mac_address, set()).add(lease.id)
        self._by_address.setdefault(lease.address, set()).add(lease.id)

    def _forget(self, lease_id: str) -> None:
        lease = self._lease_cache().pop(lease_id, None)
        if lease is not None:
            self._by_mac.get(lease.mac_address, set()).discard(lease_id)
            self._by_address.get(lease.address, set()).discard(lease_id)

    def _patch_lease(self, lease_id: str, **values: Any) -> None:
        cache = self._lease_cache()
        if lease_id in cache:
            fields = {key.replace("-", "_"): value for key, value in values.items()}
            self._store(replace(cache[lease_id], **fields))


def _id_order(row_id: str) -> tuple[int, str]:
    """RouterOS ``*1A`` ids in the router's order (the order a print returns them)."""
    try:
        return (int(row_id.lstrip("*"), 16), row_id)
    except ValueError:
        return (0, row_id)


class _AddressBook:
    """Which live services hold the IPs a bulk chunk asks for: one query per chunk instead of one per service.

    A service claims its new IP when its change is planned and lets go of its old one only once the
    change succeeded, so two items of one run never end up with one IP (the runner sends the pending
    writes and asks again before refusing an IP that a pending change is moving away from).
    """

    def __init__(self, router_id: int | None, ips: Iterable[str]) -> None:
        self.router_id = router_id
        self._ips = {ip for ip in (_valid_ip_or_none(value) for value in ips) if ip}
        self._holders: dict[str, set[int]] | None = None
        self._held_by: dict[int, set[str]] = {}  # the same, by service

    def holder(self, service: Service, ip: str) -> int | None:
        others = self._load().get(ip, set()) - {service.pk}
        return min(others) if others else None

    def claim(self, service: Service, ip: str) -> bool:
        """Hold ``ip`` for ``service`` while its change runs; True if it did not hold it already."""
        holders = self._load().setdefault(ip, set())
        new = service.pk not in holders
        holders.add(service.pk)
        self._held_by.setdefault(service.pk, set()).add(ip)
        return new

    def settle(self, service: Service, ip: str) -> None:
        """The change succeeded: ``service`` holds ``ip`` and nothing else."""
        holders = self._load()
        for held in self._held_by.get(service.pk, set()) - {ip}:
            holders[held].discard(service.pk)
        self._held_by[service.pk] = {ip}

    def drop(self, service: Service, ip: str) -> None:
        self._load().get(ip, set()).discard(service.pk)
        self._held_by.get(service.pk, set()).discard(ip)

    def _load(self) -> dict[str, set[int]]:
        if self._holders is None:
            self._holders = {}
            rows = (
                Service.objects.filter(router_id=self.router_id, ip_address__in=self._ips)
                .exclude(status=Status.DADO_DE_BAJA)
                .values_list("ip_address", "pk")
            )
            for ip, pk in rows:
                self._holders.setdefault(ip, set()).add(pk)
                self._held_by.setdefault(pk, set()).add(ip)
        return self._holders


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


# --------------------------------------------------------------------------------------
# Internals: validation
# --------------------------------------------------------------------------------------


def _valid_ip(value: Any) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value).strip()))
    except ValueError:
        raise InvalidInputError(
            _("IP inválida: %(value)s.") % {"value": value}, details={"ip_address": [_("Debe ser una IPv4.")]}
        ) from None


def _valid_mac(value: Any) -> str:
    try:
        return normalize_mac(str(value))
    except ValueError:
        raise InvalidInputError(
            _("MAC inválida: %(value)s.") % {"value": value},
            details={"mac_address": [_("Use el formato AA:BB:CC:DD:EE:FF.")]},
        ) from None


def _service_router(service: Service) -> Router:
    if service.router_id is None:
        raise ServiceStateError(_("El servicio no tiene router asignado."))
    return service.router


def _service_plan(service: Service) -> Plan:
    if service.plan_id is None:
        raise ServiceStateError(_("El servicio no tiene plan asignado."))
    return service.plan


def _require_enabled(router: Router) -> None:
    if not router.enabled:
        raise RouterDisabledError(_("El router %(name)s está deshabilitado: no se aplican cambios.") % {"name": router})


def _require_address_free(service: Service, router: Router, ip: str, addresses: _AddressBook | None = None) -> None:
    if addresses is not None:
        other = addresses.holder(service, ip)
    else:
        other = (
            Service.objects.filter(router=router, ip_address=ip)
            .exclude(pk=service.pk)
            .exclude(status=Status.DADO_DE_BAJA)
            .values_list("pk", flat=True)
            .first()
        )
    if other is not None:
        raise AddressInUseError(_("La IP %(ip)s ya es del servicio %(id)s.") % {"ip": ip, "id": other})


def _valid_ip_or_none(value: Any) -> str | None:
    try:
        return _valid_ip(value)
    except InvalidInputError:
        return None


# --------------------------------------------------------------------------------------
# Internals: converging the router
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _QueueSpec:
    name: str
    target: str
    max_limit: str  # what the queue should carry now (plan speed, or the suspension limit)
    plan_limit: str
    disabled: bool
    comment: str

    def params(self) -> dict[str, Any]:
        return {"queue_name": self.name, "target": self.target, "max_limit": self.max_limit, "disabled": self.disabled}


def _queue_spec(service: Service, router: Router, plan: Plan, *, status: str, ip: str) -> _QueueSpec:
    # max-limit is upload/download from the target's (the customer's) side.
    plan_limit = f"{plan.upload_mbps}M/{plan.download_mbps}M"
    max_limit, disabled = plan_limit, False
    if status == Status.SUSPENDIDO:
        if router.suspend_action == Router.SuspendAction.LIMIT_QUEUE:
            max_limit = router.suspend_limit
        else:
            disabled = True
    return _QueueSpec(
        name=router.queue_name(service.pk),
        target=f"{ip}/32",
        max_limit=max_limit,
        plan_limit=plan_limit,
        disabled=disabled,
        comment=f"{service.customer.name} - {plan.name}",
    )


def _converge_queue(client: RouterClient, spec: _QueueSpec) -> None:
    queue = client.find_queue(spec.name)
    if queue is None:
        client.add_queue(
            name=spec.name, target=spec.target, max_limit=spec.max_limit, comment=spec.comment, disabled=spec.disabled
        )
        return
    changes: dict[str, Any] = {}
    if queue.target != spec.target:
        changes["target"] = spec.target
    # The router prints 10M/50M back as 10000000/50000000: compare normalised, or every run rewrites.
    if not same_rate(queue.max_limit, spec.max_limit):
        changes["max-limit"] = spec.max_limit
    if queue.comment != spec.comment:
        changes["comment"] = spec.comment
    if queue.disabled != spec.disabled:
        changes["disabled"] = spec.disabled
    if changes:
        client.update_queue(queue.id, **changes)


def _on_server(lease: DhcpLease, server: str) -> bool:
    return not server or server == "all" or lease.server in (server, "all")


def _converge_lease(client: RouterClient, router: Router, *, ip: str, mac: str, comment: str) -> None:
    server = router.dhcp_server or "all"
    holders = [
        lease
        for lease in client.leases(address=ip)
        if not lease.dynamic and lease.mac_address != mac and _on_server(lease, server)
    ]
    if holders:
        # A static lease for another device owns this IP: that is another customer; never steal it.
        raise AddressInUseError(
            _("En el router, la IP %(ip)s ya está amarrada a %(mac)s.") % {"ip": ip, "mac": holders[0].mac_address}
        )
    own = [lease for lease in client.leases(mac=mac) if _on_server(lease, server)]
    static = next((lease for lease in own if not lease.dynamic), None)
    if static is None:
        dynamic = next((lease for lease in own if lease.dynamic), None)
        if dynamic is None:
            client.add_lease(address=ip, mac=mac, server=server, comment=comment)
            return
        client.make_lease_static(dynamic.id)  # keeps the .id; the lease is now ours to edit
        static = dynamic
    changes: dict[str, Any] = {}
    if static.address != ip:
        changes["address"] = ip
    if static.comment != comment:
        changes["comment"] = comment
    if static.disabled:
        changes["disabled"] = False
    if changes:
        client.update_lease(static.id, **changes)


def _remove_static_lease(client: RouterClient, router: Router, mac: str) -> None:
    server = router.dhcp_server or "all"
    for lease in client.leases(mac=mac):
        if not lease.dynamic and _on_server(lease, server):
            client.remove_lease(lease.id)


def _lease_comment(service: Service | None) -> str:
    if service is None:
        return "Emerald"
    return f"Servicio {service.pk} - {service.customer.name}"


# --------------------------------------------------------------------------------------
# Internals: state changes, queue commands, recording
# --------------------------------------------------------------------------------------


_ALLOWED_FROM = {
    Status.SUSPENDIDO: (Status.ACTIVO, Status.SUSPENDIDO),
    Status.ACTIVO: (Status.SUSPENDIDO, Status.ACTIVO),
}


def _change_state(service: Service, target: str, operation: str, event: str, *, user, client) -> MutationResult:
    change = _prepare_state(service, target=target, operation=operation, event=event)
    _mutate(change, user=user, client=client)
    return MutationResult(True, change.message, service.pk, target, change.spec.name, change.spec.max_limit)


def _prepare_state(service: Service, *, target: str, operation: str, event: str) -> _Change:
    router, plan = _service_router(service), _service_plan(service)
    _require_enabled(router)
    if service.status not in _ALLOWED_FROM[target] or not service.ip_address:
        raise ServiceStateError(
            _("No se puede pasar de «%(from)s» a «%(to)s».")
            % {"from": service.get_status_display(), "to": Status(target).label}
        )
    spec = _queue_spec(service, router, plan, status=target, ip=service.ip_address)

    def done() -> _Saved:
        changed = service.status != target
        service.status, service.last_error = target, ""
        return _Saved(("status", "last_error"), event if changed else None)

    action = router.suspend_action if target == Status.SUSPENDIDO else router.activate_action
    label = _("suspendido") if target == Status.SUSPENDIDO else _("activado")
    return _Change(
        router, operation, service, {"action": action, **spec.params()},
        (lambda c: _converge_queue(c, spec)) if router.queue_enabled else None, done,
        message=_("Servicio %(id)s %(label)s.") % {"id": service.pk, "label": label}, spec=spec,
    )  # fmt: skip


def _queue_command(router: Router, name: str, operation: str, *, user, client) -> MutationResult:
    _require_enabled(router)
    service = _service_for_queue(router, name)

    def io(c: RouterClient) -> SimpleQueue:
        queue = c.find_queue(name)
        if queue is None:
            raise QueueNotFoundError(_("El router no tiene la cola %(name)s.") % {"name": name})
        if operation == Op.DELETE_QUEUE:
            c.remove_queue(queue.id)
        elif queue.disabled != (operation == Op.DISABLE_QUEUE):
            c.update_queue(queue.id, disabled=operation == Op.DISABLE_QUEUE)
        return queue

    queue = _mutate(_Change(router, operation, service, {"queue_name": name}, io), user=user, client=client)
    messages = {
        Op.ENABLE_QUEUE: _("Cola %(name)s habilitada."),
        Op.DISABLE_QUEUE: _("Cola %(name)s deshabilitada."),
        Op.DELETE_QUEUE: _("Cola %(name)s eliminada."),
    }
    return MutationResult(
        True, messages[operation] % {"name": name}, service.pk if service else None, "", name, queue.max_limit
    )


def _service_for_queue(router: Router, name: str) -> Service | None:
    prefix = router.queue_name_prefix
    suffix = name[len(prefix) :] if name.startswith(prefix) else ""
    return Service.objects.filter(router=router, pk=int(suffix)).first() if suffix.isdigit() else None


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
