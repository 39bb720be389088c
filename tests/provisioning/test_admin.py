"""The provisioning admin: router check and live pages, the provision page, bulk actions with per-object outcomes."""

import pytest
from django.contrib.messages import get_messages

from provisioning import services
from provisioning.models import Router, RouterOperation, Service
from tests.fixtures.provisioning import ROUTER_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, admin_user):
    client.force_login(admin_user)
    return client


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_probar_conexion_shows_identity_and_resources(web, router):
    response = web.post(
        "/admin/provisioning/router/", {"action": "test_connection", "_selected_action": [router.pk]}, follow=True
    )
    [message] = messages_of(response)
    assert "EmuRouter" in message and "RB3011UiAS" in message and "CPU 3%" in message


def test_probar_conexion_reports_a_failing_router(web, router, routeros):
    routeros.reject_login = True
    response = web.post(
        "/admin/provisioning/router/", {"action": "test_connection", "_selected_action": [router.pk]}, follow=True
    )
    assert "contraseña" in messages_of(response)[0]


def test_live_leases_and_queues_pages(web, router, routeros, lease):
    routeros.add_queue("SVC_1", "10.60.0.1", "10M/50M")
    leases = web.get(f"/admin/provisioning/router/{router.pk}/leases/").content.decode()
    assert lease["ip"] in leases and lease["mac"] in leases and "cpe-jose" in leases
    queues = web.get(f"/admin/provisioning/router/{router.pk}/queues/").content.decode()
    assert "SVC_1" in queues and "10000000/50000000" in queues


def test_the_router_form_never_shows_the_password_and_keeps_it_when_left_blank(web, router):
    page = web.get(f"/admin/provisioning/router/{router.pk}/change/").content.decode()
    assert ROUTER_PASSWORD not in page
    form = {
        f.name: getattr(router, f.name)
        for f in Router._meta.concrete_fields
        if f.name not in ("id", "created_at", "updated_at", "password")
    }
    form.update({"password": "", "timeout_s": 4, "tls_fingerprint": "", "ca_certificate": ""})
    response = web.post(f"/admin/provisioning/router/{router.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    router.refresh_from_db()
    assert (router.timeout_s, router.password) == (4, ROUTER_PASSWORD)


def test_the_provision_page_lists_live_leases_and_provisions_the_chosen_one(web, service, routeros, lease):
    page = web.get(f"/admin/provisioning/service/{service.pk}/provision/").content.decode()
    assert f'value="{lease["ip"]}|{lease["mac"]}"' in page

    response = web.post(
        f"/admin/provisioning/service/{service.pk}/provision/", {"lease": f"{lease['ip']}|{lease['mac']}"}, follow=True
    )
    assert any("aprovisionado" in m and "10M/50M" in m for m in messages_of(response))
    assert "10000000/50000000" in response.content.decode()  # the queue, read back from the router
    service.refresh_from_db()
    assert service.status == "activo"
    assert RouterOperation.objects.get().user is not None


def test_the_provision_page_shows_the_routers_refusal(web, service, routeros, lease):
    routeros.trap_on("/queue/simple/add", "failure: out of memory")
    response = web.post(
        f"/admin/provisioning/service/{service.pk}/provision/", {"lease": f"{lease['ip']}|{lease['mac']}"}, follow=True
    )
    assert any("out of memory" in m for m in messages_of(response))


def test_bulk_actions_report_each_service(web, service, customer, plan, router, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    pending = Service.objects.create(customer=customer, plan=plan, router=router)
    response = web.post(
        "/admin/provisioning/service/",
        {"action": "suspend_selected", "_selected_action": [service.pk, pending.pk]},
        follow=True,
    )
    found = messages_of(response)
    assert any(f"#{service.pk}" in m and "suspendido" in m for m in found)
    assert any(f"#{pending.pk}" in m and "No se puede" in m for m in found)

    for action in ("activate_selected", "deprovision_selected"):
        web.post("/admin/provisioning/service/", {"action": action, "_selected_action": [service.pk]})
    service.refresh_from_db()
    assert service.status == "dado_de_baja" and routeros.queues() == []


def test_the_provision_action_reprovisions_with_the_stored_addresses(web, service, routeros, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    routeros.reset()  # the router lost its configuration
    web.post("/admin/provisioning/service/", {"action": "provision_selected", "_selected_action": [service.pk]})
    assert len(routeros.queues()) == 1 and len(routeros.leases()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/admin/provisioning/plan/",
        "/admin/provisioning/customer/",
        "/admin/provisioning/router/",
        "/admin/provisioning/service/",
        "/admin/provisioning/routeroperation/",
        "/admin/provisioning/service/?q=Jos",
        "/admin/provisioning/routeroperation/?q=Nodo",
    ],
)
def test_every_list_renders_and_searches(web, service, url):
    assert web.get(url).status_code == 200


def test_the_operation_log_is_read_only(web, service, lease):
    services.provision_service(service, ip=lease["ip"], mac=lease["mac"])
    row = RouterOperation.objects.get()
    assert web.get("/admin/provisioning/routeroperation/add/").status_code == 403
    assert web.post(f"/admin/provisioning/routeroperation/{row.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_dashboard_shows_provisioning_counts(web, service):
    page = web.get("/admin/").content.decode()
    assert 'id="panel-provisioning"' in page and "Routers habilitados" in page
