"""Specification of the RouterOS API emulator, exercised through unmodified librouteros 4.2.x.

Plain pytest: no Django, no database. Each test name reads as one sentence of the specification.
"""

from __future__ import annotations

import hashlib
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import librouteros
import pytest
from librouteros import create_transport
from librouteros.api import Api
from librouteros.exceptions import ConnectionClosed, FatalError, TrapError
from librouteros.login import token
from librouteros.protocol import ApiProtocol
from librouteros.protocol import encode_length as librouteros_encode_length
from librouteros.query import And, Key, Or

from tests.emulators.routeros import RouterOSEmulator, decode_length, encode_length, generated_lease

REPO_ROOT = Path(__file__).resolve().parents[2]
LEASES = "/ip/dhcp-server/lease"


# The project-wide autouse fixtures need Django settings, a cache and Celery; this module needs none.
@pytest.fixture(autouse=True)
def _isolated_cache():
    yield


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    yield


@pytest.fixture
def router():
    with RouterOSEmulator(leases=10) as emulator:
        yield emulator


def login(router: RouterOSEmulator, **options) -> Api:
    options.setdefault("timeout", 3)
    return librouteros.connect(router.host, router.username, router.password, port=router.port, **options)


@pytest.fixture
def api(router):
    client = login(router)
    yield client
    client.close()


def unauthenticated(router: RouterOSEmulator) -> Api:
    """A librouteros Api on a fresh connection, without logging in."""
    transport = create_transport(router.host, port=router.port, saddr=None, timeout=3)
    return Api(protocol=ApiProtocol(transport=transport, encoding="ASCII"))


def raw_response(client: Api, *words: str) -> list[tuple[str, tuple[str, ...]]]:
    """Send one sentence and return the raw reply sentences up to and including ``!done``."""
    client.protocol.writeSentence(*words)
    sentences = []
    while not sentences or sentences[-1][0] != "!done":
        sentences.append(client.protocol.readSentence())
    return sentences


def wait_until(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


# --------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0x00, "00"),
        (0x7F, "7f"),
        (0x80, "8080"),
        (0x3FFF, "bfff"),
        (0x4000, "c04000"),
        (0x1FFFFF, "dfffff"),
        (0x200000, "e0200000"),
        (0xFFFFFFF, "efffffff"),
        (0x10000000, "f010000000"),
    ],
)
def test_word_lengths_use_the_routeros_prefix_forms(length, encoded):
    assert encode_length(length).hex() == encoded
    assert decode_length(bytes.fromhex(encoded)) == length
    if length < 0x10000000:
        assert librouteros_encode_length(length).hex() == encoded


@pytest.mark.parametrize("size", [200, 20_000, 0x200000 + 5], ids=["2-byte", "3-byte", "4-byte"])
def test_long_words_survive_a_round_trip_through_librouteros(api, size):
    comment = "x" * size
    queues = api.path("queue", "simple")
    queue_id = queues.add(name="long", target="10.0.0.1", comment=comment)
    (row,) = queues.select(Key("comment")).where(Key(".id") == queue_id)
    assert row["comment"] == comment


def test_a_reserved_control_byte_makes_the_router_hang_up(router):
    with socket.create_connection(router.address, timeout=2) as raw:
        raw.sendall(b"\xf8")
        assert raw.recv(10) == b""


# --------------------------------------------------------------------------------------
# Login and session
# --------------------------------------------------------------------------------------


def test_login_with_the_right_credentials_succeeds(router, api):
    assert list(api.path("system", "identity")) == [{"name": "EmuRouter"}]
    assert router.logins == 1


def test_a_wrong_password_raises_trap_error_and_the_connection_is_closed(router):
    with pytest.raises(TrapError) as error:
        librouteros.connect(router.host, "admin", "wrong", port=router.port, timeout=3)
    assert error.value.message == "invalid user name or password (6)"
    assert error.value.category is None
    assert wait_until(lambda: router.active_connections == 0)


def test_the_legacy_challenge_login_is_accepted(router):
    client = login(router, login_method=token)
    assert list(client.path("system", "identity")) == [{"name": "EmuRouter"}]
    client.close()


def test_reject_login_makes_every_login_fail_until_cleared(router):
    router.reject_login = True
    with pytest.raises(TrapError, match=re.escape("invalid user name or password (6)")):
        login(router)
    router.clear_faults()
    login(router).close()


def test_a_command_before_login_is_fatal_and_closes_the_connection(router):
    client = unauthenticated(router)
    with pytest.raises(FatalError, match="not logged in"):
        tuple(client(f"{LEASES}/print"))
    assert router.commands == 0


def test_quit_ends_the_session_with_a_fatal_reason(api):
    with pytest.raises(FatalError, match="session terminated on request"):
        tuple(api("/quit"))


def test_cancel_is_answered_with_done(api):
    assert tuple(api("/cancel")) == ()


def test_replies_carry_the_tag_of_the_command_and_no_tag_otherwise(api):
    tagged = raw_response(api, "/queue/simple/print", ".tag=7")
    assert tagged == [("!done", (".tag=7",))]
    api.path("queue", "simple").add(name="q1", target="10.0.0.1")
    tagged = raw_response(api, "/queue/simple/print", "=.proplist=name", ".tag=abc")
    assert tagged == [("!re", ("=name=q1", ".tag=abc")), ("!done", (".tag=abc",))]
    trapped = raw_response(api, "/nowhere/print", ".tag=9")
    assert [word for word, _ in trapped] == ["!trap", "!done"]
    assert all(words[-1] == ".tag=9" for _, words in trapped)
    untagged = raw_response(api, "/queue/simple/print", "=.proplist=name")
    assert untagged == [("!re", ("=name=q1",)), ("!done", ())]


def test_an_unknown_command_traps_with_category_0(api):
    with pytest.raises(TrapError) as error:
        tuple(api(f"{LEASES}/frobnicate"))
    assert (error.value.message, error.value.category) == ("no such command or directory (frobnicate)", 0)
    with pytest.raises(TrapError, match=re.escape("no such command or directory (nothing)")):
        tuple(api("/ip/nothing/print"))


# --------------------------------------------------------------------------------------
# Print and queries
# --------------------------------------------------------------------------------------


def test_print_returns_leases_with_ids_and_booleans(api):
    rows = list(api.path("ip", "dhcp-server", "lease"))
    assert [row[".id"] for row in rows] == [f"*{n:X}" for n in range(1, 11)]
    address, mac, host_name = generated_lease(0)
    assert rows[0]["address"] == address == "10.50.0.1"
    assert rows[0]["mac-address"] == mac
    assert rows[0]["host-name"] == host_name
    assert (rows[0]["status"], rows[0]["dynamic"], rows[0]["disabled"]) == ("bound", True, False)


def test_where_equality_selects_matching_rows(api):
    leases = api.path("ip", "dhcp-server", "lease")
    rows = list(leases.select(Key(".id"), Key("address")).where(Key("host-name") == "client-0003"))
    assert rows == [{".id": "*3", "address": "10.50.0.3"}]


def test_select_returns_only_the_properties_of_the_proplist(api):
    rows = list(api.path("ip", "dhcp-server", "lease").select(Key("address"), Key("mac-address")))
    assert len(rows) == 10
    assert all(set(row) == {"address", "mac-address"} for row in rows)


def test_or_in_and_and_combine_conditions(api):
    leases = api.path("ip", "dhcp-server", "lease")
    host = Key("host-name")
    either = leases.select(host).where(Or(host == "client-0002", host == "client-0005"))
    assert [row["host-name"] for row in either] == ["client-0002", "client-0005"]
    listed = leases.select(host).where(host.In("client-0001", "client-0004", "client-0009"))
    assert [row["host-name"] for row in listed] == ["client-0001", "client-0004", "client-0009"]
    both = leases.select(host).where(And(Key("dynamic") == True, host == "client-0007"))  # noqa: E712
    assert [row["host-name"] for row in both] == ["client-0007"]


def test_not_equal_and_comparisons_filter_rows(api):
    leases = api.path("ip", "dhcp-server", "lease")
    host = Key("host-name")
    assert len(list(leases.select(host).where(host != "client-0001"))) == 9
    assert [row[".id"] for row in leases.select(Key(".id")).where(Key(".id") > "*8")] == ["*9", "*A"]
    assert [row[".id"] for row in leases.select(Key(".id")).where(Key(".id") < "*3")] == ["*1", "*2"]


def test_the_raw_query_stack_supports_presence_absence_and_index_operations(router, api):
    router.add_lease("10.60.0.1", "aa:bb:cc:00:00:01", host_name="noted", comment="vip")
    print_ = f"{LEASES}/print"
    ids = lambda *words: [row[".id"] for row in api.rawCmd(print_, "=.proplist=.id", *words)]  # noqa: E731
    assert ids("?comment") == ["*B"]
    assert len(ids("?-comment")) == 10
    assert ids("?>comment=") == ["*B"]
    assert ids("?comment=vip") == ids("?=comment=vip") == ["*B"]
    assert len(ids("?comment=vip", "?#!")) == 10
    # push a copy of the top, negate it, OR both: always true
    assert len(ids("?comment=vip", "?#0.!|")) == 11
    # an index at the end of the word replaces the stack: only "host-name=client-0001" is left
    assert ids("?host-name=client-0001", "?comment=vip", "?#1") == ["*1"]


def test_query_values_are_compared_in_their_stored_form(router, api):
    queues = api.path("queue", "simple")
    queues.add(name="plan", target="192.168.1.10", **{"max-limit": "10M/50M"})
    assert len(list(queues.select(Key("name")).where(Key("max-limit") == "10M/50M"))) == 1
    assert len(list(queues.select(Key("name")).where(Key("target") == "192.168.1.10"))) == 1
    assert len(list(queues.select(Key("name")).where(Key("disabled") == False))) == 1  # noqa: E712 - sends ?=disabled=no
    mac = generated_lease(2)[1].lower()
    leases = api.path("ip", "dhcp-server", "lease")
    assert [row[".id"] for row in leases.select(Key(".id")).where(Key("mac-address") == mac)] == ["*3"]


def test_an_empty_print_is_just_done_unless_emulating_7_18(api):
    assert raw_response(api, "/ppp/secret/print") == [("!done", ())]
    with RouterOSEmulator(send_empty=True) as newer:
        client = login(newer)
        assert raw_response(client, "/ppp/secret/print") == [("!empty", ()), ("!done", ())]
        assert list(client.path("ppp", "secret")) == []
        client.close()


def test_count_only_returns_the_number_of_matching_rows(api):
    assert tuple(api(f"{LEASES}/print", **{"count-only": ""})) == ({"ret": 10},)


# --------------------------------------------------------------------------------------
# DHCP leases
# --------------------------------------------------------------------------------------


def test_make_static_flips_dynamic_and_keeps_the_id(router, api):
    leases = api.path("ip", "dhcp-server", "lease")
    tuple(leases("make-static", **{".id": "*4"}))
    (row,) = leases.select(Key(".id"), Key("dynamic")).where(Key("address") == "10.50.0.4")
    assert row == {".id": "*4", "dynamic": False}
    assert router.leases()[3]["dynamic"] == "false"


def test_lease_add_returns_the_new_id_and_stores_the_mac_in_uppercase(router, api):
    leases = api.path("ip", "dhcp-server", "lease")
    lease_id = leases.add(address="10.60.0.5", **{"mac-address": "aa-bb-cc-dd-ee-0f"}, server="dhcp1", comment="c1")
    assert lease_id == "*B"
    stored = router.leases()[-1]
    assert stored["mac-address"] == "AA:BB:CC:DD:EE:0F"
    assert (stored["dynamic"], stored["status"], stored["comment"]) == ("false", "waiting", "c1")


def test_lease_add_without_mac_address_traps_with_category_1(api):
    with pytest.raises(TrapError) as error:
        api.path("ip", "dhcp-server", "lease").add(address="10.60.0.5")
    assert error.value.category == 1
    assert "mac-address" in error.value.message


def test_a_second_static_lease_for_the_same_client_traps(api):
    leases = api.path("ip", "dhcp-server", "lease")
    leases.add(address="10.60.0.5", **{"mac-address": "AA:BB:CC:DD:EE:01"})
    with pytest.raises(TrapError, match="already have static lease for this client"):
        leases.add(address="10.60.0.6", **{"mac-address": "aa:bb:cc:dd:ee:01"})
    with pytest.raises(TrapError, match="already have static lease with this IP address"):
        leases.add(address="10.60.0.5", **{"mac-address": "AA:BB:CC:DD:EE:02"})


def test_a_lease_on_an_unknown_server_or_with_an_unknown_parameter_traps(api):
    leases = api.path("ip", "dhcp-server", "lease")
    with pytest.raises(TrapError, match="input does not match any value of server"):
        leases.add(address="10.60.0.5", **{"mac-address": "AA:BB:CC:DD:EE:01"}, server="nope")
    with pytest.raises(TrapError, match="unknown parameter mac_address"):
        leases.add(address="10.60.0.5", mac_address="AA:BB:CC:DD:EE:01")


# --------------------------------------------------------------------------------------
# Simple queues
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "read_back"),
    [
        ("10M/50M", "10000000/50000000"),
        ("512k/1M", "512000/1000000"),
        ("64k/64k", "64000/64000"),
        ("1G/1G", "1000000000/1000000000"),
    ],
)
def test_queue_limits_written_with_units_read_back_in_bits(api, written, read_back):
    queues = api.path("queue", "simple")
    queue_id = queues.add(name="plan", target="192.168.1.10", **{"max-limit": written, "limit-at": written})
    (row,) = queues.select(Key("max-limit"), Key("limit-at"), Key("target")).where(Key(".id") == queue_id)
    assert row == {"max-limit": read_back, "limit-at": read_back, "target": "192.168.1.10/32"}


def test_a_duplicate_queue_name_traps(api):
    queues = api.path("queue", "simple")
    queues.add(name="client-1", target="192.168.1.10")
    with pytest.raises(TrapError) as error:
        queues.add(name="client-1", target="192.168.1.11")
    assert (error.value.message, error.value.category) == ("failure: already have such name", 1)


def test_queues_can_be_updated_and_removed_and_missing_ids_trap(router, api):
    queues = api.path("queue", "simple")
    queue_id = queues.add(name="client-1", target="192.168.1.10")
    queues.update(**{".id": queue_id, "max-limit": "5M/20M", "comment": "plan B"})
    assert router.queues()[0]["max-limit"] == "5000000/20000000"
    assert router.queues()[0]["comment"] == "plan B"
    queues.remove(queue_id)
    assert router.queues() == []
    with pytest.raises(TrapError, match="no such item"):
        queues.update(**{".id": queue_id, "comment": "gone"})
    with pytest.raises(TrapError, match="no such item"):
        queues.remove(queue_id)


def test_enable_and_disable_accept_an_id_or_a_name(router, api):
    queues = api.path("queue", "simple")
    queue_id = queues.add(name="client-1", target="192.168.1.10")
    tuple(queues("disable", numbers="client-1"))
    assert router.queues()[0]["disabled"] == "true"
    tuple(queues("enable", **{".id": queue_id}))
    assert router.queues()[0]["disabled"] == "false"


# --------------------------------------------------------------------------------------
# PPP and system
# --------------------------------------------------------------------------------------


def test_a_ppp_secret_named_1001_comes_back_as_an_int(router, api):
    secrets = api.path("ppp", "secret")
    secrets.add(name="1001", password="pw", service="pppoe", profile="10M")
    (row,) = secrets.select(Key("name"), Key("service")).where(Key("name") == "1001")
    assert row == {"name": 1001, "service": "pppoe"}  # librouteros turns numeric-looking strings into int
    assert router.ppp_secrets()[0]["name"] == "1001"
    with pytest.raises(TrapError, match="secret with the same name already exists"):
        secrets.add(name="1001", password="other")


def test_ppp_active_lists_sessions_added_by_the_helper(router, api):
    router.add_ppp_active("alice", "100.64.0.2", "D0:D0:4B:36:7C:C1", uptime="2d3h14m5s")
    (row,) = api.path("ppp", "active")
    assert row["name"] == "alice"
    assert (row["address"], row["caller-id"], row["uptime"], row["service"]) == (
        "100.64.0.2",
        "D0:D0:4B:36:7C:C1",
        "2d3h14m5s",
        "pppoe",
    )
    tuple(api.path("ppp", "active")("remove", numbers="alice"))
    assert router.ppp_active() == []


def test_system_resource_and_identity_are_singletons_without_ids(router, api):
    router.set_resource(cpu_load=87)
    (resource,) = api.path("system", "resource")
    assert resource["version"] == "7.17 (stable)"
    assert resource["cpu-load"] == 87
    assert resource["platform"] == "MikroTik"
    assert ".id" not in resource
    tuple(api.path("system", "identity")("set", name="core-1"))
    assert list(api.path("system", "identity")) == [{"name": "core-1"}]


def test_commands_are_counted_and_logged(router, api):
    list(api.path("system", "identity"))
    api.path("queue", "simple").add(name="q", target="10.0.0.1")
    assert router.commands == 2
    assert [path for path, _ in router.command_log] == ["/system/identity/print", "/queue/simple/add"]


def test_reset_restores_the_initial_state(router, api):
    api.path("queue", "simple").add(name="q", target="10.0.0.1")
    router.trap_on("*", "boom")
    router.reset()
    assert router.queues() == []
    assert len(router.leases()) == 10
    assert list(api.path("system", "identity")) == [{"name": "EmuRouter"}]


# --------------------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------------------


def test_drop_after_sentences_closes_the_connection_without_replying(router, api):
    router.drop_after_sentences(2)
    list(api.path("system", "identity"))
    with pytest.raises(ConnectionClosed):
        list(api.path("system", "identity"))
    client = login(router)  # the fault is spent: a new connection works
    assert list(client.path("system", "identity")) == [{"name": "EmuRouter"}]
    client.close()


def test_a_drop_on_queue_add_keeps_the_lease_created_before_it(router, api):
    router.fail_on("/queue/simple/add", mode="drop")
    api.path("ip", "dhcp-server", "lease").add(address="10.60.0.5", **{"mac-address": "AA:BB:CC:DD:EE:01"})
    with pytest.raises(ConnectionClosed):
        api.path("queue", "simple").add(name="client-1", target="10.60.0.5")
    assert len(router.leases()) == 11
    assert router.queues() == []


def test_apply_then_drop_executes_the_command_but_loses_the_reply(router, api):
    router.fail_on("/queue/simple/add", mode="apply_then_drop", times=1)
    with pytest.raises(ConnectionClosed):
        api.path("queue", "simple").add(name="client-1", target="10.60.0.5")
    assert [queue["name"] for queue in router.queues()] == ["client-1"]


def test_trap_on_answers_the_command_with_the_message(router, api):
    router.trap_on("/queue/simple/add", "failure: out of memory")
    with pytest.raises(TrapError) as error:
        api.path("queue", "simple").add(name="client-1", target="10.60.0.5")
    assert error.value.message == "failure: out of memory"
    assert router.queues() == []
    router.clear_faults()
    api.path("queue", "simple").add(name="client-1", target="10.60.0.5")


def test_fatal_mode_ends_the_session_with_the_message(router, api):
    router.fail_on("/ip/dhcp-server/lease/*", mode="fatal", message="out of memory")
    with pytest.raises(FatalError, match="out of memory"):
        list(api.path("ip", "dhcp-server", "lease"))


def test_delay_makes_a_client_with_a_short_timeout_time_out(router):
    client = login(router, timeout=0.5)
    router.delay(1.5)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        list(client.path("system", "identity"))
    assert time.monotonic() - started < 1.4
    client.close()


# --------------------------------------------------------------------------------------
# TLS
# --------------------------------------------------------------------------------------


def pinned_wrapper(fingerprint: str, **context_options):
    """ssl_wrapper for librouteros: no CA check, but the certificate's SHA-256 must match."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def wrap(sock: socket.socket) -> ssl.SSLSocket:
        wrapped = context.wrap_socket(sock)
        seen = hashlib.sha256(wrapped.getpeercert(binary_form=True)).hexdigest()
        if seen != fingerprint:
            wrapped.close()
            raise ssl.SSLError(f"certificate fingerprint mismatch: {seen}")
        return wrapped

    return wrap


def test_tls_with_a_certificate_can_be_pinned_by_fingerprint(tmp_path):
    cert_file = tmp_path / "router.pem"
    with RouterOSEmulator(tls="cert", cert_path=str(cert_file)) as router:
        assert cert_file.read_text() == router.cert_pem
        client = login(router, ssl_wrapper=pinned_wrapper(router.cert_sha256_fingerprint))
        assert list(client.path("system", "identity")) == [{"name": "EmuRouter"}]
        client.close()
        with pytest.raises(ssl.SSLError, match="fingerprint mismatch"):
            login(router, ssl_wrapper=pinned_wrapper("00" * 32))


def _anonymous_dh_available() -> bool:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.set_ciphers("ADH:@SECLEVEL=0")
    except ssl.SSLError:
        return False
    return bool(context.get_ciphers())


@pytest.mark.skipif(not _anonymous_dh_available(), reason="this OpenSSL build offers no anonymous DH (ADH) suites")
def test_anonymous_tls_works_like_api_ssl_without_a_certificate():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ADH:@SECLEVEL=0")
    with RouterOSEmulator(tls="anonymous") as router:
        client = login(router, ssl_wrapper=context.wrap_socket)
        assert client.protocol.transport.sock.cipher()[0].startswith("ADH-")
        assert list(client.path("system", "identity")) == [{"name": "EmuRouter"}]
        client.close()


# --------------------------------------------------------------------------------------
# Load and standalone mode
# --------------------------------------------------------------------------------------


def test_one_hundred_sequential_connections_are_served(router):
    for _ in range(100):
        client = login(router)
        assert list(client.path("system", "identity")) == [{"name": "EmuRouter"}]
        client.close()
    assert router.connections == 100


def test_concurrent_clients_share_one_state(router):
    errors: list[BaseException] = []

    def add_queues(worker: int) -> None:
        try:
            client = login(router)
            for index in range(10):
                client.path("queue", "simple").add(name=f"w{worker}-{index}", target=f"10.9.{worker}.{index + 1}")
            client.close()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=add_queues, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    ids = [queue[".id"] for queue in router.queues()]
    assert len(ids) == len(set(ids)) == 80


def test_the_emulator_listens_on_loopback_only(router):
    assert router.host == "127.0.0.1"
    assert router._server.socket.getsockname()[0] == "127.0.0.1"


def test_standalone_mode_prints_where_it_listens_and_serves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.routeros", "--port", "0", "--leases", "3", "--password", "pw"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert match, line
        client = librouteros.connect("127.0.0.1", "admin", "pw", port=int(match.group(1)), timeout=3)
        assert len(list(client.path("ip", "dhcp-server", "lease"))) == 3
        client.close()
    finally:
        process.terminate()
        process.wait(5)
        process.stdout.close()
