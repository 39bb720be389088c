"""Celery tasks of integrations: thin wrappers that take ids and call the services."""

from celery import shared_task

from integrations import logs
from integrations.webhooks import inbound, outbound


# acks_late: a worker killed mid-send leaves the message to be redelivered; the leases and the sweeper cover the rest.
# The soft limit sits above the send budget (20 s) plus one batch's 10 s HTTP timeout, under the 60 s lease.
@shared_task(
    bind=True,
    name="integrations.send_due_deliveries",
    acks_late=True,
    soft_time_limit=50,
    time_limit=58,
    ignore_result=True,
)
def send_due_deliveries_task(self, helper: bool = False) -> int:
    """Send due webhook deliveries in batches (the primary sender, or a helper for a backlog)."""
    # Run eagerly (embedded mode) the loop drains everything itself; helpers or lingering would only nest or stall.
    return outbound.send_due_deliveries(background=not self.request.is_eager, helper=helper)


@shared_task(name="integrations.send_delivery", acks_late=True, soft_time_limit=30, time_limit=45, ignore_result=True)
def send_delivery_task(delivery_id: int) -> None:
    """One attempt of one webhook delivery (a no-op if it is not due or someone else holds it); also drains
    messages queued by versions that sent one task per delivery."""
    outbound.attempt_delivery(delivery_id)


@shared_task(name="integrations.sweep_deliveries", ignore_result=True)
def sweep_deliveries_task() -> int:
    """Re-enqueue due deliveries nobody holds (retries, lost messages, killed workers)."""
    return outbound.sweep_deliveries()


@shared_task(name="integrations.process_inbound_event", acks_late=True, ignore_result=True)
def process_inbound_event_task(event_id: int) -> str:
    """Run the registered handler for one stored inbound webhook."""
    return inbound.process_inbound_event(event_id)


@shared_task(name="integrations.purge_integration_log", ignore_result=True)
def purge_integration_log_task() -> int:
    """Delete integration log entries older than INTEGRATION_LOG_RETENTION_DAYS."""
    return logs.purge_old_entries()


# One run at a time is enforced inside sync_erp by erp.locks; the soft limit sits under the lock's TTL.
@shared_task(name="integrations.sync_erp", soft_time_limit=3300, time_limit=3500, ignore_result=True)
def sync_erp_task(connection_id: int | None = None) -> None:
    """Synchronise one ERP connection, or every enabled one (the hourly beat entry passes none)."""
    from integrations.models.erp_sync import ErpConnection
    from integrations.sync import erp

    if connection_id is None:
        erp.sync_all()
    else:
        erp.sync_erp(ErpConnection.objects.get(pk=connection_id))
