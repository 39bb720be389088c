"""Provisioning use cases: router queries, and every change on a router with its audit row and event.

Each mutation validates first, does its router I/O outside any transaction (one connection, or the
caller's in bulk runs), then records the outcome, the RouterOperation audit row and the event in one
short transaction. Mutations converge: they read the router's state and change only what differs, so a
re-run after a half-failure (connection dropped between the lease and the queue) finishes the job.
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
    _mutate(
        router,
        Op.BIND_IP,
        service=service,
        params={"ip_address": ip, "mac_address": mac, "dhcp_server": router.dhcp_server},
        user=user,
        client=client,
        io=lambda c: _converge_lease(c, router, ip=ip, mac=mac, comment=comment),
    )
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
    _mutate(
        router, Op.CREATE_QUEUE, service=service, params=spec.params(), user=user, client=client,
        io=lambda c: _converge_queue(c, spec),
    )  # fmt: skip
    return MutationResult(
        True, _("Cola %(name)s lista.") % {"name": spec.name}, service.pk, service.status, spec.name, spec.max_limit
    )


def provision_service(
    service: Service, *, ip: str, mac: str, user=None, client: RouterClient | None = None
) -> ProvisionResult:
    """Bind IP to MAC, create the queue, mark the service active. Idempotent; a re-run after a failure converges.

    On failure the service keeps its previous status (never becomes active) and records ``last_error``.
    """
    ip, mac = _valid_ip(ip), _valid_mac(mac)
    router, plan = _service_router(service), _service_plan(service)
    _require_enabled(router)
    _require_address_free(service, router, ip)
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

    def done() -> None:
        was_active = service.status == Status.ACTIVO
        service.ip_address, service.mac_address, service.status = ip, mac, Status.ACTIVO
        service.provisioned_at = timezone.now()
        service.last_error = ""
        fields = ["ip_address", "mac_address", "status", "provisioned_at", "last_error", "updated_at"]
        service.save(update_fields=fields)
        if not was_active:
            events.emit("servicio_aprovisionado", _event_data(service))

    params = {"ip_address": ip, "mac_address": mac, **spec.params()}
    _mutate(router, Op.PROVISION, service=service, params=params, user=user, client=client, io=io, done=done)
    return ProvisionResult(
        success=True,
        message=_("Servicio %(id)s aprovisionado.") % {"id": service.pk},
        ip=ip,
        mac=mac,
        queue_name=spec.name if router.queue_enabled else "",
        max_limit=spec.max_limit if router.queue_enabled else "",
    )


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

    def done() -> None:
        service.plan = plan
        service.last_error = ""
        service.save(update_fields=["plan", "last_error", "updated_at"])

    _mutate(
        router, Op.UPDATE_SPEED, service=service, params={"plan": plan.code, **spec.params()}, user=user,
        client=client, io=(lambda c: _converge_queue(c, spec)) if router.queue_enabled else None, done=done,
    )  # fmt: skip
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

    def done() -> None:
        was_removed = service.status == Status.DADO_DE_BAJA
        service.status, service.last_error = Status.DADO_DE_BAJA, ""
        service.save(update_fields=["status", "last_error", "updated_at"])
        if not was_removed:
            events.emit("servicio_dado_de_baja", _event_data(service))

    params = {"queue_name": name, "mac_address": mac, "ip_address": service.ip_address or ""}
    _mutate(router, Op.DEPROVISION, service=service, params=params, user=user, client=client, io=io, done=done)
    return MutationResult(True, _("Servicio %(id)s dado de baja.") % {"id": service.pk}, service.pk, service.status)


def enable_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.ENABLE_QUEUE, user=user, client=client)


def disable_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.DISABLE_QUEUE, user=user, client=client)


def delete_queue(router: Router, name: str, *, user=None, client: RouterClient | None = None) -> MutationResult:
    return _queue_command(router, name, Op.DELETE_QUEUE, user=user, client=client)


# --------------------------------------------------------------------------------------
# Bulk: one connection per router
# --------------------------------------------------------------------------------------

BULK_ACTIONS: dict[str, Callable[..., Any]] = {
    "suspend": suspend_service,
    "activate": activate_service,
    "deprovision": deprovision_service,
}


def run_bulk(services: Iterable[Service], action: str, *, user=None) -> list[Outcome]:
    """Suspend / activate / deprovision many services, one connection per router, one outcome per service."""
    function = BULK_ACTIONS[action]
    return _run_grouped([(service, {}) for service in services], function, user=user)


def provision_services(items: Iterable[tuple[Service, str, str]], *, user=None) -> list[Outcome]:
    """Provision ``(service, ip, mac)`` items reusing one connection per router."""
    return _run_grouped([(s, {"ip": ip, "mac": mac}) for s, ip, mac in items], provision_service, user=user)


class CachedRouter:
    """A bulk run's view of one router: leases and queues read once, then kept in step with its own writes.

    Converging a service needs lookups (lease by MAC and IP, queue by name); in a bulk run those would be
    most of the round trips. A concurrent change by someone else makes a write fail (reported for that
    service) or leaves a difference that the next run converges.
    """

    def __init__(self, client: RouterClient) -> None:
        self.client = client
        self._leases: dict[str, DhcpLease] | None = None
        self._queues: dict[str, SimpleQueue] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)  # restart_deadline, close, identity...

    def leases(self, *, mac: str | None = None, address: str | None = None) -> list[DhcpLease]:
        if self._leases is None:
            self._leases = {lease.id: lease for lease in self.client.leases()}
        return [
            lease
            for lease in self._leases.values()
            if (mac is None or lease.mac_address == mac) and (address is None or lease.address == address)
        ]

    def find_queue(self, name: str) -> SimpleQueue | None:
        if self._queues is None:
            self._queues = {queue.name: queue for queue in self.client.queues()}
        return self._queues.get(name)

    def add_lease(self, *, address: str, mac: str, server: str, comment: str) -> str:
        lease_id = self.client.add_lease(address=address, mac=mac, server=server, comment=comment)
        self.leases()  # make sure the cache exists before adding to it
        self._leases[lease_id] = DhcpLease(lease_id, address, mac, "", "waiting", False, False, server, comment)
        return lease_id

    def make_lease_static(self, lease_id: str) -> None:
        self.client.make_lease_static(lease_id)
        self._patch_lease(lease_id, dynamic=False)

    def update_lease(self, lease_id: str, **values: Any) -> None:
        self.client.update_lease(lease_id, **values)
        self._patch_lease(lease_id, **values)

    def remove_lease(self, lease_id: str) -> None:
        self.client.remove_lease(lease_id)
        self.leases()
        self._leases.pop(lease_id, None)

    def add_queue(self, *, name: str, target: str, max_limit: str, comment: str, disabled: bool = False) -> str:
        queue_id = self.client.add_queue(
            name=name, target=target, max_limit=max_limit, comment=comment, disabled=disabled
        )
        self.find_queue(name)
        self._queues[name] = SimpleQueue(queue_id, name, target, max_limit, disabled, comment, "0/0", "0/0")
        return queue_id

    def update_queue(self, queue_id: str, **values: Any) -> None:
        self.client.update_queue(queue_id, **values)
        self.find_queue("")
        for name, queue in self._queues.items():
            if queue.id == queue_id:
                fields = {key.replace("-", "_"): value for key, value in values.items()}
                self._queues[name] = replace(queue, **fields)

    def remove_queue(self, queue_id: str) -> None:
        self.client.remove_queue(queue_id)
        self.find_queue("")
        self._queues = {name: queue for name, queue in self._queues.items() if queue.id != queue_id}

    def _patch_lease(self, lease_id: str, **values: Any) -> None:
        self.leases()
        if lease_id in self._leases:
            fields = {key.replace("-", "_"): value for key, value in values.items()}
            self._leases[lease_id] = replace(self._leases[lease_id], **fields)


def _run_grouped(items: list[tuple[Service, dict]], function: Callable[..., Any], *, user) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    by_router: dict[int | None, list[tuple[Service, dict]]] = {}
    for service, kwargs in items:
        by_router.setdefault(service.router_id, []).append((service, kwargs))
    for router_id, group in by_router.items():
        client = CachedRouter(open_client(group[0][0].router)) if router_id is not None else None
        fatal: str | None = None
        try:
            for service, kwargs in group:
                if fatal is not None:
                    # The router refused us or vanished: trying each remaining service would cost a timeout each.
                    outcomes[service.pk] = Outcome(service, False, _("No se intentó: %(error)s") % {"error": fatal})
                    continue
                if client is not None:
                    client.restart_deadline()
                try:
                    result = function(service, user=user, client=client, **kwargs)
                    outcomes[service.pk] = Outcome(service, True, result.message)
                except DomainError as exc:
                    outcomes[service.pk] = Outcome(service, False, exc.message)
                    if isinstance(exc, RouterUnreachableError | RouterAuthError):
                        fatal = exc.message
        finally:
            if client is not None:
                client.close()
    return [outcomes[service.pk] for service, _kwargs in items]


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


def _require_address_free(service: Service, router: Router, ip: str) -> None:
    other = (
        Service.objects.filter(router=router, ip_address=ip)
        .exclude(pk=service.pk)
        .exclude(status=Status.DADO_DE_BAJA)
        .first()
    )
    if other is not None:
        raise AddressInUseError(_("La IP %(ip)s ya es del servicio %(id)s.") % {"ip": ip, "id": other.pk})


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
    router, plan = _service_router(service), _service_plan(service)
    _require_enabled(router)
    if service.status not in _ALLOWED_FROM[target] or not service.ip_address:
        raise ServiceStateError(
            _("No se puede pasar de «%(from)s» a «%(to)s».")
            % {"from": service.get_status_display(), "to": Status(target).label}
        )
    spec = _queue_spec(service, router, plan, status=target, ip=service.ip_address)

    def done() -> None:
        changed = service.status != target
        service.status, service.last_error = target, ""
        service.save(update_fields=["status", "last_error", "updated_at"])
        if changed:
            events.emit(event, _event_data(service))

    action = router.suspend_action if target == Status.SUSPENDIDO else router.activate_action
    _mutate(
        router, operation, service=service, params={"action": action, **spec.params()}, user=user, client=client,
        io=(lambda c: _converge_queue(c, spec)) if router.queue_enabled else None, done=done,
    )  # fmt: skip
    label = _("suspendido") if target == Status.SUSPENDIDO else _("activado")
    return MutationResult(
        True,
        _("Servicio %(id)s %(label)s.") % {"id": service.pk, "label": label},
        service.pk,
        target,
        spec.name,
        spec.max_limit,
    )


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

    queue = _mutate(router, operation, service=service, params={"queue_name": name}, user=user, client=client, io=io)
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


def _mutate(
    router: Router,
    operation: str,
    *,
    service: Service | None,
    params: dict[str, Any],
    user,
    client: RouterClient | None,
    io: Callable[[RouterClient], Any] | None,
    done: Callable[[], None] | None = None,
) -> Any:
    """Router I/O with no transaction open, then outcome + audit (+ event, in ``done``) in one transaction."""
    started = time.monotonic()
    result = None
    try:
        if io is not None:
            with _session(router, client) as session:
                result = io(session)
    except DomainError as exc:
        with transaction.atomic():
            _audit(router, operation, service, params, user, started, error=exc.message)
            if service is not None:
                service.last_error = exc.message
                Service.objects.filter(pk=service.pk).update(last_error=exc.message, updated_at=timezone.now())
        logger.warning("Router %s: %s failed: %s", router.name, operation, exc.message)
        raise
    with transaction.atomic():
        if done is not None:
            done()
        _audit(router, operation, service, params, user, started)
    return result


def _audit(router, operation, service, params, user, started, *, error: str = "") -> RouterOperation:
    return RouterOperation.objects.create(
        router=router,
        service=service,
        operation=operation,
        params=params,  # built by the caller from non-secret fields only
        success=not error,
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
        user=user if getattr(user, "is_authenticated", False) else None,
    )


def _event_data(service: Service) -> dict[str, Any]:
    return {
        "service_id": service.pk,
        "customer": service.customer.code,
        "router": service.router.name if service.router_id else "",
        "ip_address": service.ip_address or "",
        "mac_address": service.mac_address,
        "status": service.status,
    }
