"""The three ways a router call fails, as members of the erp transport exception family."""

from django.utils.translation import gettext_lazy as _

from erp.exceptions import TransportError, UnreachableError, UpstreamAuthError


class RouterUnreachableError(UnreachableError):
    """No TCP/TLS connection, a timeout, or the router closed the connection mid-command."""

    code = "ROUTER_UNREACHABLE"
    status = 504
    default_message = _("El router no responde.")


class RouterAuthError(UpstreamAuthError):
    """The router refused the login (or, with TLS, the router could not be authenticated)."""

    code = "ROUTER_AUTH_FAILED"
    status = 502
    default_message = _("El router rechazó el usuario o la contraseña.")


class RouterCommandError(TransportError):
    """The router answered ``!trap``: the command was refused; ``message`` carries the router's words."""

    code = "ROUTER_ERROR"
    status = 502
    default_message = _("El router rechazó el comando.")
