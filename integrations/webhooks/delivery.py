"""One signed POST of a webhook: SSRF check at send time, 10 s timeout, no redirects, a DeliveryResult back."""

import threading
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from erp.http import HttpClient
from integrations.webhooks import ssrf

USER_AGENT = "Emerald-Webhooks/0.1"
TIMEOUT_S = 10.0
BODY_EXCERPT = 1024
POOL_SIZE = 32  # kept-alive connections per host; at least the worker's thread count (--pool threads -c N)


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


class WebhookSender(HttpClient):
    """The shared HTTP base without its retries: a webhook's retry schedule lives in the database.

    One sender per worker process keeps connections alive between deliveries (a POST on a warm connection
    costs a fraction of a new TCP handshake plus a new receiver thread). Nothing else is shared between
    deliveries: cookies are refused, and a connection goes back to the pool only once its response was
    read to the end.
    """

    def __init__(self, timeout: float = TIMEOUT_S, pool_size: int | None = None):
        super().__init__(base_url="", timeout=timeout, retries=0, system="webhook", headers={"User-Agent": USER_AGENT})
        size = pool_size or getattr(settings, "WEBHOOK_HTTP_POOL_SIZE", POOL_SIZE)
        # max_retries=0: a POST that reached the receiver is never silently repeated; the schedule retries.
        adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # A receiver's Set-Cookie must not ride along on the next delivery (to it or to another endpoint).
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # No proxy or ~/.netrc credentials from the environment: the SSRF check vets the address we connect to,
        # and reading them costs about half a millisecond of CPU per POST.
        self.session.trust_env = False

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        started = time.monotonic()
        try:
            ssrf.check_url(url)
        except ssrf.UnsafeTargetError as exc:
            return DeliveryResult(None, 0, error=f"refused: {exc.message}")
        try:
            response = self.session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json", **headers},
                timeout=self.timeout,
                allow_redirects=False,  # 3xx is a failure in Standard Webhooks; following it could reach inside
                stream=True,
            )
        except requests.Timeout:
            return DeliveryResult(None, _ms(started), error=f"timed out after {self.timeout:g}s")
        except requests.RequestException as exc:
            return DeliveryResult(None, _ms(started), error=f"connection failed ({type(exc).__name__})")
        text = _read_excerpt(response)
        return DeliveryResult(response.status_code, _ms(started), text)


def _read_excerpt(response: requests.Response) -> str:
    """The first KB of the body, then the connection back to the pool only if the body ended there.

    Reading is bounded (a hostile receiver could stream gigabytes), so a longer body is never drained:
    its connection is closed instead, and its unread bytes can never be taken for the next response.
    """
    raw = response.raw
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
    """One sender (one connection pool) per worker process, shared by its threads (the pool is thread-safe)."""
    global _sender
    if _sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = WebhookSender()
    return _sender
