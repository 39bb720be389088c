"""After provisioning: suspend and re-activate per the router's actions, change plan, deprovision; all idempotent."""

import pytest

from erp.models import OutboxEvent
from provisioning import services
from provisioning.errors import RouterDisabledError, ServiceStateError
from provisioning.models import RouterOperation

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(service, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    return service


def queue_of(routeros, service):
    [queue] = [q for q in routeros.queues() if q["name"] == str(service.pk)]
    return queue


def test_suspend_disables_the_queue_and_activate_enables_it(active, routeros):
    services.suspend_service(active)
    assert queue_of(routeros, active)["disabled"] == "true"
    assert active.status == "suspendido"

    services.activate_service(active)
    assert queue_of(routeros, active)["disabled"] == "false"
    assert queue_of(routeros, active)["max-limit"] == "10000000/50000000"
    active.refresh_from_db()
    assert active.status == "activo"


def test_suspend_with_limit_queue_throttles_and_activate_restores_the_plan(active, router, routeros):
    router.suspend_action = "limit_queue"
    router.suspend_limit = "64k/64k"
    router.save()
    services.suspend_service(active)
    queue = queue_of(routeros, active)
    assert (queue["max-limit"], queue["disabled"]) == ("64000/64000", "false")

    services.activate_service(active)
    assert queue_of(routeros, active)["max-limit"] == "10000000/50000000"


def test_suspending_twice_is_harmless_and_emits_once(active, routeros):
    services.suspend_service(active)
    services.suspend_service(active)
    assert len(routeros.queues()) == 1
    assert OutboxEvent.objects.filter(type="servicio_suspendido").count() == 1
    assert RouterOperation.objects.filter(operation="suspend", success=True).count() == 2


def test_suspend_and_activate_emit_their_events(active):
    services.suspend_service(active)
    services.activate_service(active)
    types = list(OutboxEvent.objects.order_by("id").values_list("type", flat=True))
    assert types == ["servicio_aprovisionado", "servicio_suspendido", "servicio_activado"]
    assert OutboxEvent.objects.get(type="servicio_suspendido").payload["status"] == "suspendido"


def test_suspend_recreates_a_queue_someone_deleted_on_the_router(active, routeros):
    services.delete_queue(active.router, str(active.pk))
    services.suspend_service(active)
    assert queue_of(routeros, active)["disabled"] == "true"


def test_a_pending_service_cannot_be_suspended(service, routeros):
    with pytest.raises(ServiceStateError) as info:
        services.suspend_service(service)
    assert info.value.status == 409
    assert routeros.connections == 0


def test_update_speed_applies_the_new_plan(active, fast_plan, routeros):
    result = services.update_speed(active, plan=fast_plan)
    assert result.max_limit == "20M/100M"
    assert queue_of(routeros, active)["max-limit"] == "20000000/100000000"
    active.refresh_from_db()
    assert active.plan == fast_plan
    assert RouterOperation.objects.filter(operation="update_speed", params__plan="PLAN_100").exists()


def test_update_speed_of_a_suspended_service_keeps_it_suspended(active, fast_plan, routeros):
    services.suspend_service(active)
    services.update_speed(active, plan=fast_plan)
    queue = queue_of(routeros, active)
    assert (queue["disabled"], queue["max-limit"]) == ("true", "20000000/100000000")


def test_deprovision_removes_queue_and_static_lease(active, routeros):
    services.deprovision_service(active)
    assert routeros.queues() == [] and routeros.leases() == []
    active.refresh_from_db()
    assert active.status == "dado_de_baja"
    assert OutboxEvent.objects.filter(type="servicio_dado_de_baja").count() == 1


def test_deprovision_twice_is_harmless(active, routeros):
    services.deprovision_service(active)
    services.deprovision_service(active)
    assert OutboxEvent.objects.filter(type="servicio_dado_de_baja").count() == 1
    assert RouterOperation.objects.filter(operation="deprovision", success=True).count() == 2


def test_deprovision_leaves_other_customers_alone(active, customer, plan, router, routeros):
    from provisioning.models import Service

    other = Service.objects.create(customer=customer, plan=plan, router=router)
    services.provision_service(other, ip="10.60.0.200", mac="AA:BB:CC:DD:EE:C8")
    services.deprovision_service(active)
    assert [q["name"] for q in routeros.queues()] == [str(other.pk)]
    assert [x["address"] for x in routeros.leases()] == ["10.60.0.200"]


def test_a_disabled_router_refuses_every_mutation(active, router, routeros):
    router.enabled = False
    router.save()
    active.router.refresh_from_db()
    before = routeros.connections
    for call in (services.suspend_service, services.activate_service, services.deprovision_service):
        with pytest.raises(RouterDisabledError):
            call(active)
    with pytest.raises(RouterDisabledError):
        services.bind_ip(router, ip="10.60.0.9", mac="AA:BB:CC:DD:EE:09")
    with pytest.raises(RouterDisabledError):
        services.enable_queue(router, str(active.pk))
    assert routeros.connections == before


def test_create_queue_alone_builds_the_queue_of_a_service_with_an_ip(active, routeros):
    routeros.reset()
    result = services.create_queue(active)
    assert result.queue_name == str(active.pk)
    assert queue_of(routeros, active)["max-limit"] == "10000000/50000000"


def test_bind_ip_alone_makes_a_dynamic_lease_static_and_keeps_its_id(router, routeros, lease):
    lease_id = routeros.leases()[0][".id"]
    services.bind_ip(router, ip=lease["ip"], mac=lease["mac"])
    [bound] = routeros.leases()
    assert (bound[".id"], bound["dynamic"], bound["comment"]) == (lease_id, "false", "Emerald")
    assert RouterOperation.objects.get().operation == "bind_ip"


def test_bind_ip_moves_the_static_lease_to_the_new_address(router, routeros, lease):
    services.bind_ip(router, ip=lease["ip"], mac=lease["mac"])
    services.bind_ip(router, ip="10.60.0.150", mac=lease["mac"])
    assert [x["address"] for x in routeros.leases()] == ["10.60.0.150"]
