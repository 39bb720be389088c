"""Bulk runs reuse one connection per router and report each service's outcome."""

import pytest

from provisioning import services
from provisioning.models import Service

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
