"""Router connections: a router row's client config, and the connection a mutation or read runs on."""

from collections.abc import Iterator
from contextlib import contextmanager

from provisioning.models import Router
from provisioning.routeros import RouterClient, RouterConfig


def router_config(router: Router) -> RouterConfig:
    """The client's plain config for a router row (the password is decrypted here and nowhere else)."""
    return RouterConfig(
        host=router.host,
        port=router.port,
        username=router.username,
        password=router.password or "",
        timeout_s=router.timeout_s,
        use_ssl=router.use_ssl,
        tls_mode=router.tls_mode,
        ca_certificate=router.ca_certificate,
        tls_fingerprint=router.tls_fingerprint,
        encoding=router.encoding,
        name=router.name,
    )


def open_client(router: Router) -> RouterClient:
    """An unconnected client for bulk runs: use it as a context manager and pass it as ``client=``."""
    return RouterClient(router_config(router))


@contextmanager
def _session(router: Router, client: RouterClient | None) -> Iterator[RouterClient]:
    if client is not None:
        yield client  # a bulk run's shared connection: its owner closes it
        return
    with open_client(router) as own:
        yield own
