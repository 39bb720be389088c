"""Webhook URLs that point inside the network are refused when saved and again when sent."""

import socket

import pytest

from integrations.admin.webhooks import WebhookEndpointForm
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import endpoints, ssrf

pytestmark = pytest.mark.django_db

FAKE_DNS = {"intranet.example": "10.0.0.5", "cgnat.example": "100.64.1.1", "public.example": "93.184.216.34"}


@pytest.fixture(autouse=True)
def strict(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in FAKE_DNS:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (FAKE_DNS[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "https://intranet.example/hook",
        "https://cgnat.example/hook",
        "ftp://public.example/hook",
        "https://user:pass@public.example/hook",
        "https://public.example:99999/hook",
    ],
)
def test_unsafe_urls_are_refused_at_save_time(url):
    with pytest.raises(ssrf.UnsafeTargetError):
        endpoints.create_endpoint(name="x", url=url, event_types=["stock_bajo"])
    form = WebhookEndpointForm(data={"name": "x", "url": url, "event_types": ["stock_bajo"], "active": True})
    assert not form.is_valid()
    assert not WebhookEndpoint.objects.exists()


def test_a_public_url_is_accepted():
    ssrf.check_url("https://public.example/hook")
    form = WebhookEndpointForm(data={"name": "x", "url": "https://public.example/hook", "event_types": ["stock_bajo"]})
    assert form.is_valid(), form.errors


def test_a_host_that_starts_resolving_inside_is_refused_at_send_time(receiver, emit, settings):
    # Saved while allowed (or while its DNS pointed outside); the guard runs again before each POST.
    WebhookEndpoint.objects.create(name="x", url=receiver.url, event_types=["stock_bajo"])
    emit("stock_bajo")
    delivery = WebhookDelivery.objects.get()
    assert receiver.all == []
    assert "refused" in delivery.last_error and delivery.status == DeliveryStatus.PENDING
    assert delivery.attempt_set.get().http_status is None


def test_the_setting_allows_private_targets_for_on_premise_receivers(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    ssrf.check_url("http://10.1.2.3/hook")
    with pytest.raises(ssrf.UnsafeTargetError):
        ssrf.check_url("gopher://10.1.2.3/hook")  # the scheme rule still holds
    with pytest.raises(ssrf.UnsafeTargetError, match="puerto"):
        ssrf.check_url("http://10.1.2.3:99999/hook")  # and so does a valid port


def test_a_dns_answer_that_changes_between_check_and_connect_cannot_reach_inside(receiver, emit, settings, monkeypatch):
    """DNS rebinding: the first answer is an allowed address, the next one the internal receiver.

    The sender connects to the very address it checked, so the POST never reaches 127.0.0.1; a sender that
    resolved again to connect would deliver it there.
    """
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.2/32"]  # "public enough" for this test; nothing listens there
    answers = iter(["127.0.0.2", "127.0.0.1"] * 10)
    resolve = socket.getaddrinfo  # the module's fake DNS, which falls through to the real one

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    WebhookEndpoint.objects.create(
        name="x", url=f"http://rebind.example:{receiver.port}/hook", event_types=["stock_bajo"]
    )
    emit("stock_bajo")
    attempt = WebhookDelivery.objects.get().attempt_set.get()
    assert receiver.all == []
    assert attempt.http_status is None and "connection failed" in attempt.error


def test_an_allowed_private_network_is_accepted_and_others_still_refused(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/24"]
    ssrf.check_url("https://intranet.example/hook")  # 10.0.0.5
    with pytest.raises(ssrf.UnsafeTargetError):
        ssrf.check_url("http://192.168.0.10/hook")
