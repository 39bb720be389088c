"""lock(name, ttl): one run at a time across processes, through the shared cache."""

import uuid
from contextlib import contextmanager

from django.core.cache import cache

from erp.exceptions import ConflictError


class AlreadyRunningError(ConflictError):
    code = "ALREADY_RUNNING"


@contextmanager
def lock(name: str, ttl: int = 1800):
    """Raise AlreadyRunningError if another holder has `name`; the TTL frees it if the holder dies."""
    key = f"lock:{name}"
    token = uuid.uuid4().hex
    # cache.add is atomic (SET NX on Redis), which is what makes this a lock.
    if not cache.add(key, token, ttl):
        raise AlreadyRunningError(f"'{name}' is already running; try again when it finishes.")
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)
