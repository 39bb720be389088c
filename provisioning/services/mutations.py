"""Changes on a router for one service or queue, each with its audit row and event."""

from django.utils import timezone
from django.utils.translation import gettext as _

from provisioning.errors import FeatureDisabledError, QueueNotFoundError, ServiceStateError
from provisioning.models import Plan, Router, RouterOperation, Service
from provisioning.routeros import RouterClient, SimpleQueue
from provisioning.services.addresses import _AddressBook, _require_address_free
from provisioning.services.convergence import (
    _converge_lease,
    _converge_queue,
    _lease_comment,
    _queue_spec,
    _remove_static_lease,
)
from provisioning.services.recording import _Change, _mutate, _Saved
from provisioning.services.results import MutationResult, ProvisionResult
from provisioning.services.validation import _require_enabled, _service_plan, _service_router, _valid_ip, _valid_mac

Op = RouterOperation.Operation
Status = Service.Status


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
