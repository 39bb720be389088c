"""Converging a router: the queue and lease a service should have, and the fewest writes that get there."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from provisioning.errors import AddressInUseError
from provisioning.models import Plan, Router, Service
from provisioning.routeros import DhcpLease, RouterClient
from provisioning.routeros.types import same_rate

Status = Service.Status


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
