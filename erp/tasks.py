"""Shared Celery task options (TRANSIENT) and the outbox sweeper."""

from celery import shared_task

from erp import events
from erp.exceptions import TransientError

# The one place that decides Celery retries for transient transport failures.
TRANSIENT = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="erp.dispatch_outbox")
def dispatch_outbox_task() -> int:
    """Fan out events that were committed but never dispatched."""
    return events.dispatch_pending()


@shared_task(name="erp.flush_expired_tokens")
def flush_expired_tokens_task() -> None:
    """Drop expired refresh tokens from the blacklist tables (simplejwt recommends a daily run)."""
    from django.core.management import call_command

    call_command("flushexpiredtokens")
