"""The integration log records every exchange, never stores secrets, and forgets old entries."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from erp.exceptions import UpstreamResponseError
from erp.http import HttpClient, ResponseInfo
from integrations import logs
from integrations.models import IntegrationLog

pytestmark = pytest.mark.django_db

SECRETS = ["s3cr3t-bearer", "k3y-123", "c00kie-val", "hunter2", "tok-999", "whsec_QUJDREVGRw==", "pr1v4te"]


def test_secrets_api_keys_passwords_tokens_and_auth_headers_are_redacted_before_storage():
    info = ResponseInfo(
        system="erp",
        method="POST",
        url="https://user:pw@erp.example/api/movimientos?token=tok-999&page=2",
        request_headers={
            "Authorization": "Bearer s3cr3t-bearer",
            "X-Api-Key": "k3y-123",
            "Cookie": "sessionid=c00kie-val",
            "Accept": "application/json",
        },
        request_body={"usuario": "ana", "password": "hunter2", "nested": {"client_secret": "pr1v4te"}, "cantidad": 5},
        status=500,
        response_body='{"error": "bad key", "api_key": "k3y-123"}',
        duration_ms=42,
        error="upstream said: Authorization: Bearer s3cr3t-bearer; secret whsec_QUJDREVGRw==",
    )
    entry = logs.record(info)
    stored = json.dumps([entry.request_summary, entry.response_summary, entry.error])
    for secret in SECRETS:
        assert secret not in stored, secret
    assert entry.request_summary["headers"]["Accept"] == "application/json"
    assert entry.request_summary["body"]["cantidad"] == 5 and entry.request_summary["body"]["usuario"] == "ana"
    assert "page=2" in entry.request_summary["url"]
    assert entry.status == "error" and entry.duration_ms == 42 and entry.kind == "POST /api/movimientos"


def test_it_is_the_on_response_hook_of_the_shared_http_client(receiver):
    client = HttpClient(base_url=receiver.base_url, system="demo", on_response=logs.record)
    with client, pytest.raises(UpstreamResponseError):  # the receiver only takes POST: a logged 405
        client._request("GET", "/hook", expect_json=False, headers={"Authorization": "Bearer s3cr3t-bearer"})
    entry = IntegrationLog.objects.get(system="demo")
    assert entry.kind == "GET /hook" and entry.response_summary["status"] == 405
    assert "s3cr3t" not in json.dumps(entry.request_summary)


def test_every_webhook_delivery_attempt_is_logged(endpoint, receiver, emit):
    receiver.mode = "error"
    emit("stock_bajo")
    receiver.mode = "ok"
    emit("stock_bajo")
    entries = IntegrationLog.objects.filter(system="webhook").order_by("id")
    assert [e.status for e in entries] == ["error", "ok"]
    assert entries[0].request_summary["msg_id"].startswith("msg_") and entries[0].error == "HTTP 500"


def test_a_logging_failure_never_breaks_the_caller(monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(IntegrationLog.objects, "create", boom)
    assert logs.write(system="x", kind="y", ok=True) is None


def test_entries_older_than_the_retention_are_purged(settings):
    settings.INTEGRATION_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    for age in (31, 29, 0):
        IntegrationLog.objects.create(system="erp", kind="k", status="ok", created_at=now - timedelta(days=age))
    assert logs.purge_old_entries() == 1
    assert IntegrationLog.objects.count() == 2


def test_the_retention_defaults_to_ninety_days(settings):
    del settings.INTEGRATION_LOG_RETENTION_DAYS
    now = timezone.now()
    IntegrationLog.objects.create(system="erp", kind="k", status="ok", created_at=now - timedelta(days=91))
    IntegrationLog.objects.create(system="erp", kind="k", status="ok", created_at=now - timedelta(days=89))
    from integrations.tasks import purge_integration_log_task

    assert purge_integration_log_task.delay().get() == 1
