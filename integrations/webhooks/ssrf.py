"""SSRF guard for webhook URLs: http/https only, and no host resolving to a non-global address."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from erp.exceptions import DomainError

# NAT64 maps IPv4 into this prefix; ipaddress calls it global, but it can reach internal IPv4 hosts.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTargetError(DomainError):
    code = "UNSAFE_WEBHOOK_TARGET"
    status = 400


def private_targets_allowed() -> bool:
    # Read at call time so tests (and an ISP with on-prem receivers) can switch it without a restart.
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


def is_forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global (not is_private) so that 100.64/10 CGNAT, which is "not private", is refused too.
    return not ip.is_global or (isinstance(ip, ipaddress.IPv6Address) and ip in NAT64)


def check_url(url: str) -> None:
    """Raise UnsafeTargetError unless `url` may receive webhooks; resolves the host (DNS) each time."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError(_("Solo se permiten URLs http o https."))
    if parts.username or parts.password:
        raise UnsafeTargetError(_("La URL no puede incluir usuario ni contraseña."))
    host = parts.hostname
    if not host:
        raise UnsafeTargetError(_("La URL no tiene host."))
    if private_targets_allowed():
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeTargetError(_("No se pudo resolver el host %(host)s.") % {"host": host}) from exc
    for info in infos:
        address = info[4][0]
        if is_forbidden_address(address):
            raise UnsafeTargetError(
                _("El host %(host)s resuelve a una dirección no pública (%(ip)s).") % {"host": host, "ip": address}
            )
