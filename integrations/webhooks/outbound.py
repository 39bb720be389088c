"""Outbound webhook services: fan-out, batched sending (claim, concurrent POSTs, one recording transaction),
the sweeper and the staff actions on deliveries."""

import logging
import math
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from erp.exceptions import ConflictError
from erp.models import OutboxEvent
from integrations import logs
from integrations.models import DeliveryStatus, IntegrationLog, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import endpoints
from integrations.webhooks.delivery import DeliveryResult, OutgoingWebhook, get_sender
from integrations.webhooks.payloads import build_payload, serialize
from integrations.webhooks.schedule import next_delay
from integrations.webhooks.signing import signature_headers

logger = logging.getLogger(__name__)

# Up while a send task runs or waits on the broker: emitters then ask for nothing, that sender sees their rows.
SENDER_KEY = "webhooks:sender"
QUEUED = "queued"  # the flag's value until the task it stands for starts and puts its own token there
HELPER_KEY = "webhooks:helper-requested"
BATCH_SIZE = 50  # deliveries claimed, POSTed concurrently and recorded together
SEND_BUDGET_S = 20.0  # a send task hands over to a fresh one after this long, under its soft time limit
SEND_WINDOW_S = 0.05  # shortest cycle of a sender whose batches come back short (rows gather meanwhile)
SEND_LINGER_S = 0.2  # how long an idle sender keeps looking for new rows before it stops


def _setting(name: str, default):
    # App settings are read at call time (tests and the benchmark change them without reloading anything).
    return getattr(settings, name, default)


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
                created_at=now,
            )
            for endpoint in _targets(event)
        ]
    )
    if deliveries:
        transaction.on_commit(request_send)
    return deliveries


def request_send() -> None:
    """Make sure a sender runs: put a send task on the broker unless the flag says one is running or queued.

    If enqueueing fails the flag is dropped again, and the sweeper asks later.
    """
    if cache.add(SENDER_KEY, QUEUED, timeout=_flag_ttl()):
        _enqueue_send_task()


def request_helper() -> None:
    """A helper send task for a backlog, whatever the flag says; at most one request per second."""
    if cache.add(HELPER_KEY, "1", timeout=1):
        _enqueue_send_task(helper=True)


def _flag_ttl() -> int:
    # A live sender refreshes it every third of this; a dead one's flag is gone within this long.
    return _setting("WEBHOOK_SENDER_FLAG_TTL_SECONDS", 30)


def _enqueue_send_task(*, helper: bool = False) -> None:
    from integrations.tasks import send_due_deliveries_task

    try:
        send_due_deliveries_task.delay(helper=helper)
    except Exception:
        if not helper:
            cache.delete(SENDER_KEY)
        logger.exception("Could not enqueue a webhook send task; the sweeper will ask again")


def _hand_over() -> None:
    # A fresh primary task takes over; the flag stays up (as "queued") until it starts.
    cache.set(SENDER_KEY, QUEUED, timeout=_flag_ttl())
    _enqueue_send_task()


def _release_flag(token: str) -> None:
    # Only the primary whose token is up lowers the flag: a run that outlived its turn must not lower the
    # flag of its successor, or every emitter would start yet another sender.
    if cache.get(SENDER_KEY) == token:
        cache.delete(SENDER_KEY)


# ------------------------------------------------------------------ sending


def claim_due_deliveries(*, limit: int, ids: list[int] | None = None, now=None) -> list[WebhookDelivery]:
    """Take the send lease on up to `limit` due, pending, unheld deliveries, oldest due first.

    Rows another sender is claiming are skipped, never waited on (SKIP LOCKED), and the UPDATE repeats the
    conditions, so of two racing senders only one gets a row. The lease (locked_until) keeps others off it
    while its POST is in flight and expires if this worker dies, so the sweeper can hand it to another one.
    """
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=_setting("WEBHOOK_SEND_LEASE_SECONDS", 60))
    due = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    if ids is not None:
        due = due.filter(pk__in=ids)
    with transaction.atomic():
        batch = list(due.select_for_update(skip_locked=True).order_by("next_attempt_at", "pk")[:limit])
        claimed = due.filter(pk__in=[d.pk for d in batch]).update(locked_until=lease_until) if batch else 0
    if claimed < len(batch):
        # Without row locks (SQLite) a racing claimer may have taken some: keep only the rows holding our lease.
        mine = set(
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch], locked_until=lease_until).values_list(
                "pk", flat=True
            )
        )
        batch = [d for d in batch if d.pk in mine]
    for delivery in batch:
        delivery.locked_until = lease_until
    return batch


def send_due_deliveries(*, batch_size: int | None = None, background: bool = False, helper: bool = False) -> int:
    """Send due deliveries a batch at a time until none is left; returns the attempts made.

    The primary sender (one at a time: its token is the flag) runs until the queue is empty. In a worker
    (`background`) it paces itself: a batch that came back short is followed by a pause that fills its cycle up
    to WEBHOOK_SEND_WINDOW_SECONDS, so rows gather into batches instead of costing a claim and a commit each;
    idle, it keeps looking for WEBHOOK_SEND_LINGER_SECONDS before it stops; it asks for a helper whenever a
    batch comes back full and hands over to a fresh task when its budget is spent. A `helper` drains full
    batches next to it, leaves the flag alone and stops at the first short batch.
    """
    size = batch_size or _setting("WEBHOOK_BATCH_SIZE", BATCH_SIZE)
    window = _setting("WEBHOOK_SEND_WINDOW_SECONDS", SEND_WINDOW_S) if background else 0
    linger = _setting("WEBHOOK_SEND_LINGER_SECONDS", SEND_LINGER_S) if background else 0
    deadline = time.monotonic() + _setting("WEBHOOK_SEND_BUDGET_SECONDS", SEND_BUDGET_S)
    token, flag_set_at = uuid.uuid4().hex, -math.inf
    attempts, idle_since = 0, None
    while True:
        cycle_started = time.monotonic()
        if not helper and cycle_started - flag_set_at > _flag_ttl() / 3:
            cache.set(SENDER_KEY, token, timeout=_flag_ttl())  # this run is the sender: emitters need not ask
            flag_set_at = cycle_started
        batch = claim_due_deliveries(limit=size)
        if helper and len(batch) < size:
            return attempts + (len(send_batch(batch)) if batch else 0)
        if not batch:
            idle_since = idle_since or cycle_started
            if cycle_started - idle_since < linger:
                time.sleep(window)
                continue
            # Lower the flag, then look once more: a row committed just before, whose emitter saw the flag and
            # asked for nothing, is claimed here; one committed after it gets a task of its own.
            _release_flag(token)
            flag_set_at = -math.inf
            if not (batch := claim_due_deliveries(limit=size)):
                return attempts
        idle_since = None
        if background and len(batch) == size:
            request_helper()
        attempts += len(send_batch(batch))
        if background and time.monotonic() > deadline:  # inline (eager) runs drain everything: nobody else would
            if not helper:
                _hand_over()
            return attempts
        if len(batch) < size:
            time.sleep(max(0.0, window - (time.monotonic() - cycle_started)))


def attempt_delivery(delivery_id: int) -> DeliveryResult | None:
    """One attempt of one delivery if it is due and nobody holds it; None when there was nothing to send."""
    batch = claim_due_deliveries(limit=1, ids=[delivery_id])
    results = send_batch(batch) if batch else []
    return results[0] if results else None


def send_batch(batch: list[WebhookDelivery]) -> list[DeliveryResult]:
    """POST a claimed batch concurrently and record every outcome in one transaction; returns the results of
    the deliveries actually sent (those of endpoints switched off meanwhile are discarded unsent)."""
    started_at = timezone.now()
    by_id = WebhookEndpoint.objects.in_bulk({d.endpoint_id for d in batch})  # each secret decrypted once
    live, switched_off = [], []
    for delivery in batch:
        endpoint = by_id.get(delivery.endpoint_id)
        (live if endpoint is not None and endpoint.active else switched_off).append(delivery)
    _discard_unsent(switched_off)
    timestamp = int(time.time())  # fresh per attempt (the id stays), integer UTC seconds as the spec requires
    messages = []
    for delivery in live:
        delivery.endpoint = by_id[delivery.endpoint_id]
        body = serialize(delivery.payload)
        secrets = delivery.endpoint.signing_secrets(started_at)
        messages.append(
            OutgoingWebhook(delivery.endpoint.url, body, signature_headers(secrets, delivery.msg_id, timestamp, body))
        )
    results = get_sender().post_all(messages)
    if live:
        record_attempts(list(zip(live, results, strict=True)), attempted_at=started_at)
    return results


def _discard_unsent(deliveries: list[WebhookDelivery]) -> None:
    # Fanned out while the endpoint was being disabled: we hold the lease, so nobody else writes these rows.
    if deliveries:
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries], status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.DISCARDED,
            last_error=_("El endpoint está desactivado."),
            next_attempt_at=None,
            locked_until=None,
        )


def record_attempts(outcomes: list[tuple[WebhookDelivery, DeliveryResult]], *, attempted_at) -> list[WebhookAttempt]:
    """Store a batch of attempts, move each delivery on (delivered / next retry / failed), track endpoint health.

    The deliveries are the rows as claimed: while the lease is held only this sender changes their attempts, so
    the numbers are known without re-reading them. Staff or disable_endpoint may still have changed a status
    meanwhile, so every move is conditional on `pendiente`; a row that left it keeps its status and only gets
    the attempt recorded. Rows that end alike share one UPDATE (a batch is mostly one or two groups), and their
    retry jitter is drawn per group: deliveries that failed together in a batch come due together in a batch.
    """
    now = timezone.now()
    groups: dict[tuple[int, DeliveryResult], list[int]] = defaultdict(list)  # alike: same number and result
    attempts, log_rows = [], []
    for delivery, result in outcomes:
        number = delivery.attempts + 1
        groups[(number, replace(result, response_ms=0, response_body=""))].append(delivery.pk)
        attempts.append(
            WebhookAttempt(
                delivery_id=delivery.pk,
                number=number,
                attempted_at=attempted_at,
                http_status=result.status_code,
                response_ms=result.response_ms,
                response_body=result.response_body,
                error=result.error,
            )
        )
        log_rows += _log_entries(delivery, result, number)
    with transaction.atomic():
        for (number, result), pks in groups.items():
            recorded = {
                "attempts": number,
                "locked_until": None,
                "last_status_code": result.status_code,
                "last_error": result.failure,
                "first_attempt_at": Coalesce(F("first_attempt_at"), Value(attempted_at)),
            }
            rows = WebhookDelivery.objects.filter(pk__in=pks)
            moved = rows.filter(status=DeliveryStatus.PENDING).update(**recorded, **_outcome(result, number, now))
            if moved < len(pks):  # discarded or retried by staff meanwhile: keep their status
                rows.filter(attempts=number - 1).update(**recorded)  # the lease holder alone moves `attempts`
        created = WebhookAttempt.objects.bulk_create(attempts)
        # Same transaction: the audit rows commit with the attempts they describe.
        IntegrationLog.objects.bulk_create(log_rows)
    # Endpoint health after commit, one short statement each: inside the recording transaction the endpoint
    # row's lock would serialise every concurrent batch of that endpoint (and deadlock two of them).
    by_endpoint = defaultdict(list)
    for delivery, result in outcomes:
        by_endpoint[delivery.endpoint_id].append((delivery.endpoint, result))
    for _pk, pairs in sorted(by_endpoint.items()):
        endpoints.track_health(pairs[0][0], [result for _endpoint, result in pairs], now=now)
    return created


def _outcome(result: DeliveryResult, number: int, now) -> dict:
    if result.ok:
        return {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    delay = None if result.gone else next_delay(number)
    if delay is None:
        return {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    return {"next_attempt_at": now + delay}


def _log_entries(delivery: WebhookDelivery, result: DeliveryResult, number: int) -> list[IntegrationLog]:
    # Built (and redacted) before the record's transaction: a failure here costs the log line, never the record.
    try:
        return [
            logs.entry(
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
                error=result.failure,
                duration_ms=result.response_ms,
            )
        ]
    except Exception:
        logger.exception("Could not build the integration log entry for webhook %s", delivery.msg_id)
        return []


# ------------------------------------------------------------------ sweeper and staff actions


def sweep_deliveries(*, now=None) -> int:
    """Ask for a sender if due, pending deliveries wait that nobody holds (retries whose time came, rows of a
    killed worker once their lease expired); returns how many wait, counted up to a batch.

    While the flag is up its sender takes due rows itself. A flag left by a dead sender or a task the broker
    lost expires after WEBHOOK_SENDER_FLAG_TTL_SECONDS, and the next sweep asks again.
    """
    now = now or timezone.now()
    waiting = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__active=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values("pk")[: _setting("WEBHOOK_BATCH_SIZE", BATCH_SIZE)]
        .count()
    )
    if waiting:
        transaction.on_commit(request_send)
    return waiting


@transaction.atomic
def retry_delivery_now(delivery: WebhookDelivery) -> WebhookDelivery:
    """Make a pending, failed or discarded delivery due now (same webhook-id); delivered ones are replayed instead."""
    row = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if row.status == DeliveryStatus.DELIVERED:
        raise ConflictError(_("Ya fue entregada; use «reenviar» para mandarla otra vez."))
    if not row.endpoint.active:
        raise ConflictError(_("El endpoint está desactivado."))
    row.status, row.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    row.save(update_fields=["status", "next_attempt_at"])
    transaction.on_commit(request_send)
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
        created_at=now,
    )
    transaction.on_commit(request_send)
    return copy
