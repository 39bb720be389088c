"""The admin in a real browser: staff log in, see the Emerald dashboard and the users list."""

import pytest

from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_log_in_and_see_the_dashboard(admin_page, live_server):
    page = admin_page
    assert page.locator("#site-name").inner_text() == "Emerald ERP"
    assert page.locator("#panel-system").is_visible()
    assert "Panel de control" in page.content()
    screenshot(page, "admin-dashboard")


def test_staff_open_the_users_list(admin_page, live_server, admin_user):
    page = admin_page
    page.goto(f"{live_server.url}/admin/erp/user/")
    assert page.locator("#result_list").is_visible()
    assert admin_user.email in page.locator("#result_list").inner_text()
    screenshot(page, "admin-users")


def test_a_wrong_password_keeps_the_visitor_out(page, live_server, admin_user):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", admin_user.email)
    page.fill("input[name=password]", "incorrecta")
    page.click("input[type=submit]")
    assert page.locator(".errornote").is_visible()
    assert "/admin/login/" in page.url
