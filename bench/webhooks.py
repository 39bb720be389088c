"""Webhook delivery benchmark: 5,000 events fanned out to 2 endpoints through a real Celery worker on Redis.

A receiver on 127.0.0.1 (a separate process) fails 30 % of requests at random; failed deliveries are retried
on a compressed schedule (0.1-0.5 s instead of minutes, 12 attempts) by the sweeper, so a phase ends in seconds.
Two phases, each with its own 5,000 events:

- backlog: every event is emitted first with the senders held back, then released: the delivery capacity
  (deliveries/s from release to the last delivery);
- live: events are emitted one business transaction at a time while the worker delivers: p50/p99 from
  emit to first attempt, and the throughput the emitting process sustains.

Each prints deliveries/s, the count delivered exactly once after receiver-side dedupe by webhook-id (must be
events x endpoints), the CPU seconds of every process involved, and exits 1 if a delivery was missed.

Needs PostgreSQL and Redis. It creates (and drops) its own database, emerald_bench_webhooks, and uses its own Redis DB:

    .venv/bin/python bench/webhooks.py --pg postgres://postgres@127.0.0.1:5432 --redis redis://127.0.0.1:6379/13
"""

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = """
from erp.settings import *  # noqa
DEBUG = False  # as in production: no per-query bookkeeping (CursorDebugWrapper) in the worker or the emitter
# Celery's Django fixup closes every DB connection around every task unless this is set (celery#9824 reverted
# CONN_MAX_AGE support), so without it each delivery opens a new PostgreSQL connection (a backend fork).
CELERY_DB_REUSE_MAX = 1000
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
# Compressed (production waits 1 min ... 10 h) and longer: 12 attempts instead of 8. With the receiver failing 30 %
# of requests at random, 8 attempts leave 0.3**8 * 10,000 = 0.66 deliveries per run fallido by design; 12 leave
# 0.005, so "all 10,000 delivered exactly once" is what the run can check.
WEBHOOK_RETRY_SCHEDULE = (0.1, 0.2, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5)
CELERY_TASK_ALWAYS_EAGER = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
"""


def receiver_process(conn, secret: str, failure_rate: float, seed: int) -> None:
    """Runs the test receiver in its own process (its own GIL) and answers "url" / "stats" over a pipe."""
    from tests.emulators.webhook_receiver import WebhookReceiver

    with WebhookReceiver(secret=secret, failure_rate=failure_rate, seed=seed) as receiver:
        while True:
            command = conn.recv()
            if command == "url":
                conn.send(receiver.url)
            elif command == "reset":
                receiver.reset()
                conn.send("ok")
            elif command == "stats":
                counts = receiver.count_by_id(accepted_only=True)
                conn.send(
                    {
                        "posts": len(receiver.all),
                        "accepted": len(receiver.accepted),
                        "unique": len(counts),
                        "duplicates": sum(1 for n in counts.values() if n > 1),
                        "unverified": sum(1 for w in receiver.all if not w.verified),
                    }
                )
            else:
                return


def run_admin_sql(dsn: str, *statements: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dsn)
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def sweep_until(done, interval: float) -> None:
    """Beat's job in production (every 30 s there); here every `interval` s, since the schedule is compressed."""
    from django.db import connection

    from integrations.webhooks import outbound

    try:
        while not done.wait(interval):
            outbound.sweep_deliveries()
    finally:
        connection.close()


def _cpu_seconds(pid: int, *, with_reaped_children: bool = False) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # the process ended meanwhile
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime + cstime: children that ended and were waited for
    return ticks / os.sysconf("SC_CLK_TCK")


def _all_processes() -> list[tuple[int, int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    text = stat.read()
            except OSError:
                continue
            name = text[text.index("(") + 1 : text.rindex(")")]
            found.append((int(entry), int(text.rsplit(")", 1)[1].split()[1]), name))
    return found


def cpu_snapshot(groups: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by this process, each process tree in `groups`, PostgreSQL and Redis (by name)."""
    processes = _all_processes()
    children: dict[int, list[int]] = {}
    for pid, ppid, _name in processes:
        children.setdefault(ppid, []).append(pid)

    def tree(root: int) -> list[int]:
        pids, todo = [], [root]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += children.get(pid, [])
        return pids

    # This process and its finished emitter processes; the worker and the receiver (running children) apart.
    totals = {"emitter": _cpu_seconds(os.getpid(), with_reaped_children=True)}
    totals.update({label: sum(_cpu_seconds(pid) for pid in tree(root)) for label, root in groups.items()})
    postgres = {pid: ppid for pid, ppid, name in processes if name.startswith("postgres")}
    # The postmaster's reaped children count too: the emitters' backends end with their connections.
    totals["postgresql"] = sum(
        _cpu_seconds(pid, with_reaped_children=ppid not in postgres) for pid, ppid in postgres.items()
    )
    totals["redis"] = sum(_cpu_seconds(pid) for pid, _ppid, name in processes if name.startswith("redis-server"))
    return totals


def steal_snapshot() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine: time the hypervisor gave our vCPUs to other guests."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return fields[7], sum(fields[:8])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    # Measured on the 2-core machine (docs/benchmarks.md): prefork -c 8 beat -c 4 and -c 16, and threads -c 8/16.
    parser.add_argument("--pool", choices=("prefork", "threads"), default="prefork", help="the worker's pool")
    parser.add_argument("--concurrency", type=int, default=8, help="worker processes (or threads with --pool threads)")
    parser.add_argument("--sweep-interval", type=float, default=0.1, help="seconds between sweeps (beat's job)")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--db", default="emerald_bench_webhooks")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--phase", choices=("both", "backlog", "live"), default="both")
    parser.add_argument("--emitters", type=int, default=1, help="processes emitting events at once")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()

    import redis

    admin_dsn = f"{args.pg}/postgres"
    run_admin_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)', f'CREATE DATABASE "{args.db}"')
    redis.Redis.from_url(args.redis).flushdb()  # the benchmark's own Redis DB

    settings_dir = Path(tempfile.mkdtemp(prefix="emerald-bench-"))
    (settings_dir / "emerald_bench_settings.py").write_text(SETTINGS)
    env = {
        **os.environ,
        "PYTHONPATH": f"{settings_dir}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "emerald_bench_settings",
        "DATABASE_URL": f"{args.pg}/{args.db}",
        "REDIS_URL": args.redis,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CACHE_KEY_PREFIX": "emerald-bench",
    }
    os.environ.update(env)
    sys.path.insert(0, str(settings_dir))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from erp.celery import app
    from integrations.models import WebhookEndpoint
    from tests.emulators.webhook_receiver import DEFAULT_SECRET

    app.conf.task_always_eager = False
    call_command("migrate", verbosity=0)

    parent, child = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=receiver_process, args=(child, DEFAULT_SECRET, args.failure_rate, 7))
    receiver.start()
    parent.send("url")
    url = parent.recv()
    for i in range(args.endpoints):
        WebhookEndpoint.objects.create(name=f"bench-{i}", url=url, event_types=["stock_bajo"], secret=DEFAULT_SECRET)

    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "erp.celery", "worker", f"--pool={args.pool}"]
        + [f"--concurrency={args.concurrency}", "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    ok = True
    try:
        time.sleep(4)  # let the worker connect, so start-up is not counted
        groups = {"worker": worker.pid, "receiver": receiver.pid}
        phases = {"backlog": run_backlog, "live": run_live}
        for name in [args.phase] if args.phase != "both" else ["backlog", "live"]:
            print(f"\n== {name}: {PHASES[name]}")
            ok &= phases[name](args, parent, groups)
        return 0 if ok else 1
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: running send tasks finish their batch
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        parent.send("stop")
        receiver.join(timeout=5)
        connections.close_all()
        if not args.keep_db:
            run_admin_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        redis.Redis.from_url(args.redis).flushdb()


PHASES = {
    "backlog": "all events emitted first, then the worker drains the backlog (delivery capacity)",
    "live": "events emitted one transaction at a time while the worker delivers (emit -> attempt latency)",
}
DATA = {"articulo": "ONU-1", "nombre": "ONU", "deposito": "CENTRAL", "cantidad_actual": "1", "umbral_minimo": "5"}


def _emit(count: int) -> None:
    from django.db import connection, transaction

    from erp import events

    for _ in range(count):
        with transaction.atomic():  # one business transaction per event, as a service would
            events.emit("stock_bajo", DATA)
    connection.close()


def emit_events(count: int, emitters: int) -> float:
    """Emit `count` events from `emitters` processes at once, as concurrent requests of a web server would."""
    from django.db import connections

    connections.close_all()  # each forked emitter opens its own connection
    started = time.monotonic()
    shares = [count // emitters + (1 if i < count % emitters else 0) for i in range(emitters)]
    processes = [multiprocessing.Process(target=_emit, args=(share,)) for share in shares]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return time.monotonic() - started


def reset_phase(parent) -> None:
    from django.core.cache import cache
    from django.db import connection

    from integrations.webhooks import outbound

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE integrations_webhookattempt, integrations_webhookdelivery, integrations_integrationlog, "
            "erp_outboxevent"
        )
    cache.delete(outbound.SENDER_KEY)
    parent.send("reset")
    parent.recv()


def wait_until_done(expected: int, deadline: float) -> None:
    from integrations.models import DeliveryStatus, WebhookDelivery

    while time.monotonic() < deadline:
        # Done when nothing is left pending (a delivery may also end fallido after all its attempts).
        pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
        if not pending and WebhookDelivery.objects.count() >= expected:
            return
        time.sleep(0.2)


def run_backlog(args, parent, groups) -> bool:
    """Emit every event with the senders held back (their flag up), then release them and time the drain."""
    from django.core.cache import cache

    from integrations.webhooks import outbound

    reset_phase(parent)
    cache.set(outbound.SENDER_KEY, "1", timeout=3600)  # "a sender runs": emitters ask for none
    emit_seconds = emit_events(args.events, args.emitters)

    def release():
        released_at = timezone_now()
        cache.delete(outbound.SENDER_KEY)
        outbound.request_send()
        return f"{args.events} in {emit_seconds:.1f} s, before the senders were released", released_at

    return measure(args, parent, groups, release, latency=False)


def run_live(args, parent, groups) -> bool:
    """Emit events one transaction at a time while the worker delivers them."""
    reset_phase(parent)

    def emit():
        emit_seconds = emit_events(args.events, args.emitters)
        return f"{args.events} in {emit_seconds:.1f} s ({args.events / emit_seconds:.0f}/s)", None

    return measure(args, parent, groups, emit, latency=True)


def measure(args, parent, groups, action, *, latency: bool) -> bool:
    """Run `action` with the sweeper going (beat's job: retries come due meanwhile), wait until every delivery
    is settled, and report. `action` returns the "events emitted" line and the throughput clock's origin."""
    done = threading.Event()
    sweeper = threading.Thread(target=sweep_until, args=(done, args.sweep_interval), daemon=True)
    cpu_before, steal_before = cpu_snapshot(groups), steal_snapshot()
    started = time.monotonic()
    sweeper.start()
    emitted, since = action()
    wait_until_done(args.events * args.endpoints, started + args.timeout)
    done.set()
    sweeper.join()
    wall = time.monotonic() - started
    cpu_after, steal = cpu_snapshot(groups), steal_fraction(steal_before)
    lines = [("events emitted", emitted)]
    return report(args, parent, cpu_before, cpu_after, steal, wall, lines, since=since, latency=latency)


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def steal_fraction(before: tuple[int, int]) -> float:
    steal, total = steal_snapshot()
    return (steal - before[0]) / max(1, total - before[1])


def report(args, parent, cpu_before, cpu_after, steal, wall, lines, *, since, latency: bool) -> bool:
    """Print one phase's figures; True when every delivery was accepted exactly once."""
    from integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
    from integrations.webhooks import schedule

    expected = args.events * args.endpoints
    parent.send("stats")
    stats = parent.recv()
    rows = list(WebhookDelivery.objects.values_list("event__occurred_at", "first_attempt_at"))
    start = since or min(emitted for emitted, _first in rows)
    delivered = WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED)
    span = (max(delivered.values_list("delivered_at", flat=True)) - start).total_seconds()
    first_pass_span = (max(first for _emitted, first in rows if first) - start).total_seconds()
    attempts = WebhookAttempt.objects.count()
    failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count()
    origin = "release" if since else "first emit"
    lines += [
        ("deliveries", f"{delivered.count()} delivered of {expected} ({args.endpoints} endpoints)"),
        ("throughput", f"{delivered.count() / span:.0f} deliveries/s ({origin} to last delivery: {span:.1f} s)"),
        ("first attempts", f"{len(rows) / first_pass_span:.0f}/s"),
        ("HTTP attempts", f"{attempts} ({attempts / span:.0f}/s)"),
        ("receiver", f"{stats['posts']} POSTs, {stats['accepted']} accepted, {stats['unverified']} unverified"),
        ("exactly once", f"{stats['unique']} after dedupe by webhook-id ({stats['duplicates']} ids accepted twice)"),
    ]
    if latency:
        latencies = [(first - emitted).total_seconds() * 1000 for emitted, first in rows if first and emitted]
        lines.append(
            (
                "emit -> 1st attempt",
                f"p50 {statistics.median(latencies):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms",
            )
        )
    lines += [
        ("failed / pending", f"{failed} used all {schedule.max_attempts()} attempts, {pending} still pending"),
        ("run", f"{wall:.1f} s, worker --pool={args.pool} -c {args.concurrency}, failure rate {args.failure_rate}"),
    ]
    for label, value in lines:
        print(f"{label:<22}{value}")
    for msg_id, error in WebhookDelivery.objects.exclude(status=DeliveryStatus.DELIVERED).values_list(
        "msg_id", "last_error"
    )[:5]:
        print(f"{'  not delivered':<22}{msg_id}: {error}")
    used = {label: cpu_after[label] - cpu_before[label] for label in cpu_after}
    print(f"{'CPU seconds':<22}" + ", ".join(f"{label} {seconds:.1f}" for label, seconds in used.items()))
    print(
        f"{'CPU per delivery':<22}{sum(used.values()) / expected * 1000:.2f} ms in all "
        + ", ".join(f"{label} {seconds / expected * 1000:.2f}" for label, seconds in used.items())
        + f"; {os.cpu_count()} cores give {os.cpu_count() * wall:.0f} CPU-s in the phase's {wall:.1f} s"
    )
    print(f"{'CPU steal':<22}{steal * 100:.0f} % of the machine's CPU time went to other guests of the host")
    return stats["unique"] == expected


if __name__ == "__main__":
    sys.exit(main())
