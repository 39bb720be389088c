"""Shared test set-up: per-worker cache namespace, eager Celery, fixture plugins."""

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in the test thread; the ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Every module in tests/fixtures/ is a fixture plugin: adding a file there is enough to share its fixtures.
pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)


def pytest_configure(config):
    """Runs in every xdist worker: give each its own cache/channel namespace so Redis counters never collide."""
    prefix = f"emerald-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{uuid.uuid4().hex[:8]}"
    settings.CACHE_KEY_PREFIX = prefix
    settings.CACHES["default"]["KEY_PREFIX"] = prefix
    if "CONFIG" in settings.CHANNEL_LAYERS["default"]:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{prefix}:asgi"
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0  # no connection outlives its test thread


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Clear this worker's cache keys (throttle counters, locks, idempotency records) around each test."""
    from django.core.cache import cache

    _clear(cache, settings)
    yield
    _clear(cache, settings)


def _clear(cache, settings):
    if settings.REDIS_URL:
        client = cache._cache.get_client()
        keys = list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    """Tasks run in-process in tests; tests that need a real worker start one explicitly."""
    from erp.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
