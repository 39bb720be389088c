"""Idempotency records: claim a key for one request, store its response for replays, release it on failure."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from erp.exceptions import ConflictError, DomainError
from integrations.models import ExternalAPIKey, IdempotencyRecord

WINDOW = timedelta(hours=24)
IN_PROGRESS = 0  # response_status of a record whose request is still running


class IdempotencyKeyReusedError(DomainError):
    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "Esta Idempotency-Key ya se usó con otro cuerpo de solicitud."


class IdempotencyInProgressError(ConflictError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    default_message = "Una solicitud con esta Idempotency-Key todavía se está procesando."


@dataclass(frozen=True)
class Claim:
    """Either the record this request now owns (`record`), or the stored answer of the first one (`replay_*`)."""

    record: IdempotencyRecord | None = None
    replay_status: int = 0
    replay_body: object = None


def claim_key(api_key: ExternalAPIKey, key: str, *, method: str, path: str, fingerprint: str) -> Claim:
    """Claim `key` for this request, or return the first request's answer if it already ran with the same body.

    Raises IdempotencyKeyReusedError for the same key with another body, IdempotencyInProgressError while the
    first request is still running (a concurrent duplicate). Keys older than 24 h are forgotten first.
    """
    IdempotencyRecord.objects.filter(api_key=api_key, key=key, created_at__lt=timezone.now() - WINDOW).delete()
    try:
        with transaction.atomic():
            return Claim(
                record=IdempotencyRecord.objects.create(
                    api_key=api_key,
                    key=key,
                    method=method,
                    path=path[:500],
                    request_hash=fingerprint,
                    response_status=IN_PROGRESS,
                )
            )
    except IntegrityError:  # the unique (api_key, key) row exists: this is a repeat
        previous = IdempotencyRecord.objects.get(api_key=api_key, key=key)
    if previous.request_hash != fingerprint:
        raise IdempotencyKeyReusedError()
    if previous.response_status == IN_PROGRESS:
        raise IdempotencyInProgressError()
    return Claim(replay_status=previous.response_status, replay_body=previous.response_body)


def store_response(record: IdempotencyRecord, *, status: int, body) -> None:
    """Keep the answer for replays; a 5xx is not kept, so the client may retry with the same key."""
    if status >= 500:
        release_key(record)
        return
    record.response_status, record.response_body = status, body
    record.save(update_fields=["response_status", "response_body"])


def release_key(record: IdempotencyRecord) -> None:
    """Forget a claim whose request failed: the key must not stay pinned to an answer that never came."""
    record.delete()
