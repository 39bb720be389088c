"""The event outbox: emit() writes in the caller's transaction, fans out after commit, and nothing is lost."""

import pytest
from django.db import transaction

from erp import events
from erp.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)

ALERT = {"articulo": "ONU-1", "nombre": "ONU", "deposito": "CENTRAL", "cantidad_actual": "1", "umbral_minimo": "5"}


@pytest.fixture
def received():
    seen = []

    def handler(event):
        seen.append((event.type, event.payload))

    events.subscribe(handler)
    yield seen
    events._subscribers.remove(handler)


def test_emit_records_the_event_and_subscribers_hear_it_after_commit(received):
    with transaction.atomic():
        events.emit("stock_bajo", ALERT)
        assert received == []  # nothing leaves before commit
    assert received == [("stock_bajo", ALERT)]
    assert OutboxEvent.objects.get().dispatched_at is not None


def test_a_rolled_back_transaction_emits_nothing(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("stock_bajo", ALERT)
        raise RuntimeError("the business change failed")
    assert received == []
    assert not OutboxEvent.objects.exists()


def test_unknown_event_types_and_missing_fields_are_refused():
    with pytest.raises(events.UnknownEventError, match="Unknown event type"):
        events.emit("no_such_event", {})
    with pytest.raises(events.UnknownEventError, match="umbral_minimo"):
        events.emit("stock_bajo", {k: v for k, v in ALERT.items() if k != "umbral_minimo"})


def test_the_sweeper_dispatches_events_whose_after_commit_hook_never_ran(received):
    # As if the process died right after commit: the row exists, nobody dispatched it.
    OutboxEvent.objects.create(type="stock_bajo", payload=ALERT)
    assert events.dispatch_pending(older_than_seconds=0) == 1
    assert received == [("stock_bajo", ALERT)]
    assert events.dispatch_pending(older_than_seconds=0) == 0  # and never twice


def test_a_failing_subscriber_leaves_the_event_for_the_sweeper():
    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise ConnectionError("receiver store down")

    events.subscribe(flaky)
    try:
        with transaction.atomic():
            events.emit("stock_bajo", ALERT)
        assert OutboxEvent.objects.get().dispatched_at is None
        assert events.dispatch_pending(older_than_seconds=0) == 1
        assert OutboxEvent.objects.get().dispatched_at is not None
    finally:
        events._subscribers.remove(flaky)
