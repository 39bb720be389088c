"""RouterClient: one librouteros connection, typed results, and every failure mapped to three exceptions."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import librouteros
from librouteros.connections import SocketTransport
from librouteros.exceptions import ConnectionClosed, LibRouterosError, MultiTrapError, TrapError
from librouteros.protocol import compose_word, encode_sentence, parse_word
from librouteros.query import Key

from provisioning.routeros.errors import RouterAuthError, RouterCommandError, RouterUnreachableError
from provisioning.routeros.types import (
    DhcpLease,
    PppSecret,
    PppSession,
    RouterConfig,
    SimpleQueue,
    SystemResource,
    text,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

LEASES = ("ip", "dhcp-server", "lease")
QUEUES = ("queue", "simple")


class RouterClient:
    """A context manager holding one API session; every public method is one or a few commands on it.

    The socket timeout bounds each read; on top of it an operation deadline (``timeout_s`` from
    ``connect()`` or the last ``restart_deadline()``) bounds the whole operation, so a router that
    answers slowly but steadily still cannot hold a worker beyond ``timeout_s``.
    """

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self._api: librouteros.api.Api | None = None
        self._deadline = 0.0

    # -- connection ---------------------------------------------------------------------

    def __enter__(self) -> RouterClient:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._api is not None

    def connect(self) -> None:
        """Open TCP (and TLS), log in. Raises RouterUnreachableError or RouterAuthError."""
        if self._api is not None:
            return
        cfg = self.config
        self.restart_deadline()
        started = time.monotonic()
        try:
            self._api = librouteros.connect(
                cfg.host,
                cfg.username,
                cfg.password,
                port=cfg.port,
                timeout=cfg.timeout_s,
                encoding=cfg.encoding,
                ssl_wrapper=self._ssl_wrapper() if cfg.use_ssl else None,
            )
        except (TrapError, MultiTrapError):
            # The only command sent so far is /login: a trap here means the credentials were refused.
            raise RouterAuthError(f"{self._label()}: el router rechazó el usuario o la contraseña.") from None
        except ssl.SSLCertVerificationError as exc:
            raise RouterAuthError(
                f"{self._label()}: el certificado del router no es válido ({exc.verify_message})."
            ) from None
        except TimeoutError:  # socket.timeout is an alias since 3.10
            raise self._timeout_error(started) from None
        except (OSError, LibRouterosError, UnicodeError) as exc:
            raise RouterUnreachableError(f"{self._label()}: no se pudo conectar ({_describe(exc)}).") from None
        self._api.protocol.transport = _ReadAheadTransport(self._api.protocol.transport.sock)
        logger.debug("Connected to router %s", self._label())

    def close(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            with contextlib.suppress(OSError, LibRouterosError):  # already gone; nothing to tell the caller
                api.close()

    def restart_deadline(self) -> None:
        """Give the next operation a fresh ``timeout_s`` budget (bulk runs call this per service)."""
        self._deadline = time.monotonic() + self.config.timeout_s

    # -- queries ------------------------------------------------------------------------

    def identity(self) -> str:
        rows = self._run(lambda api: tuple(api.path("system", "identity")))
        return text(rows[0].get("name")) if rows else ""

    def resources(self) -> SystemResource:
        rows = self._run(lambda api: tuple(api.path("system", "resource")))
        return SystemResource.from_row(rows[0] if rows else {}, identity=self.identity())

    def leases(self, *, mac: str | None = None, address: str | None = None) -> list[DhcpLease]:
        conditions = []
        if mac:
            conditions.append(Key("mac-address") == mac)
        if address:
            conditions.append(Key("address") == address)
        return [DhcpLease.from_row(row) for row in self._select(LEASES, conditions)]

    def queues(self, *, name: str | None = None) -> list[SimpleQueue]:
        conditions = [Key("name") == name] if name else []
        return [SimpleQueue.from_row(row) for row in self._select(QUEUES, conditions)]

    def find_queue(self, name: str) -> SimpleQueue | None:
        found = self.queues(name=name)
        return found[0] if found else None

    def ppp_active(self, *, name: str | None = None) -> list[PppSession]:
        conditions = [Key("name") == name] if name else []
        return [PppSession.from_row(row) for row in self._select(("ppp", "active"), conditions)]

    def ppp_secrets(self) -> list[PppSecret]:
        return [PppSecret.from_row(row) for row in self._select(("ppp", "secret"), [])]

    # -- mutations ----------------------------------------------------------------------

    def add_lease(self, *, address: str, mac: str, server: str, comment: str) -> str:
        values = {"address": address, "mac-address": mac, "server": server, "comment": comment}
        return self._run(lambda api: api.path(*LEASES).add(**values))

    def update_lease(self, lease_id: str, **values: Any) -> None:
        self._update(LEASES, lease_id, values)

    def make_lease_static(self, lease_id: str) -> None:
        # Path.__call__ is a generator: nothing is sent until it is consumed.
        self._run(lambda api: tuple(api.path(*LEASES)("make-static", **{".id": lease_id})))

    def remove_lease(self, lease_id: str) -> None:
        self._run(lambda api: api.path(*LEASES).remove(lease_id))

    def add_queue(self, *, name: str, target: str, max_limit: str, comment: str, disabled: bool = False) -> str:
        values = {"name": name, "target": target, "max-limit": max_limit, "comment": comment, "disabled": disabled}
        return self._run(lambda api: api.path(*QUEUES).add(**values))

    def update_queue(self, queue_id: str, **values: Any) -> None:
        self._update(QUEUES, queue_id, values)

    def remove_queue(self, queue_id: str) -> None:
        self._run(lambda api: api.path(*QUEUES).remove(queue_id))

    def pipeline(self, commands: list[tuple[tuple[str, ...], str, dict[str, Any]]]) -> list[Any]:
        """Send independent commands ``(menu, verb, values)`` in one write, then read every reply.

        RouterOS runs tagged commands of one session concurrently and tags each reply, so the commands
        must not depend on each other (bulk runs send one step of many services at once). Returns, per
        command, its ``ret`` (an ``add``'s new ``.id``, else None) or the RouterCommandError of its trap;
        a dropped connection or a timeout raises for the whole batch, as for one command.
        """
        if not commands:
            return []

        def send_and_read(api):
            encoding = api.protocol.encoding
            sentences = []
            for tag, (menu, verb, values) in enumerate(commands):
                words = [compose_word(key.replace("_", "-"), value) for key, value in values.items()]
                sentences.append(
                    encode_sentence("/" + "/".join((*menu, verb)), *words, f".tag={tag}", encoding=encoding)
                )
            api.protocol.transport.write(b"".join(sentences))
            results: dict[int, Any] = {}
            traps: dict[int, TrapError] = {}
            while len(results) < len(commands):
                reply, words = api.protocol.readSentence()  # raises FatalError on !fatal
                tag, attributes = None, {}
                for word in words:
                    # librouteros' own parser chokes on ".tag=" (no leading "="): split it off here.
                    if word.startswith(".tag="):
                        tag = int(word[5:])
                    else:
                        key, value = parse_word(word)
                        attributes[key] = value
                if tag is None or not 0 <= tag < len(commands):
                    raise LibRouterosError(f"untagged or unknown reply {reply} in a pipeline")
                if reply == "!trap":
                    traps.setdefault(tag, TrapError(**attributes))
                elif reply == "!done":
                    results[tag] = text(attributes.get("ret")) or None
            return [
                RouterCommandError(f"{self._label()}: {traps[tag]}") if tag in traps else results[tag]
                for tag in range(len(commands))
            ]

        return self._run(send_and_read)

    # -- internals ----------------------------------------------------------------------

    def _select(self, menu: Iterable[str], conditions: list) -> tuple[dict, ...]:
        def query(api):
            path = api.path(*menu)
            if not conditions:
                return tuple(path)
            return tuple(path.select().where(*conditions))

        return self._run(query)

    def _update(self, menu: Iterable[str], row_id: str, values: dict[str, Any]) -> None:
        # RouterOS property names use dashes; callers pass Python names (max_limit → max-limit).
        words = {key.replace("_", "-"): value for key, value in values.items()}
        self._run(lambda api: api.path(*menu).update(**{".id": row_id}, **words))

    def _run(self, command: Callable[[librouteros.api.Api], T]) -> T:
        """Run one command sequence on the open session, mapping librouteros and socket errors."""
        if self._api is None:
            self.connect()
        api = self._api
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise self._timeout_error(None)
        started = time.monotonic()
        api.protocol.transport.sock.settimeout(min(self.config.timeout_s, remaining))
        try:
            return command(api)
        except TrapError as exc:
            raise RouterCommandError(f"{self._label()}: {exc}") from None
        except MultiTrapError as exc:
            raise RouterCommandError(f"{self._label()}: {exc}") from None
        except TimeoutError:  # socket.timeout is an alias since 3.10
            # A half-read reply leaves the session out of step with the router: never reuse it.
            self.close()
            raise self._timeout_error(started) from None
        except (OSError, LibRouterosError, UnicodeError) as exc:
            self.close()
            raise RouterUnreachableError(
                f"{self._label()}: la conexión con el router se cortó ({_describe(exc)})."
            ) from None

    def _ssl_wrapper(self) -> Callable[[socket.socket], socket.socket]:
        cfg = self.config
        if cfg.tls_mode == "anonymous":
            # API-SSL without a certificate: anonymous DH only exists up to TLS 1.2 and below SECLEVEL 1.
            # Encrypts but does not authenticate the router: an explicit, flagged opt-in.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("ADH:@SECLEVEL=0")
            return context.wrap_socket
        if cfg.tls_mode == "fingerprint":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # trust comes from the pinned hash checked below
            expected = cfg.tls_fingerprint.replace(":", "").strip().lower()

            def wrap_pinned(sock: socket.socket) -> socket.socket:
                wrapped = context.wrap_socket(sock)
                der = wrapped.getpeercert(binary_form=True) or b""
                if not expected or not hmac.compare_digest(hashlib.sha256(der).hexdigest(), expected):
                    wrapped.close()
                    raise RouterAuthError(
                        f"{self._label()}: la huella del certificado del router no coincide con la configurada."
                    )
                return wrapped

            return wrap_pinned
        context = ssl.create_default_context(cadata=cfg.ca_certificate or None)
        return lambda sock: context.wrap_socket(sock, server_hostname=cfg.host)

    def _timeout_error(self, started: float | None) -> RouterUnreachableError:
        return RouterUnreachableError(
            f"{self._label()}: el router no respondió en {self.config.timeout_s:g} s.", code="ROUTER_UNREACHABLE"
        )

    def _label(self) -> str:
        return self.config.name or f"{self.config.host}:{self.config.port}"


class _ReadAheadTransport(SocketTransport):
    """librouteros reads a reply a few bytes at a time (one ``recv`` per length prefix and per word):
    a print of a thousand leases costs tens of thousands of system calls. Read what has arrived instead.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self._data = b""
        self._position = 0

    def read(self, length: int) -> bytes:
        end = self._position + length
        while end > len(self._data):
            got = self.sock.recv(65536)  # the socket timeout still bounds every wait
            if not got:
                raise ConnectionClosed("Connection unexpectedly closed.")
            self._data = self._data[self._position :] + got
            self._position, end = 0, length
        chunk = self._data[self._position : end]
        self._position = end
        return chunk


def _describe(exc: BaseException) -> str:
    """A short reason without echoing anything sent (librouteros messages never include the password)."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
