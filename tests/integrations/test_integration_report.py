"""GET /api/reportes/integraciones/: the spec's figures, a per-system breakdown and a desde/hasta window."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.models import IntegrationLog

pytestmark = pytest.mark.django_db

URL = "/api/reportes/integraciones/"


@pytest.fixture
def history():
    now = timezone.now()
    rows = [("erp", "ok", 1)] * 6 + [("erp", "error", 2)] * 2 + [("webhook", "ok", 3)] + [("webhook", "error", 40)]
    for system, status, days_ago in rows:
        IntegrationLog.objects.create(system=system, kind="k", status=status, created_at=now - timedelta(days=days_ago))
    return now


def test_the_report_counts_successes_and_failures_in_the_default_30_day_window(staff_client, history):
    body = staff_client.get(URL).json()
    assert body["total_sincronizaciones"] == 9
    assert body["exitosas"] == 7 and body["fallidas"] == 2
    assert body["tasa_exito"] == pytest.approx(77.78)
    assert parse_datetime(body["ultima_sincronizacion"]) > history - timedelta(days=1, minutes=1)
    assert "proxima_sincronizacion" in body
    by_system = {row["sistema"]: row for row in body["por_sistema"]}
    assert by_system["erp"]["total"] == 8 and by_system["erp"]["tasa_exito"] == 75.0
    assert by_system["webhook"] == {**by_system["webhook"], "total": 1, "exitosas": 1, "fallidas": 0}


def test_the_window_can_be_chosen_with_desde_and_hasta(staff_client, history):
    today = timezone.localdate()
    body = staff_client.get(
        URL, {"desde": str(today - timedelta(days=2)), "hasta": str(today - timedelta(days=1))}
    ).json()
    assert body["total_sincronizaciones"] == 8 and body["exitosas"] == 6
    assert parse_datetime(body["desde"]) < parse_datetime(body["hasta"])
    wide = staff_client.get(URL, {"desde": (history - timedelta(days=60)).isoformat()}).json()
    assert wide["total_sincronizaciones"] == 10


def test_an_empty_window_has_a_zero_rate_not_an_error(staff_client):
    body = staff_client.get(URL).json()
    assert body["total_sincronizaciones"] == 0 and body["tasa_exito"] == 0.0 and body["ultima_sincronizacion"] is None


def test_an_inverted_window_is_a_400(staff_client):
    response = staff_client.get(URL, {"desde": "2026-02-01", "hasta": "2026-01-01"})
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_without_an_enabled_erp_schedule_there_is_no_next_sync(staff_client):
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(task="integrations.sync_erp").update(enabled=False)
    assert staff_client.get(URL).json()["proxima_sincronizacion"] is None


def test_the_next_sync_comes_from_the_beat_schedule_of_the_erp_sync_task(staff_client):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    hourly = IntervalSchedule.objects.create(every=1, period="hours")
    last = timezone.now() - timedelta(minutes=20)
    # Replaces the hourly crontab the migration creates with an interval whose next run is easy to predict.
    PeriodicTask.objects.filter(task="integrations.sync_erp").delete()
    PeriodicTask.objects.create(name="Sincronizar ERP", task="integrations.sync_erp", interval=hourly, last_run_at=last)
    proxima = parse_datetime(staff_client.get(URL).json()["proxima_sincronizacion"])
    assert abs((proxima - (last + timedelta(hours=1))).total_seconds()) < 5


def test_only_staff_may_read_the_report(anon_client, django_user_model, password):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    assert anon_client.get(URL).status_code == 401
    user = django_user_model.objects.create_user("tecnico@emerald.test", password)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    response = client.get(URL)
    assert response.status_code == 403 and response.json()["success"] is False
