"""Router queries: leases (all, by MAC, by IP), queues, resources, configuration status, PPPoE state and secrets."""

import pytest

from provisioning import services
from tests.fixtures.provisioning import ROUTER_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_leases(routeros):
    routeros.add_lease("10.60.0.1", "AA:BB:CC:00:00:01", host_name="uno")
    routeros.add_lease("10.60.0.2", "AA:BB:CC:00:00:02", host_name="dos")
    routeros.add_lease("10.60.0.3", "AA:BB:CC:00:00:03", dynamic=False, status="waiting")


def test_leases_are_listed_with_their_status_and_kind(router, three_leases):
    leases = services.list_leases(router)
    assert [(x.address, x.host_name, x.status, x.dynamic) for x in leases] == [
        ("10.60.0.1", "uno", "bound", True),
        ("10.60.0.2", "dos", "bound", True),
        ("10.60.0.3", "", "waiting", False),
    ]


def test_find_lease_by_mac_accepts_any_mac_spelling(router, three_leases):
    assert services.find_lease_by_mac(router, "aa-bb-cc-00-00-02").address == "10.60.0.2"
    assert services.find_lease_by_mac(router, "AA:BB:CC:00:00:99") is None


def test_find_lease_by_ip(router, three_leases):
    assert services.find_lease_by_ip(router, "10.60.0.3").mac_address == "AA:BB:CC:00:00:03"
    assert services.find_lease_by_ip(router, "10.60.0.99") is None


def test_queues_and_find_queue(router, routeros):
    routeros.add_queue("7", "10.60.0.7", "10M/50M", comment="Cliente")
    [queue] = services.list_queues(router)
    assert (queue.name, queue.target, queue.max_limit) == ("7", "10.60.0.7/32", "10000000/50000000")
    assert services.find_queue(router, "7") == queue
    assert services.find_queue(router, "8") is None


def test_the_queue_of_a_service(service, router, routeros):
    assert services.get_service_queue(service) is None
    routeros.add_queue(str(service.pk), "10.60.0.7")
    assert services.get_service_queue(service).name == str(service.pk)


def test_resources_report_cpu_memory_uptime_version_board_and_identity(router, routeros):
    routeros.set_resource(cpu_load=42)
    resources = services.get_resources(router)
    assert resources.cpu_load == 42 and resources.total_memory == 1073741824
    assert resources.version == "7.17 (stable)" and resources.board_name == "RB3011UiAS"
    assert resources.identity == "EmuRouter" and resources.uptime


def test_config_status_shows_settings_and_reachability_never_the_password(router):
    status = services.get_config_status(router)
    assert status["reachable"] is True and status["identity"] == "EmuRouter"
    assert status["password_set"] is True
    assert ROUTER_PASSWORD not in str(status)


def test_config_status_of_an_unreachable_router_says_why(router, routeros):
    routeros.reject_login = True
    status = services.get_config_status(router)
    assert status["reachable"] is False and "contraseña" in status["error"]


def test_validate_pppoe_reports_an_active_session(router, routeros):
    routeros.add_ppp_active("juan_perez", "10.70.0.50", "AA:BB:CC:00:00:10", uptime="2d3h14m5s")
    assert services.validate_pppoe(router, "juan_perez") == {
        "active": True,
        "username": "juan_perez",
        "current_address": "10.70.0.50",
        "uptime": "2d 3h 14m",
        "caller_id": "AA:BB:CC:00:00:10",
        "identity": "EmuRouter",
    }


def test_validate_pppoe_of_a_disconnected_user(router, routeros):
    status = services.validate_pppoe(router, "nadie")
    assert status["active"] is False and status["current_address"] is None and status["uptime"] is None


def test_ppp_secrets_are_listed(router, routeros):
    routeros.add_ppp_secret("juan_perez", password="p@ss", profile="PLAN_50M", comment="Casilda 123")
    [secret] = services.list_ppp_secrets(router)
    assert (secret.name, secret.profile, secret.service, secret.comment) == (
        "juan_perez",
        "PLAN_50M",
        "pppoe",
        "Casilda 123",
    )
