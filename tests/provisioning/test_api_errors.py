"""Every failure mode answers in the foundation's error format with its status and code, and leaves no mess."""

import socket
import time

import pytest

from erp.models import OutboxEvent
from provisioning.models import RouterOperation
from tests.fixtures.provisioning import ROUTER_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def provision(staff_client, service, lease):
    def call(**overrides):
        payload = {"ip_address": lease["ip"], "mac_address": lease["mac"], **overrides}
        return staff_client.post(f"/api/services/{service.pk}/provision/", payload, format="json")

    return call


def assert_error(response, status, code):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"success", "error", "code", "details"} and body["success"] is False
    assert body["code"] == code
    return body


def assert_untouched(service, routeros):
    service.refresh_from_db()
    assert service.status == "pendiente" and service.ip_address is None
    assert routeros.queues() == []
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize(
    "overrides", [{"ip_address": "10.60.0.999"}, {"mac_address": "AA:BB"}, {"ip_address": ""}, {"mac_address": None}]
)
def test_invalid_input_is_a_400(provision, service, routeros, overrides):
    assert_error(provision(**overrides), 400, "VALIDATION_ERROR")
    assert routeros.connections == 0
    assert_untouched(service, routeros)


def test_a_disabled_router_is_a_409(provision, service, router, routeros):
    router.enabled = False
    router.save()
    assert_error(provision(), 409, "ROUTER_DISABLED")
    assert routeros.connections == 0
    assert_untouched(service, routeros)


def test_an_unreachable_router_is_a_504(provision, service, router, routeros):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        router.port = sock.getsockname()[1]  # bound but not listening: connection refused
        router.save()
        body = assert_error(provision(), 504, "ROUTER_UNREACHABLE")
    assert router.name in body["error"]
    service.refresh_from_db()
    assert service.last_error == body["error"]
    assert RouterOperation.objects.get().success is False


def test_a_router_timeout_answers_within_timeout_plus_margin(provision, service, router, routeros):
    router.timeout_s = 1
    router.save()
    routeros.delay(5)
    started = time.monotonic()
    assert_error(provision(), 504, "ROUTER_UNREACHABLE")
    assert time.monotonic() - started < 1.8
    routeros.delay(0)
    assert_untouched(service, routeros)


def test_wrong_credentials_are_a_502_without_the_password(provision, service, router, routeros):
    router.password = "Not-the-one-9"
    router.save()
    body = assert_error(provision(), 502, "ROUTER_AUTH_FAILED")
    assert "Not-the-one-9" not in str(body) and ROUTER_PASSWORD not in str(body)
    assert "Not-the-one-9" not in str(RouterOperation.objects.get().__dict__)
    assert_untouched(service, routeros)


def test_a_refused_command_is_a_502_with_the_routers_message(provision, service, routeros):
    routeros.trap_on("/queue/simple/add", "failure: queue limit reached")
    body = assert_error(provision(), 502, "ROUTER_ERROR")
    assert "failure: queue limit reached" in body["error"]
    assert_untouched(service, routeros)


def test_an_ip_bound_to_another_device_on_the_router_is_a_409(provision, service, routeros):
    routeros.add_lease("10.60.0.100", "AA:BB:CC:00:00:77", dynamic=False, status="waiting", server="dhcp1")
    # the lease fixture's dynamic lease and this static one share the IP; the static one belongs to someone else
    assert_error(provision(), 409, "ADDRESS_IN_USE")
    assert_untouched(service, routeros)


def test_an_unknown_service_is_a_404(staff_client):
    response = staff_client.post("/api/services/999999/provision/", {}, format="json")
    assert_error(response, 404, "NOT_FOUND")


def test_suspending_a_pending_service_is_a_409(staff_client, service):
    assert_error(staff_client.post(f"/api/services/{service.pk}/suspend/"), 409, "INVALID_SERVICE_STATE")


def test_queries_map_the_same_errors(staff_client, router, routeros):
    routeros.reject_login = True
    assert_error(staff_client.get(f"/api/routers/{router.pk}/dhcp-leases/"), 502, "ROUTER_AUTH_FAILED")
    routeros.reject_login = False
    routeros.trap_on("/system/resource/print", "no such command prefix")
    assert_error(staff_client.get(f"/api/routers/{router.pk}/resources/"), 502, "ROUTER_ERROR")
