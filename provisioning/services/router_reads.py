"""Live reads of a router: leases, queues, PPP, resources and whether it answers."""

from typing import Any

from erp.exceptions import DomainError
from provisioning.models import Router, Service
from provisioning.routeros import DhcpLease, PppSecret, SimpleQueue, SystemResource
from provisioning.routeros.types import format_uptime
from provisioning.services.connections import _session
from provisioning.services.validation import _service_router, _valid_ip, _valid_mac


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
