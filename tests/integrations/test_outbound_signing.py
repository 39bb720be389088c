"""Emerald's webhooks are verifiable by receivers that share no code with Emerald."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from urllib3.connection import HTTPConnection

from integrations.webhooks import endpoints
from integrations.webhooks.delivery import WebhookSender
from tests.emulators.erp import LoopbackHTTPService, Response
from tests.emulators.webhook_receiver import whsec_key_bytes
from tests.fixtures.integrations import STOCK_BAJO, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_a_receiver_using_the_standardwebhooks_library_accepts_emeralds_webhooks(endpoint, receiver, emit):
    emit("stock_bajo")
    assert receiver.wait_for(1)
    delivered = receiver.accepted[0]
    assert delivered.verified, delivered.verify_error
    # Verified again here with the library directly, from the raw bytes and headers as received.
    payload = Webhook(WEBHOOK_SECRET).verify(delivered.body, delivered.headers)
    assert payload["type"] == "stock_bajo" and payload["data"] == STOCK_BAJO


def test_a_plain_hmac_hexdigest_check_accepts_x_emerald_signature(endpoint, receiver, emit):
    emit("stock_bajo")
    assert receiver.wait_for(1)
    delivered = receiver.accepted[0]
    key = whsec_key_bytes(WEBHOOK_SECRET)  # the base64-decoded bytes after "whsec_"
    expected = "sha256=" + hmac.new(key, delivered.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivered.headers["x-emerald-signature"], expected)
    assert delivered.hex_verified is True


def test_the_body_is_type_timestamp_and_data_sent_as_json_by_emerald_webhooks(endpoint, receiver, emit):
    event = emit("stock_bajo")
    assert receiver.wait_for(1)
    delivered = receiver.accepted[0]
    body = json.loads(delivered.body)
    assert set(body) == {"type", "timestamp", "data"}
    assert body["timestamp"] == event.occurred_at.isoformat()
    assert delivered.headers["content-type"] == "application/json"
    assert delivered.headers["user-agent"].startswith("Emerald-Webhooks/")
    assert delivered.headers["webhook-id"].startswith("msg_")
    assert abs(int(delivered.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 5


def test_during_rotation_both_signatures_are_sent_and_either_secret_verifies(endpoint, receiver, emit):
    old = endpoint.secret
    endpoint = endpoints.rotate_secret(endpoint, window_hours=24)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    emit("stock_bajo")
    assert receiver.wait_for(1)  # the receiver still knows only the old secret
    delivered = receiver.accepted[0]
    assert len(delivered.headers["webhook-signature"].split()) == 2
    assert len(delivered.headers["x-emerald-signature"].split()) == 2
    for secret in (old, endpoint.secret):
        Webhook(secret).verify(delivered.body, delivered.headers)


def test_after_the_rotation_window_only_the_new_secret_signs(endpoint, receiver, emit):
    endpoint = endpoints.rotate_secret(endpoint, window_hours=24)
    endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    endpoint.save()
    emit("stock_bajo")
    assert receiver.wait_for_any(1)
    delivered = receiver.all[0]
    assert len(delivered.headers["webhook-signature"].split()) == 1
    assert not delivered.verified  # the receiver has not been given the new secret
    Webhook(endpoint.secret).verify(delivered.body, delivered.headers)


def test_a_new_endpoint_gets_a_standard_webhooks_secret(db, allow_private_targets):
    created = endpoints.create_endpoint(name="ERP", url="http://127.0.0.1:9/hook", event_types=["stock_bajo"])
    assert created.secret.startswith("whsec_") and len(whsec_key_bytes(created.secret)) == 32


class _ScriptedReceiver(LoopbackHTTPService):
    """Answers POSTs from a list of canned responses, recording each request's headers."""

    def __init__(self, responses):
        super().__init__()
        self.responses = list(responses)
        self.requests: list[dict[str, str]] = []

    def _respond(self, method, raw_path, headers, body):
        self.requests.append(headers)
        return self.responses.pop(0)


@pytest.fixture
def new_connections(monkeypatch):
    """Counts the TCP connections the sender opens."""
    opened = []
    original = HTTPConnection.connect

    def counting(connection):
        opened.append(connection.port)
        return original(connection)

    monkeypatch.setattr(HTTPConnection, "connect", counting)
    return opened


def test_deliveries_reuse_one_kept_alive_connection(allow_private_targets, new_connections):
    sender = WebhookSender()
    with _ScriptedReceiver([Response(200, b'{"ok": true}')] * 3) as server:
        results = [sender.post(server.url + "/hook", b"{}", {}) for _ in range(3)]
    assert [r.status_code for r in results] == [200, 200, 200]
    assert len(new_connections) == 1


def test_a_long_response_body_is_cut_and_never_leaks_into_the_next_delivery(allow_private_targets, new_connections):
    long_body = b"A" * 5000 + b"END-OF-FIRST"
    sender = WebhookSender()
    with _ScriptedReceiver([Response(500, long_body, "text/plain"), Response(202, b"second", "text/plain")]) as server:
        first = sender.post(server.url + "/hook", b"{}", {})
        second = sender.post(server.url + "/hook", b"{}", {})
    assert first.status_code == 500 and first.response_body == "A" * 1024
    # The unread rest of the first body was dropped with its connection, not read as the second response.
    assert second.status_code == 202 and second.response_body == "second"
    assert len(new_connections) == 2


def test_a_cookie_set_by_one_receiver_is_never_sent_with_a_later_delivery(allow_private_targets):
    sender = WebhookSender()
    set_cookie = Response(200, b"{}", headers={"Set-Cookie": "session=abc; Path=/"})
    with _ScriptedReceiver([set_cookie, Response(200, b"{}")]) as server:
        sender.post(server.url + "/hook", b"{}", {})
        sender.post(server.url + "/hook", b"{}", {})
    assert "cookie" not in server.requests[1]
