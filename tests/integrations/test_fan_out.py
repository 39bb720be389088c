"""Events fan out to the endpoints subscribed to them, after commit, one delivery per (event, endpoint)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from erp import events
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import endpoints, outbound
from tests.fixtures.integrations import STOCK_BAJO

pytestmark = pytest.mark.django_db

MOVEMENT = {
    "id": 1,
    "tipo": "entrada",
    "articulo": "ONU-1",
    "deposito": "CENTRAL",
    "cantidad": "5",
    "estado": "aprobado",
}


def test_only_active_endpoints_subscribed_to_the_event_get_a_delivery(endpoint, receiver, emit):
    WebhookEndpoint.objects.create(name="Otro", url=receiver.url, event_types=["movimiento_creado"])
    WebhookEndpoint.objects.create(name="Apagado", url=receiver.url, event_types=["stock_bajo"], active=False)
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == endpoint and delivery.status == DeliveryStatus.DELIVERED
    assert delivery.payload["data"] == STOCK_BAJO and delivery.attempts == 1


def test_a_rolled_back_transaction_creates_no_delivery(endpoint, receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("stock_bajo", STOCK_BAJO)
        raise RuntimeError("the business change failed")
    assert not WebhookDelivery.objects.exists()
    assert receiver.all == []


def test_deliveries_are_created_in_the_dispatch_transaction_and_sent_after_commit(endpoint, receiver):
    event = events.emit("movimiento_aprobado", MOVEMENT)
    events.dispatch_event(event.pk)  # no on_commit hooks run here: rows exist, nothing was sent yet
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    assert receiver.all == []


def test_the_webhook_id_is_the_same_on_every_attempt(endpoint, receiver, emit, run_on_commit):
    receiver.mode = "error"
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    receiver.mode = "ok"
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # time travel to the retry
    run_on_commit(outbound.sweep_deliveries)
    ids = [w.webhook_id for w in receiver.all]
    assert len(ids) == 2 and ids == [delivery.msg_id] * 2
    assert len({w.webhook_timestamp for w in receiver.all}) >= 1


def test_the_test_event_reaches_only_the_chosen_endpoint(endpoint, receiver, run_on_commit):
    other = WebhookEndpoint.objects.create(name="Otro", url=receiver.url, event_types=["webhook_test"])
    run_on_commit(endpoints.send_test_event, endpoint)
    assert receiver.wait_for(1)
    assert receiver.accepted[0].event_type == "webhook_test"
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]
    assert not other.deliveries.exists()


def test_endpoints_only_accept_event_types_from_the_catalog(db):
    endpoint = WebhookEndpoint(name="x", url="https://example.com/hook", event_types=["stock_bajo", "no_existe"])
    with pytest.raises(ValidationError, match="no_existe"):
        endpoint.full_clean()
    with pytest.raises(Exception, match="no_existe"):
        endpoints.create_endpoint(name="x", url="https://example.com/hook", event_types=["no_existe"])


def test_one_batch_with_a_failing_and_a_healthy_endpoint_records_each_outcome_on_its_own_delivery(
    endpoint, receiver, emit
):
    from tests.emulators.webhook_receiver import WebhookReceiver
    from tests.fixtures.integrations import WEBHOOK_SECRET

    with WebhookReceiver(secret=WEBHOOK_SECRET) as broken:
        broken.mode = "error"
        other = WebhookEndpoint.objects.create(
            name="Roto", url=broken.url, event_types=["stock_bajo"], secret=WEBHOOK_SECRET
        )
        emit("stock_bajo")  # both deliveries are claimed, POSTed concurrently and recorded in one batch
    good, bad = WebhookDelivery.objects.get(endpoint=endpoint), WebhookDelivery.objects.get(endpoint=other)
    assert good.status == DeliveryStatus.DELIVERED and good.last_status_code == 200
    assert bad.status == DeliveryStatus.PENDING and bad.last_error == "HTTP 500" and bad.next_attempt_at
    assert good.attempt_set.get().http_status == 200 and bad.attempt_set.get().http_status == 500
    endpoint.refresh_from_db()
    other.refresh_from_db()
    assert endpoint.failing_since is None and other.failing_since is not None
