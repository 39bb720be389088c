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


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Private networks an ISP opened on purpose (an on-premise ERP), narrower than allowing every private target."""
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", ())]


def is_forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks()):
        return False
    # is_global (not is_private) so that 100.64/10 CGNAT, which is "not private", is refused too.
    return not ip.is_global or (isinstance(ip, ipaddress.IPv6Address) and ip in NAT64)


def check_url_syntax(url: str) -> tuple[str, int]:
    """Raise UnsafeTargetError unless `url` is an http(s) URL with a host, a valid port and no credentials;
    returns (host, port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError(_("Solo se permiten URLs http o https."))
    if parts.username or parts.password:
        raise UnsafeTargetError(_("La URL no puede incluir usuario ni contraseña."))
    if not parts.hostname:
        raise UnsafeTargetError(_("La URL no tiene host."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeTargetError(_("El puerto de la URL no es válido.")) from exc
    return parts.hostname, port


def resolve_safe(host: str, port: int) -> list[str]:
    """Resolve `host` once and return its addresses, refusing the lot if any is not public.

    The sender connects to exactly these addresses (delivery.PinnedHTTPConnection), so a DNS answer that
    changes between the check and the connection (DNS rebinding) cannot steer a POST inside the network.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeTargetError(_("No se pudo resolver el host %(host)s.") % {"host": host}) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if private_targets_allowed():
        return addresses
    for address in addresses:
        if is_forbidden_address(address):
            raise UnsafeTargetError(
                _("El host %(host)s resuelve a una dirección no pública (%(ip)s).") % {"host": host, "ip": address}
            )
    return addresses


def check_url(url: str) -> None:
    """Raise UnsafeTargetError unless `url` may receive webhooks (save-time check; resolves the host)."""
    host, port = check_url_syntax(url)
    if not private_targets_allowed():
        resolve_safe(host, port)
