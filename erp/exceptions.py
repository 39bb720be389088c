"""DomainError (code + HTTP status) and the transport exception family shared by every client."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule refused the request; rendered by the API as {"success": false, "error", "code", "details"}."""

    code = "DOMAIN_ERROR"
    status = 400
    default_message = _("La operación no es válida.")

    def __init__(self, message=None, *, code=None, status=None, details=None):
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details
        super().__init__(self.message)


class NotFoundError(DomainError):
    code = "NOT_FOUND"
    status = 404
    default_message = _("No encontrado.")


class ConflictError(DomainError):
    code = "CONFLICT"
    status = 409
    default_message = _("El estado actual no permite la operación.")


class TransportError(DomainError):
    """Base of failures talking to another system; safe to show (never carries secrets)."""

    code = "UPSTREAM_ERROR"
    status = 502
    default_message = _("El sistema remoto falló.")


class TransientError(TransportError):
    """Worth retrying later: unreachable, timed out, 5xx."""


class UnreachableError(TransientError):
    code = "UPSTREAM_UNREACHABLE"
    status = 504
    default_message = _("El sistema remoto no responde.")


class UpstreamTimeoutError(UnreachableError):
    code = "UPSTREAM_TIMEOUT"
    default_message = _("El sistema remoto no respondió a tiempo.")


class UpstreamAuthError(TransportError):
    code = "UPSTREAM_AUTH_FAILED"
    default_message = _("El sistema remoto rechazó las credenciales.")


class UpstreamResponseError(TransportError):
    """The remote answered, but with an error status or a body we cannot use."""

    def __init__(self, message=None, *, http_status=None, **kw):
        self.http_status = http_status
        super().__init__(message, **kw)
