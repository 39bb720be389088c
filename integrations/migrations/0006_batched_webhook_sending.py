"""Batched webhook sending: no per-row enqueue stamp, a partial "due" index, and eager autovacuum on the queue."""

from django.db import migrations, models

# Every attempt rewrites its delivery row, so the queue piles up dead tuples faster than the default autovacuum
# thresholds (20 % of the table) clean them; senders poll the due index several times a second.
QUEUE_TABLES = ("integrations_webhookdelivery", "erp_outboxevent")


def tune_autovacuum(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in QUEUE_TABLES:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} SET "
            "(autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )


def reset_autovacuum(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in QUEUE_TABLES:
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} RESET "
            "(autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0002_periodic_tasks"),
        ("integrations", "0005_erp_sync_schedule"),
    ]

    operations = [
        migrations.RemoveField(model_name="webhookdelivery", name="enqueued_at"),
        migrations.RemoveIndex(model_name="webhookdelivery", name="webhook_delivery_due"),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pendiente")),
                fields=["next_attempt_at", "id"],
                name="webhook_delivery_due",
            ),
        ),
        migrations.RunPython(tune_autovacuum, reset_autovacuum),
    ]
