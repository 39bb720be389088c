"""The webhook sweeper and the log purge are scheduled in django-celery-beat by a migration."""

import pytest


@pytest.mark.django_db
def test_the_sweeper_runs_every_30_seconds_and_the_purge_daily():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # Re-run the migration's function: transactional tests elsewhere flush the rows it created.
    importlib.import_module("integrations.migrations.0003_webhook_schedules").create_schedules(apps, None)

    sweeper = PeriodicTask.objects.get(task="integrations.sweep_deliveries")
    assert sweeper.interval.every == 30 and sweeper.interval.period == "seconds" and sweeper.enabled
    purge = PeriodicTask.objects.get(task="integrations.purge_integration_log")
    assert purge.crontab.hour == "4" and str(purge.crontab.timezone) == "America/Argentina/Buenos_Aires"


def test_the_scheduled_task_names_exist():
    from erp.celery import app

    app.loader.import_default_modules()
    assert {"integrations.sweep_deliveries", "integrations.purge_integration_log", "integrations.send_delivery"} <= set(
        app.tasks
    )
