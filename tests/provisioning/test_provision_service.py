"""Provisioning a service: bind its IP to its MAC, create its queue from the plan, mark it active, audit it."""

import pytest

from erp.models import OutboxEvent
from provisioning import services
from provisioning.errors import AddressInUseError, InvalidInputError, RouterDisabledError, ServiceStateError
from provisioning.models import RouterOperation, Service

pytestmark = pytest.mark.django_db


def test_provision_binds_the_lease_statically_and_creates_the_plan_queue(service, routeros, lease):
    result = services.provision_service(service, ip=lease["ip"], mac="aa-bb-cc-dd-ee-01")

    assert result.success and result.queue_name == str(service.pk) and result.max_limit == "10M/50M"
    [bound] = routeros.leases()
    assert (bound["address"], bound["mac-address"], bound["dynamic"]) == (lease["ip"], lease["mac"], "false")
    assert bound["comment"] == f"Servicio {service.pk} - José Núñez"  # non-ASCII survives the wire
    [queue] = routeros.queues()
    assert queue["name"] == str(service.pk)
    assert queue["target"] == f"{lease['ip']}/32"
    assert queue["max-limit"] == "10000000/50000000"  # 10 up / 50 down, as the router prints it
    assert queue["comment"] == "José Núñez - Hogar 50"
    service.refresh_from_db()
    assert service.status == Service.Status.ACTIVO
    assert (service.ip_address, service.mac_address, service.last_error) == (lease["ip"], lease["mac"], "")
    assert service.provisioned_at is not None


def test_provision_twice_leaves_one_lease_and_one_queue(service, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])

    assert len(routeros.leases()) == 1
    assert len(routeros.queues()) == 1
    assert OutboxEvent.objects.filter(type="servicio_aprovisionado").count() == 1
    assert RouterOperation.objects.filter(operation="provision", success=True).count() == 2


def test_a_second_run_changes_nothing_on_the_router(service, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    routeros.command_log.clear()
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert all(path.endswith("/print") for path, _ in routeros.command_log)


def test_the_queue_name_carries_the_routers_prefix(service, router, routeros, lease):
    router.queue_name_prefix = "SVC_"
    router.save()
    result = services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert result.queue_name == f"SVC_{service.pk}"
    assert [q["name"] for q in routeros.queues()] == [f"SVC_{service.pk}"]


def test_provision_without_an_existing_lease_creates_a_static_one(service, routeros):
    services.provision_service(service, ip="10.60.0.7", mac="AA:BB:CC:00:00:07")
    [created] = routeros.leases()
    assert (created["address"], created["dynamic"], created["server"]) == ("10.60.0.7", "false", "dhcp1")


def test_a_new_device_replaces_the_old_static_lease(service, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    services.provision_service(service, ip="10.60.0.101", mac="AA:BB:CC:DD:EE:02")
    assert [(x["address"], x["mac-address"]) for x in routeros.leases()] == [("10.60.0.101", "AA:BB:CC:DD:EE:02")]


def test_the_event_carries_the_catalog_keys(service, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    event = OutboxEvent.objects.get(type="servicio_aprovisionado")
    assert event.payload == {
        "service_id": service.pk,
        "customer": "C-0001",
        "router": "Nodo Centro",
        "ip_address": lease["ip"],
        "mac_address": lease["mac"],
        "status": "activo",
    }


def test_the_audit_row_records_parameters_without_secrets(service, lease, staff_user):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"], user=staff_user)
    row = RouterOperation.objects.get()
    assert (row.operation, row.success, row.service, row.user) == ("provision", True, service, staff_user)
    assert row.params["ip_address"] == lease["ip"] and row.params["max_limit"] == "10M/50M"
    assert "secret" not in str(row.params).lower() and "password" not in str(row.params)


@pytest.mark.parametrize(
    "ip,mac",
    [("10.60.0.300", "AA:BB:CC:DD:EE:01"), ("not-an-ip", "AA:BB:CC:DD:EE:01"), ("10.60.0.1", "AA:BB:CC:DD:EE")],
)
def test_bad_addresses_are_refused_before_touching_the_router(service, routeros, ip, mac):
    with pytest.raises(InvalidInputError):
        services.provision_service(service, ip=ip, mac=mac)
    assert routeros.connections == 0


def test_a_service_without_plan_is_refused(service, routeros):
    service.plan = None
    service.save()
    with pytest.raises(ServiceStateError, match="plan"):
        services.provision_service(service, ip="10.60.0.9", mac="AA:BB:CC:DD:EE:09")
    assert routeros.connections == 0


def test_a_disabled_router_refuses_the_change_and_is_not_contacted(service, router, routeros, lease):
    router.enabled = False
    router.save()
    with pytest.raises(RouterDisabledError) as info:
        services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert (info.value.status, info.value.code) == (409, "ROUTER_DISABLED")
    assert routeros.connections == 0
    assert routeros.leases()[0]["dynamic"] == "true"


def test_dhcp_disabled_skips_the_binding_but_still_creates_the_queue(service, router, routeros, lease):
    router.dhcp_enabled = False
    router.save()
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert routeros.leases()[0]["dynamic"] == "true"
    assert len(routeros.queues()) == 1


def test_queue_disabled_skips_the_queue(service, router, routeros, lease):
    router.queue_enabled = False
    router.save()
    result = services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    assert routeros.queues() == [] and result.queue_name == ""
    assert routeros.leases()[0]["dynamic"] == "false"


def test_an_ip_bound_statically_to_another_device_is_not_stolen(service, routeros):
    routeros.add_lease("10.60.0.50", "AA:BB:CC:00:00:50", dynamic=False, status="waiting")
    with pytest.raises(AddressInUseError):
        services.provision_service(service, ip="10.60.0.50", mac="AA:BB:CC:00:00:51")
    assert [x["mac-address"] for x in routeros.leases()] == ["AA:BB:CC:00:00:50"]
    service.refresh_from_db()
    assert service.status == "pendiente" and "10.60.0.50" in service.last_error


def test_an_ip_of_another_live_service_is_refused(service, customer, plan, router, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    other = Service.objects.create(customer=customer, plan=plan, router=router)
    with pytest.raises(AddressInUseError):
        services.provision_service(other, ip=lease["ip"], mac="AA:BB:CC:DD:EE:77")
