"""Celery is configured for reliability and local time: late acks, no prefetch hoarding, Buenos Aires crontabs."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from erp.celery import app

BA = ZoneInfo("America/Argentina/Buenos_Aires")


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit


def test_celery_runs_in_buenos_aires_time():
    assert app.conf.timezone == "America/Argentina/Buenos_Aires"


@pytest.mark.django_db
def test_a_3am_crontab_is_due_at_3am_local_not_at_midnight():
    from django_celery_beat.models import CrontabSchedule

    row = CrontabSchedule.objects.create(minute="0", hour="3")
    last_run = datetime(2026, 11, 23, 3, 0, tzinfo=BA)

    def due_at(local_hour):
        now = datetime(2026, 11, 24, local_hour, 0, 5, tzinfo=BA)
        schedule = row.schedule
        schedule.nowfun = lambda: now
        return schedule.is_due(last_run).is_due

    assert due_at(3) is True
    assert due_at(0) is False  # 03:00 UTC, which is where a UTC-configured beat would fire


@pytest.mark.django_db
def test_the_schedule_migrations_create_the_periodic_tasks_staff_can_edit():
    """Run the data migrations' functions again (transactional tests elsewhere flush their rows)."""
    import importlib

    from django.apps import apps
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    importlib.import_module("erp.migrations.0002_periodic_tasks").create_schedules(apps, None)
    importlib.import_module("integrations.migrations.0005_erp_sync_schedule").create_schedule(apps, None)
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"erp.dispatch_outbox", "erp.flush_expired_tokens", "integrations.sync_erp"} <= tasks
    hourly = PeriodicTask.objects.get(task="integrations.sync_erp").crontab
    assert str(hourly.timezone) == "America/Argentina/Buenos_Aires"
    assert CrontabSchedule.objects.filter(hour="4", minute="30").exists()
