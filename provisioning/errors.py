"""Domain errors of provisioning: rules that refuse a request before or without touching a router."""

from django.utils.translation import gettext_lazy as _

from erp.exceptions import ConflictError, DomainError, NotFoundError


class InvalidInputError(DomainError):
    code = "VALIDATION_ERROR"
    status = 400
    default_message = _("Los datos enviados no son válidos.")


class RouterDisabledError(ConflictError):
    code = "ROUTER_DISABLED"
    default_message = _("El router está deshabilitado: no se aplican cambios.")


class FeatureDisabledError(ConflictError):
    """The router's switches (dhcp_enabled / queue_enabled) turn this operation off."""

    code = "FEATURE_DISABLED"


class ServiceStateError(ConflictError):
    code = "INVALID_SERVICE_STATE"


class AddressInUseError(ConflictError):
    code = "ADDRESS_IN_USE"


class QueueNotFoundError(NotFoundError):
    code = "QUEUE_NOT_FOUND"
    default_message = _("El router no tiene esa cola.")
