"""Endpoints that say 410 Gone, or fail every attempt for 24 h, are disabled and staff see why."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import endpoints

pytestmark = pytest.mark.django_db


def test_a_410_disables_the_endpoint_at_once(endpoint, receiver, emit):
    receiver.mode = "gone"
    emit("stock_bajo")
    endpoint.refresh_from_db()
    assert endpoint.active is False and "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == DeliveryStatus.FAILED
    emit("stock_bajo")  # nothing more is sent to a disabled endpoint
    assert len(receiver.all) == 1 and WebhookDelivery.objects.count() == 1


def test_an_endpoint_failing_every_attempt_for_24_hours_is_disabled_with_a_reason(endpoint, receiver, emit):
    receiver.mode = "error"
    emit("stock_bajo")
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is not None
    endpoint.failing_since = timezone.now() - timedelta(hours=24, minutes=1)
    endpoint.save()
    emit("stock_bajo")
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "24 h" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    # Its pending retries are discarded rather than sent to a dead receiver.
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DISCARDED}


def test_one_success_resets_the_failure_clock(endpoint, receiver, emit):
    receiver.mode = "error"
    emit("stock_bajo")
    receiver.mode = "ok"
    emit("stock_bajo")
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None


def test_re_enabling_clears_the_reason(endpoint, receiver, emit):
    receiver.mode = "gone"
    emit("stock_bajo")
    endpoint.refresh_from_db()
    endpoints.enable_endpoint(endpoint)
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.disabled_reason == "" and endpoint.failing_since is None
