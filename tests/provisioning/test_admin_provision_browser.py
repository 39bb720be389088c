"""The manual flow in a real browser: open a service, pick the customer's lease from the router, provision."""

import pytest

from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_provision_a_service_from_the_routers_live_leases(admin_page, live_server, service, routeros, lease):
    routeros.add_lease("10.60.0.101", "AA:BB:CC:DD:EE:02", host_name="otro-equipo")
    page = admin_page
    page.goto(f"{live_server.url}/admin/provisioning/service/{service.pk}/change/")
    page.get_by_role("link", name="Aprovisionar desde los leases del router").click()

    leases = page.locator("#live-leases")
    assert "cpe-jose" in leases.inner_text() and "otro-equipo" in leases.inner_text()
    assert page.locator("#service-queue-missing").is_visible()
    page.check(f'input[name=lease][data-mac="{lease["mac"]}"]')
    screenshot(page, "provisioning-pick-lease")
    page.click("input[name=_provision]")

    success = page.locator(".messagelist .success")
    assert "aprovisionado" in success.inner_text() and "10M/50M" in success.inner_text()
    queue = page.locator("#service-queue")
    assert str(service.pk) in queue.inner_text() and "10000000/50000000" in queue.inner_text()
    assert "Activo" in page.locator("#service-status").inner_text()
    screenshot(page, "provisioning-provisioned")
    assert routeros.leases()[0]["dynamic"] == "false"
