"""POST /api/webhooks/inbound/{slug}/: verified in constant time, stored once, processed through the registry."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from integrations.models import InboundEvent, InboundStatus, IntegrationLog
from integrations.webhooks import inbound
from tests.fixtures.integrations import HEX_SECRET, hex_headers, push_body, standard_headers

pytestmark = pytest.mark.django_db

URL = "/api/webhooks/inbound/{}/"


@pytest.fixture
def handled():
    """A test handler for "prueba.push" that records the payloads it processed."""
    seen = []
    inbound.register_handler("prueba.push", lambda event: seen.append(event.payload["data"]))
    yield seen
    inbound.unregister_handler("prueba.push")


@pytest.fixture
def post(anon_client, django_capture_on_commit_callbacks):
    def _post(slug, body, headers, content_type="application/json"):
        with django_capture_on_commit_callbacks(execute=True):
            return anon_client.post(URL.format(slug), data=body, content_type=content_type, headers=headers)

    return _post


def test_a_well_signed_push_is_stored_and_processed_by_its_handler(inbound_source, handled, post):
    body = push_body({"articulo": "ONU-1"})
    response = post("erp", body, standard_headers(body))
    assert response.status_code == 202 and response.json()["success"] is True
    event = InboundEvent.objects.get()
    assert event.webhook_id == "msg_in_1" and event.status == InboundStatus.PROCESSED
    assert event.processed_at is not None and handled == [{"articulo": "ONU-1"}]


def test_a_replayed_webhook_id_is_answered_200_and_not_processed_again(inbound_source, handled, post):
    body = push_body()
    assert post("erp", body, standard_headers(body)).status_code == 202
    again = post("erp", body, standard_headers(body))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert InboundEvent.objects.count() == 1 and len(handled) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h: h.update({"webhook-signature": "v1,AAAA" + h["webhook-signature"][7:]}), id="wrong"),
        pytest.param(lambda h: h.pop("webhook-signature"), id="missing-signature"),
        pytest.param(lambda h: h.pop("webhook-id"), id="missing-id"),
        pytest.param(lambda h: h.update({"webhook-signature": "garbage"}), id="malformed"),
        pytest.param(lambda h: h.update({"webhook-signature": "v1,a,b"}), id="too-many-commas"),
        pytest.param(lambda h: h.update({"webhook-signature": "v1,%%%notbase64"}), id="bad-base64"),
        pytest.param(lambda h: h.update({"webhook-timestamp": "yesterday"}), id="bad-timestamp"),
    ],
)
def test_a_bad_or_malformed_signature_is_a_401_and_nothing_is_processed(inbound_source, handled, post, tamper):
    body = push_body()
    headers = standard_headers(body)
    tamper(headers)
    response = post("erp", body, headers)
    assert response.status_code == 401
    assert response.json()["code"] == "INVALID_SIGNATURE" and response.json()["success"] is False
    assert not InboundEvent.objects.exists() and handled == []


def test_a_body_changed_after_signing_is_refused(inbound_source, handled, post):
    body = push_body({"cantidad": 1})
    response = post("erp", push_body({"cantidad": 1000}), standard_headers(body))
    assert response.status_code == 401 and handled == []


def test_a_timestamp_more_than_five_minutes_off_is_refused(inbound_source, handled, post):
    body = push_body()
    for skew in (timedelta(minutes=-6), timedelta(minutes=6)):
        when = datetime.now(UTC) + skew
        response = post("erp", body, standard_headers(body, when=when))
        assert response.status_code == 401 and response.json()["code"] == "INVALID_SIGNATURE"
    assert not InboundEvent.objects.exists()


def test_a_body_over_one_megabyte_is_a_413(inbound_source, handled, post):
    body = json.dumps({"type": "prueba.push", "data": "x" * (1024 * 1024)}).encode()
    response = post("erp", body, standard_headers(body))
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert not InboundEvent.objects.exists()


def test_the_413_holds_even_if_the_global_upload_limit_is_raised(inbound_source, handled, post, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    body = json.dumps({"type": "prueba.push", "data": "x" * (1024 * 1024)}).encode()
    assert post("erp", body, standard_headers(body)).status_code == 413


def test_an_unknown_source_is_a_404(db, post):
    body = push_body()
    response = post("nadie", body, standard_headers(body))
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"


def test_an_inactive_source_is_a_403(inbound_source, handled, post):
    inbound_source.active = False
    inbound_source.save()
    body = push_body()
    response = post("erp", body, standard_headers(body))
    assert response.status_code == 403 and response.json()["success"] is False
    assert handled == []


def test_the_hex_scheme_accepts_a_validar_webhook_signature_and_refuses_others(hex_source, handled, post):
    body = push_body({"n": 7})
    assert post("legado", body, hex_headers(body)).status_code == 202
    assert handled == [{"n": 7}]
    bad = post("legado", push_body({"n": 8}), hex_headers(body))
    assert bad.status_code == 401 and bad.json()["code"] == "INVALID_SIGNATURE"
    assert post("legado", push_body({"n": 9}), {}).status_code == 401
    assert post("legado", push_body({"n": 9}), hex_headers(push_body({"n": 9}), "otro")).status_code == 401
    assert len(handled) == 1 and HEX_SECRET


def test_the_same_hex_push_twice_is_processed_once(hex_source, handled, post):
    body = push_body({"n": 7})
    assert post("legado", body, hex_headers(body)).status_code == 202
    assert post("legado", body, hex_headers(body)).status_code == 200
    assert len(handled) == 1


def test_a_push_without_a_handler_is_kept_as_ignored(inbound_source, post):
    body = push_body(event_type="nadie.escucha")
    assert post("erp", body, standard_headers(body)).status_code == 202
    assert InboundEvent.objects.get().status == InboundStatus.IGNORED


def test_a_failing_handler_marks_the_event_as_error_and_it_can_be_reprocessed(inbound_source, post, run_on_commit):
    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("inventory said no")

    inbound.register_handler("prueba.push", flaky)
    try:
        body = push_body()
        assert post("erp", body, standard_headers(body)).status_code == 202
        event = InboundEvent.objects.get()
        assert event.status == InboundStatus.ERROR and "inventory said no" in event.error
        run_on_commit(inbound.reprocess_inbound_event, event)
        event.refresh_from_db()
        assert event.status == InboundStatus.PROCESSED and len(calls) == 2
    finally:
        inbound.unregister_handler("prueba.push")


def test_every_inbound_webhook_is_logged_and_its_headers_are_stored_redacted(inbound_source, handled, post):
    body = push_body()
    headers = {**standard_headers(body), "Authorization": "Bearer s3cr3t-token"}
    post("erp", body, headers)
    post("erp", body, {**headers, "webhook-signature": "v1,bad"})
    logs = list(IntegrationLog.objects.filter(system="inbound:erp").order_by("id"))
    assert [entry.status for entry in logs] == ["ok", "error"]
    stored = InboundEvent.objects.get().headers
    assert stored["authorization"] == "[REDACTED]" and "s3cr3t" not in json.dumps(stored)
