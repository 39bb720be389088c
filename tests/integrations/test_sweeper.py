"""Due deliveries nobody holds are sent by the next send run: the sweeper asks for one, held rows are left alone."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from erp import events
from integrations.models import DeliveryStatus, IntegrationLog, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import endpoints, outbound
from integrations.webhooks.delivery import DeliveryResult
from tests.fixtures.integrations import STOCK_BAJO

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost_delivery(endpoint):
    """A delivery whose send task never ran: committed long ago, the broker lost the message."""
    event = events.emit("stock_bajo", STOCK_BAJO)
    events.dispatch_event(event.pk)  # fan-out ran, but its on-commit send request was never executed
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    return WebhookDelivery.objects.get()


def test_the_sweeper_asks_for_a_send_run_and_the_lost_delivery_arrives(lost_delivery, receiver, run_on_commit):
    assert run_on_commit(outbound.sweep_deliveries) == 1
    assert receiver.wait_for(1)
    assert receiver.accepted[0].webhook_id == lost_delivery.msg_id
    lost_delivery.refresh_from_db()
    assert lost_delivery.status == DeliveryStatus.DELIVERED


def test_a_flag_left_by_a_lost_task_holds_the_sweeper_back_only_until_it_expires(
    lost_delivery, receiver, run_on_commit
):
    cache.set(outbound.SENDER_KEY, outbound.QUEUED, 30)  # "a sender is queued", but the broker lost its task
    outbound.request_send()  # an emitter trusts the flag and enqueues nothing
    run_on_commit(outbound.sweep_deliveries)  # nor does the sweeper while the flag may stand for a live sender
    assert receiver.all == []
    cache.delete(outbound.SENDER_KEY)  # what its TTL (WEBHOOK_SENDER_FLAG_TTL_SECONDS) does
    run_on_commit(outbound.sweep_deliveries)
    assert receiver.wait_for(1)


def test_a_delivery_held_by_a_live_sender_is_left_alone(lost_delivery, receiver, run_on_commit):
    WebhookDelivery.objects.update(locked_until=timezone.now() + timedelta(seconds=30))
    assert run_on_commit(outbound.sweep_deliveries) == 0
    assert outbound.send_due_deliveries() == 0
    assert receiver.all == []


def test_a_sender_that_died_mid_attempt_loses_its_lease_and_the_delivery_is_resent(
    lost_delivery, receiver, run_on_commit
):
    WebhookDelivery.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert run_on_commit(outbound.sweep_deliveries) == 1
    assert receiver.wait_for(1)


def test_a_retry_not_yet_due_is_not_sent(lost_delivery, receiver, run_on_commit):
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + timedelta(seconds=30))
    assert run_on_commit(outbound.sweep_deliveries) == 0
    assert outbound.send_due_deliveries() == 0
    assert receiver.all == []


def test_a_second_send_task_for_the_same_delivery_sends_nothing(lost_delivery, receiver):
    assert outbound.attempt_delivery(lost_delivery.pk).ok
    assert outbound.attempt_delivery(lost_delivery.pk) is None  # a duplicate task finds it delivered
    assert outbound.send_due_deliveries() == 0
    assert len(receiver.all) == 1


def test_deliveries_of_disabled_endpoints_are_not_swept(lost_delivery, endpoint, run_on_commit):
    endpoint.active = False
    endpoint.save()
    assert run_on_commit(outbound.sweep_deliveries) == 0


def test_a_claimed_delivery_cannot_be_claimed_again_until_its_lease_expires(lost_delivery, settings):
    settings.WEBHOOK_SEND_LEASE_SECONDS = 60
    now = timezone.now()
    assert outbound.claim_due_deliveries(limit=10, now=now) == [lost_delivery]
    # A second sender (a duplicate message, a helper task) finds it held: no second send.
    assert outbound.claim_due_deliveries(limit=10, now=now + timedelta(seconds=59)) == []
    assert outbound.claim_due_deliveries(limit=10, now=now + timedelta(seconds=61)) == [lost_delivery]


def test_a_send_run_claims_in_batches_oldest_due_first(endpoint, receiver, settings):
    for _ in range(5):
        events.dispatch_event(events.emit("stock_bajo", STOCK_BAJO).pk)
    now = timezone.now()
    for age, delivery in enumerate(WebhookDelivery.objects.order_by("pk")):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now - timedelta(seconds=age))
    oldest = list(WebhookDelivery.objects.order_by("next_attempt_at").values_list("pk", flat=True))
    assert [d.pk for d in outbound.claim_due_deliveries(limit=2)] == oldest[:2]
    assert outbound.send_due_deliveries(batch_size=2) == 3  # the two claimed above are held, not resent
    assert len(receiver.all) == 3


def test_a_sender_that_runs_out_of_work_lowers_its_flag_so_the_next_event_asks_for_a_new_one(endpoint, receiver, emit):
    emit("stock_bajo")
    assert receiver.wait_for(1)
    assert cache.get(outbound.SENDER_KEY) is None
    emit("stock_bajo")  # no sender is running: this event's commit asks for one
    assert receiver.wait_for(2)


def test_an_event_committed_while_a_sender_runs_is_sent_by_that_sender(endpoint, receiver, emit):
    cache.set(outbound.SENDER_KEY, "1", 30)  # a sender is running
    emit("stock_bajo")  # its commit sees the flag and asks for nothing
    assert receiver.all == []
    assert outbound.send_due_deliveries() == 1  # the running sender's next claim
    assert receiver.wait_for(1) and cache.get(outbound.SENDER_KEY) is None


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
    [claimed] = outbound.claim_due_deliveries(limit=1)
    endpoints.disable_endpoint(claimed.endpoint_id, reason="staff")  # while the POST is in flight
    outbound.record_attempts([(claimed, DeliveryResult(500, 3, "boom"))], attempted_at=timezone.now())
    lost_delivery.refresh_from_db()
    assert lost_delivery.status == DeliveryStatus.DISCARDED and lost_delivery.next_attempt_at is None
    assert lost_delivery.attempts == 1 and lost_delivery.locked_until is None
    assert lost_delivery.attempt_set.get().http_status == 500
    assert IntegrationLog.objects.filter(system="webhook", request_summary__msg_id=lost_delivery.msg_id).exists()
