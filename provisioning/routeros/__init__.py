"""RouterOS API access: a small client over librouteros returning typed dataclasses."""

from provisioning.routeros.client import RouterClient
from provisioning.routeros.errors import RouterAuthError, RouterCommandError, RouterUnreachableError
from provisioning.routeros.types import (
    DhcpLease,
    PppSecret,
    PppSession,
    RouterConfig,
    SimpleQueue,
    SystemResource,
)

__all__ = [
    "DhcpLease",
    "PppSecret",
    "PppSession",
    "RouterAuthError",
    "RouterClient",
    "RouterCommandError",
    "RouterConfig",
    "RouterUnreachableError",
    "SimpleQueue",
    "SystemResource",
]
