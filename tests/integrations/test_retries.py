"""Failed deliveries retry on a database schedule (~1m, 5m, 30m, 2h, 5h, 10h, 10h) and end as fallido after 8."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import endpoints, outbound, schedule
from tests.fixtures.integrations import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_the_backoff_follows_the_schedule_with_jitter():
    expected = [60, 300, 1800, 7200, 18000, 36000, 36000]
    for attempts_done, base in enumerate(expected, start=1):
        delays = {schedule.next_delay(attempts_done).total_seconds() for _ in range(20)}
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert len(delays) > 1  # jittered
    assert schedule.next_delay(8) is None
    assert schedule.max_attempts() == 8


def test_a_failed_attempt_is_recorded_and_retried_about_a_minute_later(endpoint, receiver, emit):
    receiver.mode = "error"
    before = timezone.now()
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert timedelta(seconds=47) <= delivery.next_attempt_at - before <= timedelta(seconds=73)
    attempt = delivery.attempt_set.get()
    assert attempt.http_status == 500 and attempt.number == 1
    assert "receiver error" in attempt.response_body and attempt.response_ms >= 0


def test_a_delivery_that_never_succeeds_is_fallido_after_eight_attempts(endpoint, receiver, emit, run_on_commit):
    receiver.mode = "error"
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    gaps = []
    for _ in range(7):
        gaps.append((delivery.next_attempt_at - timezone.now()).total_seconds())
        # Time travel: make the retry due now instead of waiting, then let the sweeper hand it to a worker.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        run_on_commit(outbound.sweep_deliveries)
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 8
    assert delivery.next_attempt_at is None and delivery.attempt_set.count() == 8
    assert [round(g / 60) for g in gaps[:2]] in ([1, 5], [1, 4], [1, 6])
    assert gaps[-1] > 7 * 3600
    assert len(receiver.all) == 8


def test_a_retry_that_succeeds_marks_the_delivery_delivered(endpoint, receiver, emit, run_on_commit):
    receiver.mode = "error"
    emit("stock_bajo")
    receiver.mode = "ok"
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    run_on_commit(outbound.sweep_deliveries)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert delivery.delivered_at is not None and delivery.locked_until is None


def test_an_unreachable_receiver_is_a_retried_network_error(endpoint, receiver, emit):
    receiver.go_down()
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    attempt = delivery.attempt_set.get()
    assert attempt.http_status is None and "connection failed" in attempt.error
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at > timezone.now()


def test_only_the_first_kilobyte_of_the_response_is_kept(endpoint, receiver, emit, monkeypatch):
    from integrations.webhooks import delivery as delivery_module

    monkeypatch.setattr(delivery_module, "BODY_EXCERPT", 10)
    receiver.mode = "error"
    emit("stock_bajo")
    assert len(WebhookDelivery.objects.get().attempt_set.get().response_body) == 10


def test_a_redirect_is_not_followed_and_counts_as_a_failure(db, allow_private_targets, emit):
    from tests.emulators.erp import LoopbackHTTPService, Response

    class Redirector(LoopbackHTTPService):
        hits = 0

        def _respond(self, method, raw_path, headers, body):
            Redirector.hits += 1
            return Response(302, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data/"})

    with Redirector() as server:
        endpoints.create_endpoint(name="r", url=server.base_url + "/hook", event_types=["stock_bajo"])
        emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_status_code == 302 and delivery.status == DeliveryStatus.PENDING
    assert Redirector.hits == 1


def test_a_receiver_slower_than_the_timeout_is_a_timed_out_attempt(allow_private_targets):
    from integrations.webhooks.delivery import WebhookSender
    from tests.emulators.webhook_receiver import WebhookReceiver

    with WebhookReceiver(secret=WEBHOOK_SECRET, slow_seconds=2) as slow:
        slow.mode = "slow"
        result = WebhookSender(timeout=0.3).post(slow.url, b"{}", {})
    assert result.status_code is None and result.error == "timed out after 0.3s"
    assert not result.ok and result.failure == "timed out after 0.3s"
