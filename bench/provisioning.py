"""Benchmark: provision N services against the RouterOS emulator, one shared connection vs one per service.

    .venv/bin/python bench/provisioning.py [--services 1000] [--runs 3]

Sets Django up itself. Without DATABASE_URL it uses a throwaway SQLite file in a temporary directory
(migrated at start, deleted at the end); with DATABASE_URL set it uses that database and deletes the rows
it created. Both paths go through ``provisioning.services`` (validation, router I/O, audit row, event),
against the emulator on 127.0.0.1 with unmodified librouteros. Prints services/s per run and the medians.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(tmpdir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmpdir}/bench.sqlite3")
    import django
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    def sqlite_wal(sender, connection, **kwargs):
        # The throwaway SQLite file runs in WAL with synchronous=NORMAL, as a production SQLite would:
        # otherwise every commit is an fsync and the figure measures the disk, not provisioning.
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")

    connection_created.connect(sqlite_wal)
    django.setup()
    call_command("migrate", verbosity=0)


class Emulator:
    """The emulator in its own process, like a router on the network (in-process it would share our GIL)."""

    def __init__(self, leases: int) -> None:
        self.leases = leases

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.emulators.routeros", "--port", "0", "--leases", str(self.leases)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        self.port = int(line.split("127.0.0.1:")[1].split()[0])
        self.host, self.username, self.password = "127.0.0.1", "admin", "secret"
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait(10)


def make_services(count: int, router, tag: str):
    from provisioning.models import Customer, Plan, Service

    plan, _ = Plan.objects.get_or_create(
        code="BENCH_50", defaults={"name": "Bench 50", "download_mbps": 50, "upload_mbps": 10}
    )
    customer, _ = Customer.objects.get_or_create(code=f"BENCH-{tag}", defaults={"name": "Bench Núñez"})
    Service.objects.bulk_create(Service(customer=customer, plan=plan, router=router) for _ in range(count))
    return list(Service.objects.filter(customer=customer, router=router).select_related("customer", "plan", "router"))


def run_once(count: int, *, bulk: bool, run: int) -> float:
    from provisioning import services
    from provisioning.models import Router
    from tests.emulators.routeros import generated_lease

    with Emulator(leases=count) as emulator:
        router = Router.objects.create(
            name=f"bench-{run}-{'bulk' if bulk else 'single'}",
            host=emulator.host,
            port=emulator.port,
            username=emulator.username,
            password=emulator.password,
            dhcp_server="dhcp1",
            queue_name_prefix=f"B{run}_",
        )
        leases = [generated_lease(index)[:2] for index in range(count)]
        items = [(service, ip, mac) for service, (ip, mac) in zip(make_services(count, router, router.name), leases)]
        started = time.perf_counter()
        if bulk:
            outcomes = services.provision_services(items)
            failed = [o.message for o in outcomes if not o.success]
        else:
            failed = []
            for service, ip, mac in items:
                try:
                    services.provision_service(service, ip=ip, mac=mac)
                except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
                    failed.append(str(exc))
        elapsed = time.perf_counter() - started
        queues = len(services.list_queues(router))
        if failed or queues != count:
            raise SystemExit(f"{len(failed)} failures ({queues} queues), e.g. {failed[:3]}")
    cleanup(router)
    rate = count / elapsed
    print(f"  run {run} {'bulk  ' if bulk else 'single'}: {rate:8.1f} services/s ({elapsed:.2f} s)")
    return rate


def cleanup(router) -> None:
    from erp.models import OutboxEvent
    from provisioning.models import Service

    Service.objects.filter(router=router).delete()  # audit rows cascade with the router
    router.delete()
    OutboxEvent.objects.filter(type="servicio_aprovisionado", payload__router=router.name).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        setup_django(tmpdir)
        from django.db import connection

        print(f"Provisioning {args.services} services, {args.runs} runs, database: {connection.vendor}")
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        bulk, single = [], []
        for run in range(1, args.runs + 1):
            bulk.append(run_once(args.services, bulk=True, run=run))
            single.append(run_once(args.services, bulk=False, run=run))
        b, s = statistics.median(bulk), statistics.median(single)
        print(f"median bulk (one connection):       {b:8.1f} services/s")
        print(f"median single (connect per service): {s:8.1f} services/s")
        print(f"ratio: {b / s:.1f}x   targets: bulk >= 300/s and >= 5x")
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
