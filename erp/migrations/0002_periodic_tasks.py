"""Beat schedules of the core: the outbox sweeper and the daily purge of expired JWTs (editable in the admin)."""

from django.db import migrations


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Despachar eventos pendientes",
        defaults={"task": "erp.dispatch_outbox", "interval": every_30s, "expire_seconds": 25},
    )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="4",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="America/Argentina/Buenos_Aires",
    )
    PeriodicTask.objects.get_or_create(
        name="Purgar tokens JWT vencidos",
        defaults={"task": "erp.flush_expired_tokens", "crontab": daily},
    )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task__in=["erp.dispatch_outbox", "erp.flush_expired_tokens"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
