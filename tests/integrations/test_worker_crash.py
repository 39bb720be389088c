"""A real Celery worker on Redis killed with SIGKILL mid-batch loses no webhook: a new worker delivers the rest."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import transaction

from erp import events
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import outbound
from tests.emulators.webhook_receiver import WebhookReceiver
from tests.fixtures.integrations import STOCK_BAJO, WEBHOOK_SECRET

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 30


def database_url(db: dict) -> str:
    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def start_worker(settings, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.integrations.worker_settings",
        "DATABASE_URL": database_url(settings.DATABASES["default"]),  # the test database, not the dev one
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # The same cache namespace as this test process, so both see one sender flag.
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
    }
    command = [sys.executable, "-m", "celery", "-A", "erp.celery", "worker", "--pool=prefork", "--concurrency=2"]
    command += ["--loglevel=WARNING", "-n", f"crash-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"]
    # A new session, so SIGKILL reaches the pool children too, as when a container or VM dies.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@pytest.fixture
def real_worker_mode(settings):
    if not settings.REDIS_URL or "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL and Redis (REDIS_URL / DATABASE_URL), as in CI")
    from erp.celery import app

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_SENDER_FLAG_TTL_SECONDS = 3  # as in worker_settings: the killed sender's flag expires quickly
    app.conf.task_always_eager = False  # this test only: tasks go through Redis to the worker process
    yield
    app.conf.task_always_eager = True


def test_killing_the_worker_with_sigkill_mid_batch_loses_no_delivery(real_worker_mode, settings, tmp_path):
    log = tmp_path / "worker.log"
    # "slow": the receiver records each POST and answers 0.3 s later, so the kill lands with requests in flight.
    with WebhookReceiver(secret=WEBHOOK_SECRET, slow_seconds=0.3) as receiver:
        receiver.mode = "slow"
        WebhookEndpoint.objects.create(name="ERP", url=receiver.url, event_types=["stock_bajo"], secret=WEBHOOK_SECRET)
        first = start_worker(settings, log)
        second = None
        try:
            for _ in range(EVENTS):
                with transaction.atomic():
                    events.emit("stock_bajo", STOCK_BAJO)
            assert receiver.wait_for(8, timeout=30), log.read_text()[-3000:]
            kill(first)
            before_kill = len(receiver.unique_ids())
            assert before_kill < EVENTS, "the batch finished before the kill; the test proves nothing"

            second = start_worker(settings, log)
            expected = set(WebhookDelivery.objects.values_list("msg_id", flat=True))
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                if (
                    receiver.unique_ids() >= expected
                    and not WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
                ):
                    break
                outbound.sweep_deliveries()  # what beat does every 30 s, run here every half second
                time.sleep(0.5)
        finally:
            kill(first)
            if second is not None:
                kill(second)

    assert len(expected) == EVENTS
    assert receiver.unique_ids() == expected, (
        f"missing {len(expected - receiver.unique_ids())}\n" + log.read_text()[-3000:]
    )
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert all(w.verified for w in receiver.accepted)
