"""Signed POSTs of webhooks: pinned-address connections (SSRF), 10 s timeout, no redirects, DeliveryResults back."""

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from integrations.webhooks import ssrf

USER_AGENT = "Emerald-Webhooks/0.1"
TIMEOUT_S = 10.0
BODY_EXCERPT = 1024
POOL_SIZE = 32  # kept-alive connections per host; at least the number of concurrent POSTs per process
SEND_THREADS = 16  # concurrent POSTs per worker process


@dataclass(frozen=True)
class DeliveryResult:
    status_code: int | None
    response_ms: int
    response_body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        return self.status_code == 410

    @property
    def failure(self) -> str:
        """What went wrong, as staff read it in last_error and the log: the transport error, else the status."""
        return self.error or ("" if self.ok else f"HTTP {self.status_code}")


@dataclass(frozen=True)
class OutgoingWebhook:
    url: str
    body: bytes
    headers: dict[str, str]


class _PinnedConnectionMixin:
    """Resolves the host once, vets every address (ssrf.resolve_safe) and connects to those very addresses.

    urllib3 would otherwise resolve again when connecting, so a DNS answer changed between check and
    connect could point the POST at an internal host. Only the socket's address changes: the Host header,
    TLS SNI and certificate checks still use the URL's hostname.
    """

    def _new_conn(self):
        host = self._dns_host
        addresses = ssrf.resolve_safe(host, self.port)  # UnsafeTargetError propagates out of urllib3 untouched
        error = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                error = exc
            finally:
                self._dns_host = host
        raise error


class PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class WebhookSender:
    """One connection pool for every webhook POST of a process, on urllib3 (the pool under requests).

    Webhooks are the one hot HTTP path: requests' session layer (settings merging, hooks, cookie jar, response
    building) cost more CPU per POST than the POST itself, and none of it is wanted here (no cookies, no proxies
    or ~/.netrc credentials from the environment, no retries: a webhook's schedule lives in the database).
    Connections stay alive between deliveries; one goes back to the pool only once its response was read to
    the end. Every new connection goes through the SSRF guard (pinned addresses).
    """

    def __init__(self, timeout: float = TIMEOUT_S, pool_size: int | None = None, threads: int | None = None):
        self.timeout = timeout
        size = pool_size or getattr(settings, "WEBHOOK_HTTP_POOL_SIZE", POOL_SIZE)
        self.pool = urllib3.PoolManager(num_pools=size, maxsize=size, retries=False)
        self.pool.pool_classes_by_scheme = {"http": PinnedHTTPConnectionPool, "https": PinnedHTTPSConnectionPool}
        self.threads = threads or getattr(settings, "WEBHOOK_SEND_THREADS", SEND_THREADS)
        self._executor: ThreadPoolExecutor | None = None

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        started = time.monotonic()
        try:
            ssrf.check_url_syntax(url)
            response = self.pool.request(
                "POST",
                url,
                body=body,
                headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
                timeout=self.timeout,
                retries=False,  # a POST that reached the receiver is never silently repeated
                redirect=False,  # 3xx is a failure in Standard Webhooks; following it could reach inside
                preload_content=False,
            )
        except ssrf.UnsafeTargetError as exc:
            return DeliveryResult(None, _ms(started), error=f"refused: {exc.message}")
        except urllib3.exceptions.NewConnectionError as exc:  # checked first: urllib3 derives it from TimeoutError
            return DeliveryResult(None, _ms(started), error=f"connection failed ({type(exc).__name__})")
        except urllib3.exceptions.TimeoutError:
            return DeliveryResult(None, _ms(started), error=f"timed out after {self.timeout:g}s")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return DeliveryResult(None, _ms(started), error=f"connection failed ({type(exc).__name__})")
        text = _read_excerpt(response)
        return DeliveryResult(response.status, _ms(started), text)

    def post_all(self, messages: Sequence[OutgoingWebhook]) -> list[DeliveryResult]:
        """POST every message concurrently (up to `threads` at a time); results in the messages' order."""
        if len(messages) <= 1 or self.threads <= 1:
            return [self.post(m.url, m.body, m.headers) for m in messages]
        if self._executor is None:
            # Created on first use, so a prefork worker's children each start their own threads after the fork.
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="webhook-send")
        return list(self._executor.map(lambda m: self.post(m.url, m.body, m.headers), messages))


def _read_excerpt(raw: urllib3.BaseHTTPResponse) -> str:
    """The first KB of the body, then the connection back to the pool only if the body ended there.

    Reading is bounded (a hostile receiver could stream gigabytes), so a longer body is never drained:
    its connection is closed instead, and its unread bytes can never be taken for the next response.
    """
    try:
        data = raw.read(BODY_EXCERPT + 1, decode_content=True) or b""
        complete = len(data) <= BODY_EXCERPT and raw.closed  # http.client closes the fp at the body's end
    except Exception:  # urllib3 protocol/timeout/decoder errors as well as OSError: keep the status, drop the body
        data, complete = b"", False
    if complete:
        raw.release_conn()  # usually done already by urllib3 when the body ended; harmless twice
    else:
        raw.close()  # unread (or broken) body: this connection is not reusable
        raw.release_conn()
    return data[:BODY_EXCERPT].decode("utf-8", errors="replace")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


_sender: WebhookSender | None = None
_sender_lock = threading.Lock()


def get_sender() -> WebhookSender:
    """One sender (one connection pool, one thread pool) per process, shared by its threads (both are thread-safe)."""
    global _sender
    if _sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = WebhookSender()
    return _sender
