"""The RouterOS client: typed rows coerced at the edge, deliberate encoding, and three mapped failures."""

import socket
import time

import pytest

from provisioning.routeros import (
    RouterAuthError,
    RouterClient,
    RouterCommandError,
    RouterConfig,
    RouterUnreachableError,
)
from provisioning.routeros.types import format_uptime, normalize_rate_pair
from tests.fixtures.provisioning import ROUTER_PASSWORD


def config(routeros, **overrides) -> RouterConfig:
    values = {
        "host": routeros.host,
        "port": routeros.port,
        "username": routeros.username,
        "password": ROUTER_PASSWORD,
        "timeout_s": 1,
    }
    return RouterConfig(**{**values, **overrides})


def closed_by_client(routeros, within: float = 1.0) -> bool:
    """The emulator notices a closed socket asynchronously; give its thread a moment."""
    deadline = time.monotonic() + within
    while routeros.active_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    return routeros.active_connections == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_one_connection_serves_every_command_of_a_session(routeros):
    routeros.add_lease("10.60.0.2", "AA:BB:CC:00:00:02", host_name="cpe")
    with RouterClient(config(routeros)) as client:
        client.leases()
        client.queues()
        client.resources()
    assert routeros.connections == 1 and closed_by_client(routeros)


def test_numeric_and_boolean_looking_values_come_back_as_text(routeros):
    routeros.add_ppp_secret("1001", password="x", comment="yes")
    routeros.add_lease("10.60.0.2", "AA:BB:CC:00:00:02", host_name="2024")
    with RouterClient(config(routeros)) as client:
        [secret] = client.ppp_secrets()
        [lease] = client.leases()
    assert secret.name == "1001" and secret.comment == "true"
    assert lease.host_name == "2024" and lease.dynamic is True


def test_ppp_secrets_never_carry_the_users_password(routeros):
    routeros.add_ppp_secret("juan_perez", password="p@ssw0rd123")
    with RouterClient(config(routeros)) as client:
        [secret] = client.ppp_secrets()
    assert "p@ssw0rd123" not in repr(secret)


def test_accented_comments_survive_the_round_trip_in_utf8(routeros):
    with RouterClient(config(routeros)) as client:
        client.add_queue(name="1", target="10.60.0.3/32", max_limit="10M/50M", comment="Peña Íñiguez")
        assert client.find_queue("1").comment == "Peña Íñiguez"


def test_rates_are_compared_in_the_routers_normalised_form(routeros):
    with RouterClient(config(routeros)) as client:
        client.add_queue(name="1", target="10.60.0.3/32", max_limit="10M/50M", comment="")
        assert client.find_queue("1").max_limit == normalize_rate_pair("10M/50M") == "10000000/50000000"
    assert normalize_rate_pair("64k/1.5M") == "64000/1500000"


@pytest.mark.parametrize(
    "raw,shown", [("2d3h14m5s", "2d 3h 14m"), ("1w2d3h4m5s", "1w 2d 3h 4m"), ("44m55s", "44m"), ("12s", "12s")]
)
def test_uptime_is_rewritten_for_people(raw, shown):
    assert format_uptime(raw) == shown


def test_a_refused_connection_is_unreachable(routeros):
    with pytest.raises(RouterUnreachableError) as info, RouterClient(config(routeros, port=free_port())):
        pass
    assert (info.value.status, info.value.code) == (504, "ROUTER_UNREACHABLE")


def test_bad_credentials_are_an_auth_error_that_never_shows_the_password(routeros):
    with pytest.raises(RouterAuthError) as info, RouterClient(config(routeros, password="Wr0ng-Pass")):
        pass
    assert (info.value.status, info.value.code) == (502, "ROUTER_AUTH_FAILED")
    assert "Wr0ng-Pass" not in str(info.value) and ROUTER_PASSWORD not in str(info.value)
    assert closed_by_client(routeros)


def test_the_config_repr_hides_the_password(routeros):
    assert ROUTER_PASSWORD not in repr(config(routeros))


def test_a_trap_is_a_command_error_with_the_routers_message_and_the_session_survives(routeros):
    routeros.trap_on("/queue/simple/add", "failure: already have such name", times=1)
    with RouterClient(config(routeros)) as client:
        with pytest.raises(RouterCommandError, match="already have such name") as info:
            client.add_queue(name="1", target="10.60.0.3/32", max_limit="1M/1M", comment="")
        assert client.queues() == []  # same connection still usable
    assert (info.value.status, info.value.code) == (502, "ROUTER_ERROR")
    assert routeros.connections == 1


def test_a_fatal_reply_is_unreachable(routeros):
    routeros.fail_on("/queue/simple/print", mode="fatal", message="session terminated")
    with pytest.raises(RouterUnreachableError), RouterClient(config(routeros)) as client:
        client.queues()


def test_a_slow_router_times_out_within_the_timeout(routeros):
    routeros.delay(3)
    started = time.monotonic()
    with pytest.raises(RouterUnreachableError, match="1 s"), RouterClient(config(routeros, timeout_s=1)):
        pass
    assert time.monotonic() - started < 1.8


def test_a_router_slow_on_every_command_cannot_exceed_the_operation_deadline(routeros):
    with RouterClient(config(routeros, timeout_s=1)) as client:
        routeros.delay(0.4)  # each reply inside the socket timeout, the sum beyond it
        started = time.monotonic()
        with pytest.raises(RouterUnreachableError):
            for _ in range(10):
                client.queues()
        assert time.monotonic() - started < 1.6
        assert not client.connected  # a half-read session is never reused


def test_a_pipeline_sends_tagged_commands_at_once_and_maps_each_reply(routeros):
    routeros.trap_on("/queue/simple/add", "failure: already have such name", times=1)
    commands = [
        (("queue", "simple"), "add", {"name": "A", "target": "10.0.0.1", "max-limit": "1M/2M"}),
        (("queue", "simple"), "add", {"name": "B", "target": "10.0.0.2", "max-limit": "1M/2M", "disabled": True}),
    ]
    with RouterClient(config(routeros)) as client:
        refused, created = client.pipeline(commands)

    assert isinstance(refused, RouterCommandError) and "already have such name" in refused.message
    [queue] = routeros.queues()
    assert (created, queue["name"], queue["disabled"]) == (queue[".id"], "B", "true")


def test_a_pipeline_cut_by_the_router_is_reported_as_unreachable(routeros):
    routeros.fail_on("/queue/simple/add", mode="drop", times=1)
    with RouterClient(config(routeros)) as client, pytest.raises(RouterUnreachableError):
        client.pipeline([(("queue", "simple"), "add", {"name": "A", "target": "10.0.0.1"})])
