"""A send run drains due deliveries in batches, gets help for a backlog, hands over when its time is up, and
leaves the sender flag down (or to its successor) when it stops."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from erp import events
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import outbound
from tests.fixtures.integrations import STOCK_BAJO

pytestmark = pytest.mark.django_db


@pytest.fixture
def backlog(endpoint, settings):
    """Seven deliveries committed and fanned out while no sender ran, all due now; batches of two."""
    settings.WEBHOOK_BATCH_SIZE = 2
    settings.WEBHOOK_SEND_WINDOW_SECONDS = 0
    settings.WEBHOOK_SEND_LINGER_SECONDS = 0
    for _ in range(7):
        events.dispatch_event(events.emit("stock_bajo", STOCK_BAJO).pk)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    return set(WebhookDelivery.objects.values_list("msg_id", flat=True))


def test_a_worker_run_with_a_backlog_gets_helpers_and_every_delivery_goes_out_once(backlog, receiver):
    outbound.send_due_deliveries(background=True)  # full batches ask for helpers (run inline here, eagerly)
    assert receiver.wait_for(7)
    assert receiver.unique_ids() == backlog and len(receiver.all) == 7
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert cache.get(outbound.SENDER_KEY) is None


def test_a_run_whose_time_is_up_hands_over_and_the_next_one_finishes(backlog, receiver, settings):
    settings.WEBHOOK_SEND_BUDGET_SECONDS = 0  # spent after the first batch
    outbound.send_due_deliveries(background=True)
    assert receiver.wait_for(7)
    assert receiver.unique_ids() == backlog and len(receiver.all) == 7
    assert cache.get(outbound.SENDER_KEY) is None


def test_a_helper_stops_at_its_first_short_batch_and_leaves_the_flag_alone(backlog, receiver):
    cache.set(outbound.SENDER_KEY, "the-primary", 30)
    assert outbound.send_due_deliveries(helper=True) == 7  # three full batches of two, then one short
    assert cache.get(outbound.SENDER_KEY) == "the-primary"


def test_a_sender_never_lowers_the_flag_of_the_sender_that_followed_it(backlog, receiver, monkeypatch):
    claim = outbound.claim_due_deliveries

    def successor_takes_over(**kwargs):
        cache.set(outbound.SENDER_KEY, "successor", 30)  # e.g. a fresh task started while this one still ran
        return claim(**kwargs)

    monkeypatch.setattr(outbound, "claim_due_deliveries", successor_takes_over)
    outbound.send_due_deliveries()
    assert len(receiver.all) == 7
    assert cache.get(outbound.SENDER_KEY) == "successor"
