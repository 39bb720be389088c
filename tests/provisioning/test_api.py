"""The provisioning REST API: the spec's paths, JSON keys and operationIds, for staff only."""

import pytest

from provisioning.models import Router, RouterOperation
from tests.fixtures.provisioning import ROUTER_PASSWORD

pytestmark = pytest.mark.django_db


def test_list_leases_in_the_specs_shape(staff_client, router, lease):
    response = staff_client.get(f"/api/routers/{router.pk}/dhcp-leases/")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["count"] == 1
    assert {k: body["leases"][0][k] for k in ("address", "mac_address", "host_name", "status")} == {
        "address": lease["ip"],
        "mac_address": lease["mac"],
        "host_name": "cpe-jose",
        "status": "bound",
    }


def test_leases_filtered_by_mac_and_by_ip(staff_client, router, lease, routeros):
    routeros.add_lease("10.60.0.101", "AA:BB:CC:DD:EE:02")
    by_mac = staff_client.get(f"/api/routers/{router.pk}/dhcp-leases/", {"mac": "aa:bb:cc:dd:ee:02"}).json()
    by_ip = staff_client.get(f"/api/routers/{router.pk}/dhcp-leases/", {"ip": lease["ip"]}).json()
    assert [x["address"] for x in by_mac["leases"]] == ["10.60.0.101"]
    assert [x["mac_address"] for x in by_ip["leases"]] == [lease["mac"]]


def test_a_bad_mac_filter_is_a_400(staff_client, router):
    response = staff_client.get(f"/api/routers/{router.pk}/dhcp-leases/", {"mac": "zz"})
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_provision_through_the_api_then_see_the_queue(staff_client, service, lease, staff_user):
    response = staff_client.post(
        f"/api/services/{service.pk}/provision/",
        {"ip_address": lease["ip"], "mac_address": lease["mac"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"success", "message", "ip", "mac", "queue_name", "max_limit"}
    assert (body["success"], body["ip"], body["mac"], body["max_limit"]) == (True, lease["ip"], lease["mac"], "10M/50M")
    assert RouterOperation.objects.get().user == staff_user

    queue = staff_client.get(f"/api/services/{service.pk}/queue/").json()
    assert queue["found"] is True and queue["queue"]["max_limit"] == "10000000/50000000"
    queues = staff_client.get(f"/api/routers/{service.router_id}/queues/", {"name": str(service.pk)}).json()
    assert queues["count"] == 1


def test_the_full_lifecycle_through_the_api(staff_client, service, fast_plan, lease, routeros):
    base = f"/api/services/{service.pk}"
    payload = {"ip_address": lease["ip"], "mac_address": lease["mac"]}
    assert staff_client.post(f"{base}/provision/", payload, format="json").status_code == 200
    suspended = staff_client.post(f"{base}/suspend/").json()
    assert suspended["status"] == "suspendido" and routeros.queues()[0]["disabled"] == "true"
    assert staff_client.post(f"{base}/activate/").json()["status"] == "activo"
    speed = staff_client.post(f"{base}/update-speed/", {"plan_id": fast_plan.pk}, format="json").json()
    assert speed["max_limit"] == "20M/100M"
    assert staff_client.post(f"{base}/deprovision/").json()["status"] == "dado_de_baja"
    assert routeros.queues() == [] and routeros.leases() == []


def test_bind_ip_and_create_queue_separately(staff_client, service, router, lease, routeros):
    response = staff_client.post(
        f"/api/routers/{router.pk}/bind-ip/", {"ip_address": lease["ip"], "mac_address": lease["mac"]}, format="json"
    )
    assert response.json() == {"success": True, "message": response.json()["message"], **{
        "ip": lease["ip"], "mac": lease["mac"]}}  # fmt: skip
    service.ip_address = lease["ip"]
    service.save()
    created = staff_client.post(f"/api/services/{service.pk}/queue/").json()
    assert created["queue_name"] == str(service.pk) and len(routeros.queues()) == 1


def test_queue_enable_disable_delete_by_name(staff_client, router, routeros):
    routeros.add_queue("SVC_9", "10.60.0.9", "1M/1M")
    base = f"/api/routers/{router.pk}/queues/SVC_9"
    assert staff_client.post(f"{base}/disable/").status_code == 200
    assert routeros.queues()[0]["disabled"] == "true"
    assert staff_client.post(f"{base}/enable/").status_code == 200
    assert staff_client.delete(f"{base}/").status_code == 200
    assert routeros.queues() == []
    assert staff_client.delete(f"{base}/").json()["code"] == "QUEUE_NOT_FOUND"


def test_resources_config_status_pppoe_and_secrets(staff_client, router, routeros):
    routeros.add_ppp_active("1001", "10.70.0.5", "AA:BB:CC:00:00:10", uptime="2d3h14m")
    routeros.add_ppp_secret("1001", password="clave-ppp")
    resources = staff_client.get(f"/api/routers/{router.pk}/resources/").json()["resources"]
    assert resources["identity"] == "EmuRouter" and resources["cpu_load"] == 3
    config = staff_client.get(f"/api/routers/{router.pk}/config-status/").json()["config"]
    assert config["reachable"] is True and "password" not in config
    pppoe = staff_client.get(f"/api/routers/{router.pk}/pppoe/1001/").json()
    assert (pppoe["active"], pppoe["uptime"], pppoe["current_address"]) == (True, "2d 3h 14m", "10.70.0.5")
    secrets = staff_client.get(f"/api/routers/{router.pk}/ppp-secrets/").json()
    assert secrets["secrets"][0]["name"] == "1001" and "clave-ppp" not in str(secrets)


def test_the_router_password_is_write_only(staff_client, router):
    for response in (
        staff_client.get(f"/api/routers/{router.pk}/"),
        staff_client.get("/api/routers/"),
        staff_client.patch(f"/api/routers/{router.pk}/", {"timeout_s": 3}, format="json"),
    ):
        assert response.status_code == 200
        assert ROUTER_PASSWORD not in response.content.decode()
        assert "gAAAA" not in response.content.decode()  # nor its ciphertext
    router.refresh_from_db()
    assert router.password == ROUTER_PASSWORD  # a PATCH without password keeps it


def test_routers_are_created_with_an_encrypted_password(staff_client):
    response = staff_client.post(
        "/api/routers/",
        {"name": "Nodo Sur", "host": "127.0.0.1", "port": 8729, "username": "api", "password": "N3w-secret",
         "use_ssl": True, "tls_mode": "fingerprint", "tls_fingerprint": "ab" * 32},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert "N3w-secret" not in response.content.decode() and response.json()["password_set"] is True
    assert Router.objects.get(name="Nodo Sur").password == "N3w-secret"


def test_non_staff_users_are_refused(client, django_user_model, router):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    user = django_user_model.objects.create_user("cliente@emerald.test", "x-Passw0rd-x")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    assert api.get(f"/api/routers/{router.pk}/dhcp-leases/").status_code == 403


def test_anonymous_callers_are_refused(anon_client, router, service):
    for path in (f"/api/routers/{router.pk}/dhcp-leases/", f"/api/services/{service.pk}/provision/"):
        assert anon_client.get(path).status_code == 401
        assert anon_client.post(path, {}, format="json").status_code == 401


def test_the_schema_carries_the_specs_operation_ids(staff_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    ids = {op["operationId"] for item in schema["paths"].values() for op in item.values() if "operationId" in op}
    assert {
        "mikrotikDhcpLeases", "mikrotikSimpleQueues", "mikrotikSystemResources", "mikrotikConfigStatus",
        "mikrotikServiceQueue", "mikrotikBindIp", "mikrotikCreateQueue", "mikrotikProvisionService",
        "mikrotikSuspendService", "mikrotikActivateService", "mikrotikUpdateSpeed", "mikrotikDeprovisionService",
        "mikrotikEnableQueue", "mikrotikDisableQueue", "mikrotikDeleteQueue",
    } <= ids  # fmt: skip
