"""The integration log: redaction of secrets, the on_response hook for erp.http clients, and the purge."""

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from erp.http import ResponseInfo
from integrations.models import IntegrationLog, LogStatus

logger = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
# Keys whose values are never stored, wherever they appear (headers, bodies, query strings).
SENSITIVE_KEY = re.compile(
    r"(secret|passw|pwd|token|api[-_]?key|apikey|authorization|cookie|credential|private[-_]?key|signature|clave)",
    re.IGNORECASE,
)
# Secrets that can hide inside free text (error messages, response bodies).
SENSITIVE_TEXT = [
    (re.compile(r"(?i)\b(Bearer|Basic|Api-Key|ApiKey|Token)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_" + REDACTED),
    (
        re.compile(r"(?i)((?:secret|password|passwd|token|api[-_]?key|clave)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"),
        r"\1" + REDACTED,
    ),
]
MAX_TEXT = 2048


def redact(value):
    """A deep copy of `value` with sensitive keys masked and secret-looking text scrubbed."""
    if isinstance(value, dict):
        return {k: (REDACTED if SENSITIVE_KEY.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    for pattern, replacement in SENSITIVE_TEXT:
        text = pattern.sub(replacement, text)
    return text[:MAX_TEXT]


def redact_url(url: str) -> str:
    """Drop userinfo and mask sensitive query parameters."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode([(k, REDACTED if SENSITIVE_KEY.search(k) else v) for k, v in parse_qsl(parts.query)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _fields(*, system, kind, ok, request, response, error, duration_ms) -> dict:
    return {
        "system": system[:50],
        "kind": kind[:50],
        "status": LogStatus.OK if ok else LogStatus.ERROR,
        "request_summary": redact(request or {}),
        "response_summary": redact(response or {}),
        "error": redact_text(error or ""),
        "duration_ms": max(0, int(duration_ms)),
    }


def entry(
    *,
    system: str,
    kind: str,
    ok: bool,
    request: dict | None = None,
    response: dict | None = None,
    error: str = "",
    duration_ms: int = 0,
) -> IntegrationLog:
    """One redacted, unsaved entry, for a service that inserts it in its own transaction next to its record."""
    return IntegrationLog(
        **_fields(
            system=system,
            kind=kind,
            ok=ok,
            request=request,
            response=response,
            error=error,
            duration_ms=duration_ms,
        )
    )


def write(
    *,
    system: str,
    kind: str,
    ok: bool,
    request: dict | None = None,
    response: dict | None = None,
    error: str = "",
    duration_ms: int = 0,
) -> IntegrationLog | None:
    """Store one redacted entry; a logging failure is reported but never breaks the integration call."""
    try:
        fields = _fields(
            system=system,
            kind=kind,
            ok=ok,
            request=request,
            response=response,
            error=error,
            duration_ms=duration_ms,
        )
        with transaction.atomic():  # a savepoint: a failed insert must not poison the caller's transaction
            return IntegrationLog.objects.create(**fields)
    except Exception:
        logger.exception("Could not write the integration log entry for %s/%s", system, kind)
        return None


def record(info: ResponseInfo) -> IntegrationLog | None:
    """The on_response hook for erp.http.HttpClient subclasses: `Client(..., on_response=record)`."""
    ok = not info.error and info.status is not None and info.status < 400
    path = urlsplit(info.url).path or "/"
    return write(
        system=info.system,
        kind=f"{info.method} {path}"[:50],
        ok=ok,
        request={
            "method": info.method,
            "url": redact_url(info.url),
            "headers": dict(info.request_headers or {}),
            "body": _jsonable(info.request_body),
        },
        response={"status": info.status, "body": info.response_body[:1024]},
        error=info.error or ("" if ok else f"HTTP {info.status}"),
        duration_ms=info.duration_ms,
    )


def _jsonable(body):
    if body is None or isinstance(body, dict | list | str | int | float | bool):
        return body
    if isinstance(body, bytes):
        return body[:1024].decode("utf-8", errors="replace")
    return str(body)[:1024]


def retention_days() -> int:
    return int(getattr(settings, "INTEGRATION_LOG_RETENTION_DAYS", 90))


def purge_old_entries(*, now=None) -> int:
    """Delete entries older than INTEGRATION_LOG_RETENTION_DAYS (read at call time); returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=retention_days())
    deleted, _ = IntegrationLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
