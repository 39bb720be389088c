"""A provision that fails halfway leaves the service not active with its error, and a re-run converges."""

import contextlib

import pytest

from provisioning import services
from provisioning.models import RouterOperation
from provisioning.routeros import RouterCommandError, RouterUnreachableError

pytestmark = pytest.mark.django_db


def test_a_connection_dropped_after_the_lease_keeps_the_service_pending_and_a_rerun_converges(service, routeros, lease):
    routeros.fail_on("/queue/simple/add", mode="drop", times=1)
    with pytest.raises(RouterUnreachableError) as info:
        services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert (info.value.status, info.value.code) == (504, "ROUTER_UNREACHABLE")

    service.refresh_from_db()
    assert service.status == "pendiente" and service.ip_address is None
    assert "conexión" in service.last_error
    assert routeros.leases()[0]["dynamic"] == "false"  # the half that happened
    assert routeros.queues() == []
    failed = RouterOperation.objects.get()
    assert (failed.success, failed.error) == (False, service.last_error)

    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    service.refresh_from_db()
    assert service.status == "activo" and service.last_error == ""
    assert len(routeros.leases()) == 1 and len(routeros.queues()) == 1


def test_a_queue_added_whose_reply_was_lost_is_reused_not_duplicated(service, routeros, lease):
    routeros.fail_on("/queue/simple/add", mode="apply_then_drop", times=1)
    with pytest.raises(RouterUnreachableError):
        services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert len(routeros.queues()) == 1

    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert len(routeros.queues()) == 1 and len(routeros.leases()) == 1


def test_a_trap_from_the_router_is_reported_with_the_routers_message(service, routeros, lease):
    routeros.trap_on("/queue/simple/add", "failure: out of memory", times=1)
    with pytest.raises(RouterCommandError, match="out of memory") as info:
        services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert (info.value.status, info.value.code) == (502, "ROUTER_ERROR")
    service.refresh_from_db()
    assert service.status == "pendiente" and "out of memory" in service.last_error

    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert len(routeros.queues()) == 1


def test_a_drop_on_any_command_of_the_run_converges_on_the_next_run(service, routeros, lease):
    # Cut the connection on each command in turn; every partial state must converge to one lease + one queue.
    for nth in range(1, 8):
        routeros.drop_after_sentences(nth)
        with contextlib.suppress(RouterUnreachableError):
            services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
        routeros.clear_faults()
        services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
        assert len(routeros.leases()) == 1 and len(routeros.queues()) == 1
        assert routeros.leases()[0]["dynamic"] == "false"
