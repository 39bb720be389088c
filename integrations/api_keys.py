"""External API keys: parse, verify (telling unknown, revoked and expired apart), throttle failures per IP."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from erp.exceptions import DomainError
from integrations.models import ExternalAPIKey

KEYWORDS = ("apikey", "api-key")
FAILURES_PER_MINUTE_DEFAULT = 60


class ApiKeyError(DomainError):
    status = 401
    code = "INVALID_API_KEY"
    default_message = "Clave de API inválida o ausente."


class ApiKeyExpiredError(ApiKeyError):
    code = "API_KEY_EXPIRED"
    default_message = "La clave de API venció."


class ApiKeyRevokedError(ApiKeyError):
    code = "API_KEY_REVOKED"
    default_message = "La clave de API fue revocada."


class TooManyFailuresError(DomainError):
    status = 429
    code = "TOO_MANY_FAILED_ATTEMPTS"
    default_message = "Demasiados intentos con claves inválidas; espere un minuto."


def parse_header(value: str) -> str | None:
    """`ApiKey <key>` (the spec's keyword) or `Api-Key <key>`; anything else is not ours."""
    keyword, _, key = (value or "").strip().partition(" ")
    if keyword.lower() not in KEYWORDS:
        return None
    return key.strip() or ""


def _failure_key(ip: str) -> str:
    return f"apikey-failures:{ip}"


def _failure_limit() -> int:
    return getattr(settings, "API_KEY_FAILURES_PER_MINUTE", FAILURES_PER_MINUTE_DEFAULT)


def check_failure_budget(ip: str) -> None:
    """Refuse an IP that already failed too often this minute: keys cannot be guessed at speed."""
    if (cache.get(_failure_key(ip)) or 0) >= _failure_limit():
        raise TooManyFailuresError()


def record_failure(ip: str) -> None:
    key = _failure_key(ip)
    # add() creates the counter with its TTL atomically; incr() then counts without resetting the window.
    if not cache.add(key, 1, 60):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, 60)


def verify_key(raw_key: str) -> ExternalAPIKey:
    """Return the key's row or raise INVALID / REVOKED / EXPIRED. The hash is checked before any status is revealed."""
    prefix, dot, _ = (raw_key or "").partition(".")
    if not dot or not prefix:
        raise ApiKeyError()
    # The library's own lookup hides revoked and expired rows; look up by prefix to tell them apart.
    api_key = ExternalAPIKey.objects.filter(prefix=prefix).first()
    if api_key is None or not api_key.is_valid(raw_key):
        raise ApiKeyError()
    if api_key.revoked:
        raise ApiKeyRevokedError()
    if api_key.has_expired:
        raise ApiKeyExpiredError()
    return api_key


def touch_last_used(api_key: ExternalAPIKey) -> None:
    """Record use at most once a minute per key, so a busy ERP does not turn reads into writes."""
    if cache.add(f"apikey-used:{api_key.pk}", 1, 60):
        now = timezone.now()
        ExternalAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def key_label(api_key: ExternalAPIKey) -> str:
    """How movements record a key: readable and traceable to the row, never the secret."""
    return f"api-key:{api_key.prefix} ({api_key.name})"[:150]


@transaction.atomic
def create_key(*, name: str, system: str, scopes: list[str], auto_approve=False, rate="1000/hour", expiry_date=None):
    """Create a key; returns (row, full key). The full key exists only in this return value."""
    return ExternalAPIKey.objects.create_key(
        name=name, system=system, scopes=scopes, auto_approve=auto_approve, rate=rate, expiry_date=expiry_date
    )


@transaction.atomic
def revoke_key(api_key: ExternalAPIKey) -> None:
    ExternalAPIKey.objects.filter(pk=api_key.pk).update(revoked=True)
