"""Idempotency-Key for POSTs: the same key and body within 24 h replays the first response without acting again."""

import hashlib
import json

from rest_framework.response import Response

from erp.exceptions import DomainError
from integrations import idempotency

HEADER = "Idempotency-Key"


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
    claim = idempotency.claim_key(
        request.auth, key, method=request.method, path=request.path, fingerprint=_fingerprint(request)
    )
    if claim.record is None:
        return Response(claim.replay_body, status=claim.replay_status, headers={"Idempotent-Replayed": "true"})
    try:
        response = act()
    except Exception:
        idempotency.release_key(claim.record)
        raise
    idempotency.store_response(claim.record, status=response.status_code, body=response.data)
    return response
