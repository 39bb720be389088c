"""One signed POST of a webhook: SSRF check at send time, 10 s timeout, no redirects, a DeliveryResult back."""

import time
from dataclasses import dataclass

import requests

from erp.http import HttpClient
from integrations.webhooks import ssrf

USER_AGENT = "Emerald-Webhooks/0.1"
TIMEOUT_S = 10.0
BODY_EXCERPT = 1024


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
    """The shared HTTP base without its retries: a webhook's retry schedule lives in the database."""

    def __init__(self, timeout: float = TIMEOUT_S):
        super().__init__(base_url="", timeout=timeout, retries=0, system="webhook", headers={"User-Agent": USER_AGENT})

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
        try:
            # Read a bounded excerpt only: a hostile receiver could stream gigabytes.
            raw = response.raw.read(BODY_EXCERPT + 1, decode_content=True) or b""
        except (requests.RequestException, OSError, ValueError):
            raw = b""
        finally:
            response.close()
        text = raw[:BODY_EXCERPT].decode("utf-8", errors="replace")
        return DeliveryResult(response.status_code, _ms(started), text)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


_sender: WebhookSender | None = None


def get_sender() -> WebhookSender:
    """One sender (one connection pool) per worker process."""
    global _sender
    if _sender is None:
        _sender = WebhookSender()
    return _sender
