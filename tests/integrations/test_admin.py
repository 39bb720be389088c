"""Staff manage webhooks in the admin: secrets shown, actions per object, coloured statuses, a real chart."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import DeliveryStatus, IntegrationLog, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def act(admin_client, model, action, ids):
    return admin_client.post(
        f"/admin/integrations/{model}/", {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True
    )


def test_creating_an_endpoint_in_the_admin_generates_and_shows_its_secret(admin_client, allow_private_targets):
    response = admin_client.post(
        "/admin/integrations/webhookendpoint/add/",
        {
            "name": "Compras",
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["stock_bajo", "alerta_generada"],
            "description": "",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.event_types == ["stock_bajo", "alerta_generada"]
    page = admin_client.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page


def test_the_send_test_event_action_delivers_a_webhook_test(
    admin_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "webhookendpoint", "send_test_event", [endpoint.pk])
    assert "evento de prueba encolado" in response.content.decode()
    assert receiver.wait_for(1) and receiver.accepted[0].event_type == "webhook_test"


def test_the_rotate_action_keeps_the_old_secret_for_a_window(admin_client, endpoint):
    old = endpoint.secret
    act(admin_client, "webhookendpoint", "rotate_secret", [endpoint.pk])
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.previous_secret_expires_at > timezone.now() + timedelta(hours=23)


def test_the_endpoint_page_lists_recent_deliveries_with_status_colours(admin_client, endpoint, receiver, emit):
    receiver.mode = "error"
    emit("stock_bajo")
    page = admin_client.get(f"/admin/integrations/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert WebhookDelivery.objects.get().msg_id in page and "status-pendiente" in page


def test_retry_now_and_replay_actions(admin_client, endpoint, receiver, emit, django_capture_on_commit_callbacks):
    receiver.mode = "error"
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    receiver.mode = "ok"
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "webhookdelivery", "retry_now", [delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = act(admin_client, "webhookdelivery", "retry_now", [delivery.pk])
    assert "reenviar" in response.content.decode()  # delivered ones are refused, with the reason
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "webhookdelivery", "replay", [delivery.pk])
    replay = WebhookDelivery.objects.get(replay_of=delivery)
    assert replay.msg_id != delivery.msg_id and replay.status == DeliveryStatus.DELIVERED
    assert receiver.unique_ids() == {delivery.msg_id, replay.msg_id}


def test_delivery_list_filters_and_log_pages_open(admin_client, endpoint, receiver, emit):
    emit("stock_bajo")
    for url in (
        "/admin/integrations/webhookdelivery/?status__exact=entregado&event_type=stock_bajo",
        f"/admin/integrations/webhookdelivery/{WebhookDelivery.objects.get().pk}/change/",
        "/admin/integrations/integrationlog/",
        "/admin/integrations/inboundwebhooksource/add/",
        "/admin/integrations/inboundevent/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_the_dashboard_draws_a_14_day_chart_and_shows_pending_and_failed_deliveries(
    admin_client, endpoint, receiver, emit
):
    now = timezone.now()
    for days_ago, status in ((0, "ok"), (0, "error"), (3, "ok"), (20, "ok")):
        IntegrationLog.objects.create(system="erp", kind="k", status=status, created_at=now - timedelta(days=days_ago))
    receiver.mode = "error"
    emit("stock_bajo")
    page = admin_client.get("/admin/").content.decode()
    assert 'id="panel-integrations"' in page and '<svg id="integrations-chart"' in page
    assert page.count('class="day"') == 14
    assert page.count('<rect class="error"') == 14
    assert 'id="deliveries-pending">1<' in page and 'id="deliveries-failed">0<' in page
