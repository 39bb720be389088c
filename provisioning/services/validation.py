"""Input and state checks every use case runs before it talks to a router."""

import ipaddress
from typing import Any

from django.utils.translation import gettext as _

from provisioning.errors import InvalidInputError, RouterDisabledError, ServiceStateError
from provisioning.models import Plan, Router, Service, normalize_mac


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


def _valid_ip_or_none(value: Any) -> str | None:
    try:
        return _valid_ip(value)
    except InvalidInputError:
        return None
