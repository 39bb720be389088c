"""The sweeper re-enqueues deliveries that are due but that nobody holds, and leaves held ones alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from erp import events
from integrations.models import DeliveryStatus, IntegrationLog, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import outbound
from integrations.webhooks.delivery import DeliveryResult
from tests.fixtures.integrations import STOCK_BAJO

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost_delivery(endpoint):
    """A delivery whose send task never ran: committed, enqueued long ago, the message lost by the broker."""
    event = events.emit("stock_bajo", STOCK_BAJO)
    events.dispatch_event(event.pk)  # fan-out ran, but its on-commit enqueue was never executed
    long_ago = timezone.now() - timedelta(minutes=5)
    WebhookDelivery.objects.update(enqueued_at=long_ago, next_attempt_at=long_ago)
    return WebhookDelivery.objects.get()


def test_the_sweeper_re_enqueues_a_lost_delivery_and_it_arrives(lost_delivery, receiver, run_on_commit):
    assert run_on_commit(outbound.sweep_deliveries) == 1
    assert receiver.wait_for(1)
    assert receiver.accepted[0].webhook_id == lost_delivery.msg_id
    lost_delivery.refresh_from_db()
    assert lost_delivery.status == DeliveryStatus.DELIVERED


def test_a_delivery_held_by_a_live_sender_is_left_alone(lost_delivery, receiver, run_on_commit):
    WebhookDelivery.objects.update(locked_until=timezone.now() + timedelta(seconds=30))
    assert run_on_commit(outbound.sweep_deliveries) == 0
    assert receiver.all == []


def test_a_sender_that_died_mid_attempt_loses_its_lease_and_the_delivery_is_resent(
    lost_delivery, receiver, run_on_commit
):
    WebhookDelivery.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert run_on_commit(outbound.sweep_deliveries) == 1
    assert receiver.wait_for(1)


def test_a_freshly_enqueued_delivery_is_not_enqueued_twice(lost_delivery, run_on_commit):
    WebhookDelivery.objects.update(enqueued_at=timezone.now())
    assert run_on_commit(outbound.sweep_deliveries) == 0


def test_a_retry_whose_time_came_is_enqueued_even_if_enqueued_recently(lost_delivery, receiver, run_on_commit):
    now = timezone.now()
    WebhookDelivery.objects.update(enqueued_at=now - timedelta(seconds=10), next_attempt_at=now - timedelta(seconds=1))
    assert run_on_commit(outbound.sweep_deliveries) == 1


def test_a_second_send_task_for_the_same_delivery_sends_nothing(lost_delivery, receiver):
    assert outbound.attempt_delivery(lost_delivery.pk).ok
    assert outbound.attempt_delivery(lost_delivery.pk) is None  # a duplicate task finds it delivered
    assert len(receiver.all) == 1


def test_deliveries_of_disabled_endpoints_are_not_swept(lost_delivery, endpoint, run_on_commit):
    endpoint.active = False
    endpoint.save()
    assert run_on_commit(outbound.sweep_deliveries) == 0


def test_a_claimed_delivery_cannot_be_claimed_again_until_its_lease_expires(lost_delivery, settings):
    settings.WEBHOOK_SEND_LEASE_SECONDS = 60
    now = timezone.now()
    assert outbound.claim_delivery(lost_delivery.pk, now=now) is not None
    # A second task for the same row (a duplicate message, a sweeper re-enqueue) finds it held: no second send.
    assert outbound.claim_delivery(lost_delivery.pk, now=now + timedelta(seconds=59)) is None
    assert outbound.claim_delivery(lost_delivery.pk, now=now + timedelta(seconds=61)) is not None


def test_a_duplicate_send_task_posts_the_delivery_once(lost_delivery, receiver):
    outbound.attempt_delivery(lost_delivery.pk)
    outbound.attempt_delivery(lost_delivery.pk)
    lost_delivery.refresh_from_db()
    assert len(receiver.all) == 1
    assert lost_delivery.status == DeliveryStatus.DELIVERED and lost_delivery.attempts == 1


def test_a_delivery_of_an_endpoint_switched_off_meanwhile_is_discarded_unsent(lost_delivery, receiver):
    WebhookEndpoint.objects.update(active=False)  # e.g. fan-out raced with disable_endpoint
    assert outbound.attempt_delivery(lost_delivery.pk) is None
    lost_delivery.refresh_from_db()
    assert lost_delivery.status == DeliveryStatus.DISCARDED and lost_delivery.locked_until is None
    assert receiver.all == []


def test_an_attempt_on_a_delivery_discarded_while_in_flight_is_recorded_without_reviving_it(lost_delivery):
    claimed = outbound.claim_delivery(lost_delivery.pk)
    outbound.disable_endpoint(claimed.endpoint_id, reason="staff")  # while the POST is in flight
    outbound.record_attempt(claimed, DeliveryResult(500, 3, "boom"), attempted_at=timezone.now())
    lost_delivery.refresh_from_db()
    assert lost_delivery.status == DeliveryStatus.DISCARDED and lost_delivery.next_attempt_at is None
    assert lost_delivery.attempts == 1 and lost_delivery.locked_until is None
    assert lost_delivery.attempt_set.get().http_status == 500
    assert IntegrationLog.objects.filter(system="webhook", request_summary__msg_id=lost_delivery.msg_id).exists()
