"""Beat schedules of integrations: the webhook delivery sweeper (every 30 s) and the daily log purge."""

from django.db import migrations

SWEEPER = "integrations.sweep_deliveries"
PURGE = "integrations.purge_integration_log"


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Reintentar entregas de webhooks",
        defaults={"task": SWEEPER, "interval": every_30s, "expire_seconds": 25},
    )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="45",
        hour="4",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="America/Argentina/Buenos_Aires",
    )
    PeriodicTask.objects.get_or_create(
        name="Purgar registro de integraciones", defaults={"task": PURGE, "crontab": daily}
    )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task__in=[SWEEPER, PURGE]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_webhooks_and_log"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
