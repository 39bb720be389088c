"""Bulk runs reuse one connection per router and report each service's outcome."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp.models import OutboxEvent
from provisioning import services
from provisioning.models import RouterOperation, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(customer, plan, router, routeros):
    items = []
    for n in range(1, 6):
        ip, mac = f"10.60.1.{n}", f"AA:BB:CC:01:00:{n:02X}"
        routeros.add_lease(ip, mac)
        items.append((Service.objects.create(customer=customer, plan=plan, router=router), ip, mac))
    return items


def test_bulk_provision_uses_one_connection_for_the_router(many, routeros):
    outcomes = services.provision_services(many)
    assert all(o.success for o in outcomes) and len(outcomes) == 5
    assert routeros.connections == 1
    assert len(routeros.queues()) == 5 and all(x["dynamic"] == "false" for x in routeros.leases())


def test_bulk_actions_report_each_outcome_and_carry_on_after_a_refusal(many, routeros):
    services.provision_services(many)
    routeros.trap_on("/queue/simple/set", "failure: busy", times=1)
    outcomes = services.run_bulk([s for s, _ip, _mac in many], "suspend")
    assert [o.success for o in outcomes] == [False, True, True, True, True]
    assert "busy" in outcomes[0].message
    assert Service.objects.filter(status="suspendido").count() == 4


def test_an_unreachable_router_fails_the_rest_without_waiting_for_each(many, router, routeros):
    routeros.reject_login = True
    outcomes = services.provision_services(many)
    assert not any(o.success for o in outcomes)
    assert routeros.connections == 1
    assert "No se intentó" in outcomes[-1].message


def test_a_pending_service_in_a_bulk_suspend_is_reported_not_fatal(many, routeros):
    services.provision_services(many[:2])
    outcomes = services.run_bulk([s for s, _ip, _mac in many[:3]], "suspend")
    assert [o.success for o in outcomes] == [True, True, False]


def test_a_failure_mid_chunk_still_records_the_others_audit_rows_state_and_events(many, routeros):
    routeros.trap_on("/queue/simple/add", "failure: out of memory", times=1)  # the first service's queue
    routeros.command_log.clear()
    outcomes = services.provision_services(many, chunk_size=5)

    assert [o.success for o in outcomes] == [False, True, True, True, True]
    assert "out of memory" in outcomes[0].message
    failed = many[0][0]
    failed.refresh_from_db()
    assert failed.status == "pendiente" and "out of memory" in failed.last_error
    audit = RouterOperation.objects.filter(operation="provision")
    assert audit.count() == 5
    assert audit.get(success=False).service_id == failed.pk
    assert Service.objects.filter(status="activo", last_error="").count() == 4
    emitted = OutboxEvent.objects.filter(type="servicio_aprovisionado")
    assert sorted(e.payload["service_id"] for e in emitted) == sorted(s.pk for s, _ip, _mac in many[1:])


def test_a_rerun_after_a_mid_chunk_failure_converges_and_emits_only_the_missing_event(many, routeros):
    routeros.trap_on("/queue/simple/add", "failure: busy", times=1)
    services.provision_services(many)
    outcomes = services.provision_services(many)

    assert all(o.success for o in outcomes)
    assert len(routeros.queues()) == 5 and len(routeros.leases()) == 5
    assert Service.objects.filter(status="activo", last_error="").count() == 5
    assert OutboxEvent.objects.filter(type="servicio_aprovisionado").count() == 5  # one per service, never twice


def test_each_event_of_a_chunk_is_emitted_and_dispatched_once(many, routeros, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.provision_services(many, chunk_size=2)  # chunks of 2, 2 and 1

    emitted = OutboxEvent.objects.filter(type="servicio_aprovisionado")
    assert sorted(e.payload["service_id"] for e in emitted) == sorted(s.pk for s, _ip, _mac in many)
    assert all(e.dispatched_at is not None for e in emitted)


def test_a_chunk_costs_a_few_queries_not_a_few_per_service(many, routeros):
    with CaptureQueriesContext(connection) as queries:
        services.provision_services(many, chunk_size=5)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # Address check once per chunk; customer/plan/router once per run; no per-service re-reads.
    assert len([sql for sql in selects if '"provisioning_service"' in sql.split("FROM")[1]]) == 1
    assert len([q for q in queries.captured_queries if "provisioning_routeroperation" in q["sql"]]) == 1


def test_the_bulk_path_reads_the_router_once_and_then_only_writes(many, routeros):
    routeros.command_log.clear()
    services.provision_services(many)
    prints = [path for path, _ in routeros.command_log if path.endswith("/print")]
    assert sorted(prints) == ["/ip/dhcp-server/lease/print", "/queue/simple/print"]
    # Per service: make the dynamic lease static, comment it, add the queue.
    assert len(routeros.command_log) == 2 + 3 * len(many)


def test_two_items_asking_for_one_ip_in_a_run_are_refused_as_one_after_the_other_would_be(
    customer, plan, router, routeros
):
    routeros.add_lease("10.60.2.1", "AA:BB:CC:02:00:01")
    first, second = (Service.objects.create(customer=customer, plan=plan, router=router) for _ in range(2))
    outcomes = services.provision_services(
        [(first, "10.60.2.1", "AA:BB:CC:02:00:01"), (second, "10.60.2.1", "AA:BB:CC:02:00:02")]
    )

    assert [o.success for o in outcomes] == [True, False]
    assert f"ya es del servicio {first.pk}" in outcomes[1].message
    assert RouterOperation.objects.filter(service=second).count() == 0  # refused before any router I/O


def test_an_ip_handed_from_one_service_to_another_within_a_chunk_is_recorded(customer, plan, router, routeros):
    a, b = (Service.objects.create(customer=customer, plan=plan, router=router) for _ in range(2))
    services.provision_service(a, ip="10.60.3.1", mac="AA:BB:CC:03:00:01")
    outcomes = services.provision_services(
        [(a, "10.60.3.2", "AA:BB:CC:03:00:01"), (b, "10.60.3.1", "AA:BB:CC:03:00:02")]
    )

    assert all(o.success for o in outcomes), [o.message for o in outcomes]
    assert Service.objects.get(pk=a.pk).ip_address == "10.60.3.2"
    assert Service.objects.get(pk=b.pk).ip_address == "10.60.3.1"
    assert sorted((x["address"], x["mac-address"]) for x in routeros.leases()) == [
        ("10.60.3.1", "AA:BB:CC:03:00:02"),
        ("10.60.3.2", "AA:BB:CC:03:00:01"),
    ]


def test_a_bulk_suspend_records_the_chunk_with_one_statement(many, routeros):
    services.provision_services(many)
    with CaptureQueriesContext(connection) as queries:
        outcomes = services.run_bulk([s for s, _ip, _mac in many], "suspend")
    assert all(o.success for o in outcomes)
    updates = [q for q in queries.captured_queries if 'UPDATE "provisioning_service"' in q["sql"]]
    assert len(updates) == 1  # one prepared UPDATE run for the chunk's rows
    assert OutboxEvent.objects.filter(type="servicio_suspendido").count() == 5
    assert RouterOperation.objects.filter(operation="suspend", success=True).count() == 5


def test_a_connection_lost_mid_run_fails_the_unfinished_services_and_a_rerun_converges(many, routeros):
    routeros.fail_on("/queue/simple/add", mode="drop", times=1)
    outcomes = services.provision_services(many)

    assert not any(o.success for o in outcomes)
    assert Service.objects.filter(status="activo").count() == 0
    assert RouterOperation.objects.filter(success=False).count() == 5  # each tried one has its audit row
    assert all(s.last_error for s in Service.objects.all())

    outcomes = services.provision_services(many)
    assert all(o.success for o in outcomes), [o.message for o in outcomes]
    assert len(routeros.queues()) == 5 and len(routeros.leases()) == 5
    assert all(x["dynamic"] == "false" for x in routeros.leases())
    assert OutboxEvent.objects.filter(type="servicio_aprovisionado").count() == 5


def test_a_refused_lease_keeps_that_services_queue_unsent(many, routeros):
    routeros.trap_on("/ip/dhcp-server/lease/make-static", "failure: busy", times=1)
    routeros.command_log.clear()
    outcomes = services.provision_services(many)

    assert [o.success for o in outcomes] == [False, True, True, True, True]
    # A service's steps stay in order: no queue for the service whose lease the router refused.
    assert sorted(q["name"] for q in routeros.queues()) == sorted(str(s.pk) for s, _ip, _mac in many[1:])


def test_a_service_refused_by_the_routers_leases_does_not_disturb_the_others_of_its_chunk(many, routeros):
    # Another device holds the third service's IP with a static lease: the router-side check refuses it.
    ip = many[2][1]
    routeros.add_lease(ip, "AA:BB:CC:09:09:09", dynamic=False)
    outcomes = services.provision_services(many)

    assert [o.success for o in outcomes] == [True, True, False, True, True]
    assert "AA:BB:CC:09:09:09" in outcomes[2].message
    assert len(routeros.queues()) == 4
    assert RouterOperation.objects.filter(success=False).count() == 1
    assert OutboxEvent.objects.filter(type="servicio_aprovisionado").count() == 4
