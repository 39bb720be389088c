"""Outbound webhook services: fan-out, one attempt, the retry schedule, endpoint health, sweeper, admin actions."""

import logging
import random
import time
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from erp import events
from erp.exceptions import ConflictError, DomainError
from erp.models import OutboxEvent
from integrations import logs
from integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import ssrf
from integrations.webhooks.delivery import DeliveryResult, get_sender
from integrations.webhooks.payloads import build_payload, serialize
from integrations.webhooks.signing import generate_secret, signature_headers

logger = logging.getLogger(__name__)

# Delays after attempt 1..7 (Svix's schedule from the 2nd retry on): 8 attempts over roughly a day.
RETRY_SCHEDULE_S = (60, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # ±20 %, so endpoints that failed together do not retry in lockstep


def _setting(name: str, default):
    # App settings are read at call time (tests and the benchmark change them without reloading anything).
    return getattr(settings, name, default)


def retry_schedule() -> tuple[float, ...]:
    return tuple(_setting("WEBHOOK_RETRY_SCHEDULE", RETRY_SCHEDULE_S))


def max_attempts() -> int:
    return len(retry_schedule()) + 1


def next_delay(attempts_done: int) -> timedelta | None:
    """Delay before the next attempt after `attempts_done` attempts; None once the schedule is exhausted."""
    schedule = retry_schedule()
    if attempts_done < 1 or attempts_done > len(schedule):
        return None
    base = schedule[attempts_done - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))


# ------------------------------------------------------------------ endpoints


def validate_event_types(event_types: list[str]) -> None:
    unknown = sorted(set(event_types) - set(events.CATALOG))
    if not event_types or unknown:
        raise DomainError(
            _("Eventos desconocidos: %(names)s.") % {"names": ", ".join(unknown)}
            if unknown
            else _("Elija al menos un tipo de evento."),
            code="INVALID_EVENT_TYPES",
        )


@transaction.atomic
def create_endpoint(*, name: str, url: str, event_types: list[str], description: str = "") -> WebhookEndpoint:
    """Create an endpoint with a fresh whsec_ secret; refuses unknown events and unsafe URLs (SSRF)."""
    validate_event_types(event_types)
    ssrf.check_url(url)
    return WebhookEndpoint.objects.create(name=name, url=url, event_types=list(event_types), description=description)


@transaction.atomic
def rotate_secret(endpoint: WebhookEndpoint, *, window_hours: float | None = None) -> WebhookEndpoint:
    """New secret now; the old one keeps signing (a second signature) until the window closes."""
    hours = window_hours if window_hours is not None else _setting("WEBHOOK_SECRET_ROTATION_HOURS", 24)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=hours)
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


def disable_endpoint(endpoint_id: int, *, reason: str, now=None) -> None:
    """Switch the endpoint off and discard its pending deliveries (staff can retry them after re-enabling)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
            active=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        if changed:
            WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.DISCARDED, next_attempt_at=None, last_error=reason
            )
            logger.warning("Webhook endpoint %s disabled: %s", endpoint_id, reason)


@transaction.atomic
def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=True, disabled_reason="", disabled_at=None, failing_since=None, updated_at=timezone.now()
    )


def send_test_event(endpoint: WebhookEndpoint) -> OutboxEvent:
    """Emit `webhook_test` addressed to this one endpoint (through the outbox, like any event)."""
    if not endpoint.active:
        raise ConflictError(_("El endpoint está desactivado."))
    with transaction.atomic():
        return events.emit(
            "webhook_test",
            {
                "mensaje": _("Evento de prueba de Emerald para %(name)s.") % {"name": endpoint.name},
                "endpoint_id": endpoint.pk,
            },
        )


# ------------------------------------------------------------------ fan-out


def _targets(event: OutboxEvent) -> list[WebhookEndpoint]:
    # only(): the secrets stay encrypted here; fan-out does not need them.
    active = WebhookEndpoint.objects.filter(active=True).only("id", "event_types")
    if event.type == "webhook_test" and event.payload.get("endpoint_id"):
        return list(active.filter(pk=event.payload["endpoint_id"]))
    # Filtered in Python: JSON "contains" is not available on SQLite, and endpoints are few.
    return [e for e in active if event.type in (e.event_types or [])]


def fan_out_event(event: OutboxEvent) -> list[WebhookDelivery]:
    """The erp.events subscriber: one delivery per subscribed endpoint, in the dispatch transaction."""
    now = timezone.now()
    body = build_payload(event.type, event.payload, event.occurred_at)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint.pk,
                event=event,
                # Derived from the event: the same (event, endpoint) always gets the same webhook-id.
                msg_id=f"msg_{uuid.uuid5(event.event_id, str(endpoint.pk)).hex}",
                event_type=event.type,
                payload=body,
                next_attempt_at=now,
                enqueued_at=now,
                created_at=now,
            )
            for endpoint in _targets(event)
        ]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue_delivery, delivery.pk))
    return deliveries


def enqueue_delivery(delivery_id: int) -> None:
    """Put one send task on the broker; if that fails the sweeper re-enqueues the row later."""
    from integrations.tasks import send_delivery_task

    try:
        send_delivery_task.delay(delivery_id)
    except Exception:
        logger.exception("Could not enqueue webhook delivery %s; the sweeper will retry", delivery_id)


# ------------------------------------------------------------------ one attempt


def claim_delivery(delivery_id: int, *, now=None) -> WebhookDelivery | None:
    """Take the send lease on a due, pending, unheld delivery; None if another sender has it or it is not due."""
    now = now or timezone.now()
    lease = timedelta(seconds=_setting("WEBHOOK_SEND_LEASE_SECONDS", 60))
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.active:
            delivery.status = DeliveryStatus.DISCARDED
            delivery.last_error = _("El endpoint está desactivado.")
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
            return None
        delivery.locked_until = now + lease
        delivery.save(update_fields=["locked_until"])
    return delivery


def attempt_delivery(delivery_id: int) -> DeliveryResult | None:
    """One signed POST of a due delivery, then its recorded outcome; None when there was nothing to do.

    The HTTP call happens outside any transaction; the lease (locked_until) keeps a second task off the row
    meanwhile and expires if this worker dies, so the sweeper can hand the delivery to another one.
    """
    started_at = timezone.now()
    delivery = claim_delivery(delivery_id, now=started_at)
    if delivery is None:
        return None
    body = serialize(delivery.payload)
    # A fresh timestamp per attempt (the id stays), in integer UTC seconds as the spec requires.
    headers = signature_headers(delivery.endpoint.signing_secrets(started_at), delivery.msg_id, int(time.time()), body)
    result = get_sender().post(delivery.endpoint.url, body, headers)
    record_attempt(delivery, result, attempted_at=started_at)
    return result


def record_attempt(delivery: WebhookDelivery, result: DeliveryResult, *, attempted_at) -> WebhookAttempt:
    """Store the attempt, move the delivery on (delivered / next retry / failed) and track endpoint health."""
    now = timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        row.attempts += 1
        attempt = WebhookAttempt.objects.create(
            delivery=row,
            number=row.attempts,
            attempted_at=attempted_at,
            http_status=result.status_code,
            response_ms=result.response_ms,
            response_body=result.response_body,
            error=result.error,
        )
        row.locked_until = None
        row.last_status_code = result.status_code
        row.last_error = result.error or ("" if result.ok else f"HTTP {result.status_code}")
        row.first_attempt_at = row.first_attempt_at or attempted_at
        if row.status == DeliveryStatus.PENDING:
            delay = None if result.ok or result.gone else next_delay(row.attempts)
            if result.ok:
                row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
            elif delay is None:
                row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                row.next_attempt_at = now + delay
        row.save()
        _track_endpoint_health(row.endpoint_id, result, now)
        logs.write(
            system="webhook",
            kind="entrega",
            ok=result.ok,
            request={
                "endpoint": row.endpoint_id,
                "msg_id": row.msg_id,
                "type": row.event_type,
                "attempt": row.attempts,
            },
            response={"status": result.status_code, "body": result.response_body[:512]},
            error=row.last_error,
            duration_ms=result.response_ms,
        )
    return attempt


def _track_endpoint_health(endpoint_id: int, result: DeliveryResult, now) -> None:
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint_id)
    if result.ok:
        # Conditional updates: the common case (already healthy) touches and locks no row.
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if result.gone:
        disable_endpoint(endpoint_id, reason=_("El receptor respondió 410 Gone: desactivado de inmediato."), now=now)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    hours = _setting("WEBHOOK_DISABLE_AFTER_HOURS", 24)
    if endpoints.filter(active=True, failing_since__lte=now - timedelta(hours=hours)).exists():
        disable_endpoint(
            endpoint_id,
            reason=_("Todas las entregas fallaron durante %(hours)s h (último error: %(error)s).")
            % {"hours": hours, "error": result.error or f"HTTP {result.status_code}"},
            now=now,
        )


# ------------------------------------------------------------------ sweeper and staff actions


def sweep_deliveries(*, now=None, limit: int = 1000) -> int:
    """Enqueue due, pending deliveries that nobody holds: retries whose time came, and tasks the broker lost
    or a killed worker dropped. Rows locked by another sweeper are skipped, never waited on."""
    now = now or timezone.now()
    requeue_cutoff = now - timedelta(seconds=_setting("WEBHOOK_REQUEUE_AFTER_SECONDS", 60))
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
            # Not re-enqueued while a recent enqueue may still be sitting in the queue, unless a retry is newer.
            .filter(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lt=requeue_cutoff)
                | Q(enqueued_at__lt=F("next_attempt_at"))
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
        for pk in ids:
            transaction.on_commit(partial(enqueue_delivery, pk))
    return len(ids)


@transaction.atomic
def retry_delivery_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """Make a pending, failed or discarded delivery due now (same webhook-id); delivered ones are replayed instead."""
    row = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if row.status == DeliveryStatus.DELIVERED:
        raise ConflictError(_("Ya fue entregada; use «reenviar» para mandarla otra vez."))
    if not row.endpoint.active:
        raise ConflictError(_("El endpoint está desactivado."))
    now = timezone.now()
    row.status, row.next_attempt_at, row.enqueued_at = DeliveryStatus.PENDING, now, now
    row.save(update_fields=["status", "next_attempt_at", "enqueued_at"])
    transaction.on_commit(partial(enqueue_delivery, row.pk))
    return row


@transaction.atomic
def replay_delivery(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same payload again as a new message (a new webhook-id, so receivers do not drop it)."""
    if not delivery.endpoint.active:
        raise ConflictError(_("El endpoint está desactivado."))
    now = timezone.now()
    copy = WebhookDelivery.objects.create(
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        replay_of=delivery,
        msg_id=f"msg_{uuid.uuid4().hex}",
        event_type=delivery.event_type,
        payload=delivery.payload,
        next_attempt_at=now,
        enqueued_at=now,
        created_at=now,
    )
    transaction.on_commit(partial(enqueue_delivery, copy.pk))
    return copy
