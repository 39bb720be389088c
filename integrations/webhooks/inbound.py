"""Inbound webhooks: signature verification (standard / hex-sha256), storage with replay protection, handler registry.

Handlers: ``register_handler("erp.articulos", fn)`` where ``fn(event: InboundEvent) -> None`` runs in a
Celery task after the push was stored; it owns its transactions (inventory services are durable atomics)
and must be idempotent, since a redelivered task may call it again after a crash.
"""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook, WebhookVerificationError

from erp.exceptions import DomainError, NotFoundError
from integrations import logs
from integrations.models import InboundEvent, InboundScheme, InboundStatus, InboundWebhookSource
from integrations.webhooks.signing import PREFIX

logger = logging.getLogger(__name__)

HEX_HEADER = "x-signature"
ID_HEADERS = ("webhook-id", "x-webhook-id", "x-request-id")

Handler = Callable[[InboundEvent], None]
_handlers: dict[str, Handler] = {}


class InvalidSignatureError(DomainError):
    code = "INVALID_SIGNATURE"
    status = 401


class SourceInactiveError(DomainError):
    code = "SOURCE_INACTIVE"
    status = 403


def max_body_bytes() -> int:
    """Inbound bodies are capped at 1 MB (or DATA_UPLOAD_MAX_MEMORY_SIZE if lower)."""
    return min(1024 * 1024, int(getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or 1024 * 1024))


def register_handler(event_type: str, handler: Handler) -> None:
    """Route verified pushes whose payload "type" is `event_type` to `handler` (last registration wins)."""
    _handlers[event_type] = handler


def unregister_handler(event_type: str) -> None:
    _handlers.pop(event_type, None)


def get_handler(event_type: str) -> Handler | None:
    return _handlers.get(event_type)


# ------------------------------------------------------------------ verification


def verify_standard(secret: str, body: bytes, headers: dict[str, str]) -> str:
    """Standard Webhooks check (constant time, ±5 min tolerance) with the reference library; returns webhook-id."""
    # A whsec_ secret is base64 key material; any other secret is used as its raw bytes.
    key = secret if secret.startswith(PREFIX) else secret.encode()
    try:
        Webhook(key).verify(body, headers)
    # standardwebhooks 1.1 raises a bare ValueError (or binascii.Error, a ValueError) on malformed headers.
    except (WebhookVerificationError, ValueError) as exc:
        raise InvalidSignatureError(_("Firma inválida: %(reason)s.") % {"reason": exc}) from exc
    return headers["webhook-id"]


def verify_hex(secret: str, body: bytes, headers: dict[str, str]) -> str:
    """``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the secret's UTF-8 bytes
    (the spec's validar_webhook); returns the sender's id header or, if none, a hash of the body."""
    offered = headers.get(HEX_HEADER, "").strip()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not offered or not hmac.compare_digest(expected.encode(), offered.lower().encode()):
        raise InvalidSignatureError(_("Firma inválida o ausente en X-Signature."))
    for name in ID_HEADERS:
        if headers.get(name):
            return headers[name][:128]
    # Without an id header, an identical body counts as the same push.
    return "sha256:" + hashlib.sha256(body).hexdigest()


VERIFIERS = {InboundScheme.STANDARD: verify_standard, InboundScheme.HEX_SHA256: verify_hex}


# ------------------------------------------------------------------ receive and process


def receive_inbound(slug: str, body: bytes, headers: dict[str, str]) -> tuple[InboundEvent, bool]:
    """Verify and store one push; returns (event, created). A replayed webhook id returns created=False."""
    started = time.monotonic()
    headers = {k.lower(): v for k, v in headers.items()}
    source = InboundWebhookSource.objects.filter(slug=slug).first()
    if source is None:
        raise NotFoundError(_("Origen de webhooks desconocido."))
    try:
        if not source.active:
            raise SourceInactiveError(_("El origen de webhooks está desactivado."))
        webhook_id = VERIFIERS[source.scheme](source.secret, body, headers)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise DomainError(_("El cuerpo no es JSON válido."), code="MALFORMED_REQUEST") from exc
        event, created = _store(source, webhook_id, headers, payload)
    except DomainError as exc:
        _log(source, ok=False, webhook_id=headers.get("webhook-id", ""), error=exc.message, started=started)
        raise
    _log(source, ok=True, webhook_id=webhook_id, error="" if created else "replay ignored", started=started)
    return event, created


def _store(source, webhook_id: str, headers: dict, payload) -> tuple[InboundEvent, bool]:
    event_type = payload.get("type", "") if isinstance(payload, dict) else ""
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                source=source,
                webhook_id=webhook_id,
                event_type=str(event_type)[:100],
                headers=logs.redact(headers),
                payload=payload,
            )
            transaction.on_commit(partial(_enqueue, event.pk))
    except IntegrityError:
        # The unique (source, webhook_id) constraint decides replays, also between two concurrent requests.
        return InboundEvent.objects.get(source=source, webhook_id=webhook_id), False
    return event, True


def _enqueue(event_id: int) -> None:
    from integrations.tasks import process_inbound_event_task

    try:
        process_inbound_event_task.delay(event_id)
    except Exception:
        logger.exception("Could not enqueue inbound webhook %s; reprocess it from the admin", event_id)


def _log(source, *, ok: bool, webhook_id: str, error: str, started: float) -> None:
    logs.write(
        system=f"inbound:{source.slug}",
        kind="webhook entrante",
        ok=ok,
        request={"source": source.slug, "webhook_id": webhook_id},
        error=error,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def process_inbound_event(event_id: int) -> str:
    """Run the registered handler once for a stored push; returns the final status."""
    claimed = InboundEvent.objects.filter(pk=event_id, status=InboundStatus.RECEIVED).update(
        status=InboundStatus.PROCESSING
    )
    if not claimed:  # already processed, or another worker has it
        return InboundEvent.objects.filter(pk=event_id).values_list("status", flat=True).first() or ""
    event = InboundEvent.objects.select_related("source").get(pk=event_id)
    handler = get_handler(event.event_type)
    status, error = InboundStatus.PROCESSED, ""
    if handler is None:
        status = InboundStatus.IGNORED
    else:
        try:
            handler(event)
        except Exception as exc:  # the handler's failure is recorded on the event, visible in the admin
            logger.exception("Inbound webhook handler for %s failed on event %s", event.event_type, event_id)
            status, error = InboundStatus.ERROR, logs.redact_text(f"{type(exc).__name__}: {exc}")
    InboundEvent.objects.filter(pk=event_id).update(status=status, error=error, processed_at=timezone.now())
    return status


@transaction.atomic
def reprocess_inbound_event(event: InboundEvent) -> None:
    """Staff action: put a failed or ignored push back in the queue."""
    InboundEvent.objects.filter(pk=event.pk).exclude(status=InboundStatus.PROCESSING).update(
        status=InboundStatus.RECEIVED, error="", processed_at=None
    )
    transaction.on_commit(partial(_enqueue, event.pk))
