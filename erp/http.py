"""HttpClient: the one HTTP base (session, timeouts, urllib3 Retry, error mapping, on_response log hook)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from erp.exceptions import (
    TransientError,
    UnreachableError,
    UpstreamAuthError,
    UpstreamResponseError,
    UpstreamTimeoutError,
)

USER_AGENT = "Emerald/0.1"


@dataclass(frozen=True)
class ResponseInfo:
    """What the log hook sees of one exchange; the hook redacts before storing."""

    system: str
    method: str
    url: str
    request_headers: dict
    request_body: object
    status: int | None
    response_body: str
    duration_ms: int
    error: str = ""


@dataclass
class HttpClient:
    """Subclasses set `system` and call _request(); every transport failure becomes an erp.exceptions error."""

    base_url: str
    timeout: float = 10.0
    retries: int = 2
    headers: dict = field(default_factory=dict)
    on_response: Callable[[ResponseInfo], None] | None = None
    system: str = "http"

    def __post_init__(self):
        self.base_url = self.base_url.rstrip("/")
        self.session = requests.Session()
        # Retry only connection errors and idempotent methods: a POST that reached the server is never repeated.
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=0,
            status=0,
            backoff_factor=0.2,
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json", **self.headers})

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _request(self, method: str, path: str, *, expect_json: bool = True, **kwargs):
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        started = time.monotonic()
        response = None
        error = ""
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.Timeout as exc:
            error = f"timed out after {kwargs['timeout']}s"
            raise UpstreamTimeoutError(f"{self.system}: {error}") from exc
        except requests.ConnectionError as exc:
            error = "connection failed"
            raise UnreachableError(f"{self.system}: {error} ({type(exc).__name__})") from exc
        finally:
            self._log(method, url, kwargs, response, started, error)
        return self._check(response, expect_json)

    def _check(self, response, expect_json: bool):
        if response.status_code in (401, 403):
            raise UpstreamAuthError(f"{self.system}: credentials refused (HTTP {response.status_code})")
        if response.status_code >= 500:
            raise TransientError(f"{self.system}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise UpstreamResponseError(
                f"{self.system}: HTTP {response.status_code}: {response.text[:200]}",
                http_status=response.status_code,
            )
        if not expect_json:
            return response
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamResponseError(
                f"{self.system}: the response is not valid JSON", http_status=response.status_code
            ) from exc

    def _log(self, method, url, kwargs, response, started, error):
        if self.on_response is None:
            return
        info = ResponseInfo(
            system=self.system,
            method=method,
            url=url,
            request_headers={**self.session.headers, **(kwargs.get("headers") or {})},
            request_body=kwargs.get("json", kwargs.get("data")),
            status=response.status_code if response is not None else None,
            response_body=response.text[:1024] if response is not None else "",
            duration_ms=int((time.monotonic() - started) * 1000),
            error=error,
        )
        self.on_response(info)
