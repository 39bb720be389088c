"""Outbound webhook services: fan-out, one attempt, the retry schedule, endpoint health, sweeper, admin actions."""

import logging
import random
import time
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
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
    """Take the send lease on a due, pending, unheld delivery; None if another sender has it or it is not due.

    The claim is one conditional UPDATE on the delivery row alone, committed at once: of two senders racing
    for the row, PostgreSQL re-checks the WHERE for the second after the first commits, so it matches nothing.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=_setting("WEBHOOK_SEND_LEASE_SECONDS", 60))
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.active:
        # Fanned out while the endpoint was being disabled: we hold the lease, so nobody else writes the row.
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.DISCARDED,
            last_error=_("El endpoint está desactivado."),
            next_attempt_at=None,
            locked_until=None,
        )
        return None
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
    """Store the attempt, move the delivery on (delivered / next retry / failed) and track endpoint health.

    `delivery` is the row as claimed: while the lease is held only this sender changes its attempts, so the
    number is known without re-reading the row. Staff or disable_endpoint may still have changed its status;
    the update is therefore conditional on `pendiente`, and an attempt on a row that left it is only recorded.
    """
    now = timezone.now()
    number = delivery.attempts + 1
    error = result.error or ("" if result.ok else f"HTTP {result.status_code}")
    if result.ok:
        outcome = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    else:
        delay = None if result.gone else next_delay(number)
        outcome = (
            {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
            if delay is None
            else {"next_attempt_at": now + delay}
        )
    log = _log_entry(
        system="webhook",
        kind="entrega",
        ok=result.ok,
        request={
            "endpoint": delivery.endpoint_id,
            "msg_id": delivery.msg_id,
            "type": delivery.event_type,
            "attempt": number,
        },
        response={"status": result.status_code, "body": result.response_body[:512]},
        error=error,
        duration_ms=result.response_ms,
    )
    common = {
        "attempts": F("attempts") + 1,
        "locked_until": None,
        "last_status_code": result.status_code,
        "last_error": error,
        "first_attempt_at": Coalesce(F("first_attempt_at"), Value(attempted_at)),
    }
    with transaction.atomic():
        rows = WebhookDelivery.objects.filter(pk=delivery.pk)
        if not rows.filter(status=DeliveryStatus.PENDING).update(**common, **outcome):
            rows.update(**common)  # discarded or retried by staff meanwhile: keep their status
        attempt = WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            number=number,
            attempted_at=attempted_at,
            http_status=result.status_code,
            response_ms=result.response_ms,
            response_body=result.response_body,
            error=result.error,
        )
        _track_endpoint_health(delivery.endpoint, result, now)
        if log is not None:
            # Same transaction, no savepoint: the audit row commits with the attempt it describes.
            log.save(force_insert=True)
    return attempt


def _log_entry(**fields):
    # Built (and redacted) before the record's transaction: a failure here costs the log line, never the record.
    try:
        return logs.entry(**fields)
    except Exception:
        logger.exception("Could not build the integration log entry for webhook %s", fields["request"]["msg_id"])
        return None


def _track_endpoint_health(endpoint: WebhookEndpoint, result: DeliveryResult, now) -> None:
    # `endpoint` was read at claim time and is only used to skip the 24 h check while it cannot be due;
    # every write is conditional on the current row.
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if result.ok:
        # Conditional update: the common case (already healthy) touches and locks no row.
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    if result.gone:
        disable_endpoint(endpoint.pk, reason=_("El receptor respondió 410 Gone: desactivado de inmediato."), now=now)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    hours = _setting("WEBHOOK_DISABLE_AFTER_HOURS", 24)
    cutoff = now - timedelta(hours=hours)
    if endpoint.failing_since is None or endpoint.failing_since > cutoff:
        return  # not failing for long enough at claim time; a success since then only makes it shorter
    if endpoints.filter(active=True, failing_since__lte=cutoff).exists():  # still failing since then?
        disable_endpoint(
            endpoint.pk,
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
