"""The retry schedule of outbound webhooks: delays between attempts, with jitter."""

import random
from datetime import timedelta

from django.conf import settings

# Delays after attempt 1..7 (Svix's schedule from the 2nd retry on): 8 attempts over roughly a day.
RETRY_SCHEDULE_S = (60, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2  # ±20 %, so endpoints that failed together do not retry in lockstep


def retry_schedule() -> tuple[float, ...]:
    # Read at call time: tests and the benchmark compress it without reloading anything.
    return tuple(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", RETRY_SCHEDULE_S))


def max_attempts() -> int:
    return len(retry_schedule()) + 1


def next_delay(attempts_done: int) -> timedelta | None:
    """Delay before the next attempt after `attempts_done` attempts; None once the schedule is exhausted."""
    schedule = retry_schedule()
    if attempts_done < 1 or attempts_done > len(schedule):
        return None
    base = schedule[attempts_done - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))
