"""Idempotency-Key for POSTs: the same key and body within 24 h replays the first response without acting again."""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from erp.exceptions import ConflictError, DomainError
from integrations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
WINDOW = timedelta(hours=24)
IN_PROGRESS = 0


class IdempotencyKeyReusedError(DomainError):
    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "Esta Idempotency-Key ya se usó con otro cuerpo de solicitud."


class IdempotencyInProgressError(ConflictError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    default_message = "Una solicitud con esta Idempotency-Key todavía se está procesando."


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(request, act):
    """Run `act()` once per (key, Idempotency-Key); replays carry the header `Idempotent-Replayed: true`."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return act()
    if len(key) > 255:
        raise DomainError("Idempotency-Key admite hasta 255 caracteres.", code="VALIDATION_ERROR")
    fingerprint = _fingerprint(request)
    IdempotencyRecord.objects.filter(api_key=request.auth, key=key, created_at__lt=timezone.now() - WINDOW).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                api_key=request.auth,
                key=key,
                method=request.method,
                path=request.path[:500],
                request_hash=fingerprint,
                response_status=IN_PROGRESS,
            )
    except IntegrityError:
        previous = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
        if previous.request_hash != fingerprint:
            raise IdempotencyKeyReusedError() from None
        if previous.response_status == IN_PROGRESS:
            raise IdempotencyInProgressError() from None
        return Response(
            previous.response_body, status=previous.response_status, headers={"Idempotent-Replayed": "true"}
        )
    try:
        response = act()
    except Exception:
        # A failed attempt must not pin the key: the client may retry with the same key.
        record.delete()
        raise
    if response.status_code >= 500:
        record.delete()
    else:
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
    return response
