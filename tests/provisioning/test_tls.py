"""API-SSL: verify the router's certificate against a CA, pin its SHA-256, or opt into anonymous DH."""

import pytest

from provisioning.routeros import RouterAuthError, RouterClient, RouterConfig, RouterUnreachableError
from tests.emulators.routeros import RouterOSEmulator


@pytest.fixture(scope="module")
def tls_router():
    with RouterOSEmulator(tls="cert") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def adh_router():
    with RouterOSEmulator(tls="anonymous") as emulator:
        yield emulator


def tls_config(emulator, **overrides):
    values = {"host": emulator.host, "port": emulator.port, "username": "admin", "password": "secret"}
    return RouterConfig(**{**values, "use_ssl": True, "timeout_s": 2, **overrides})


def test_verify_mode_trusts_a_router_signed_by_the_configured_ca(tls_router):
    with RouterClient(tls_config(tls_router, tls_mode="verify", ca_certificate=tls_router.cert_pem)) as client:
        assert client.identity() == "EmuRouter"


def test_verify_mode_refuses_an_unknown_certificate(tls_router):
    with pytest.raises(RouterAuthError, match="certificado"), RouterClient(tls_config(tls_router, tls_mode="verify")):
        pass


@pytest.mark.parametrize("colons", [False, True])
def test_fingerprint_mode_accepts_the_pinned_certificate(tls_router, colons):
    pin = tls_router.cert_sha256_fingerprint
    if colons:
        pin = ":".join(pin[i : i + 2] for i in range(0, len(pin), 2)).upper()
    with RouterClient(tls_config(tls_router, tls_mode="fingerprint", tls_fingerprint=pin)) as client:
        assert client.identity() == "EmuRouter"


def test_fingerprint_mode_refuses_another_certificate(tls_router):
    config = tls_config(tls_router, tls_mode="fingerprint", tls_fingerprint="00" * 32)
    logins_before = tls_router.logins
    with pytest.raises(RouterAuthError, match="huella"), RouterClient(config):
        pass
    assert tls_router.logins == logins_before  # the pin is checked before the password is sent


def test_anonymous_mode_talks_to_a_router_without_certificate(adh_router):
    with RouterClient(tls_config(adh_router, tls_mode="anonymous")) as client:
        assert client.identity() == "EmuRouter"


def test_a_tls_client_against_a_plain_port_fails_cleanly(routeros):
    config = tls_config(routeros, tls_mode="anonymous", timeout_s=1)
    with pytest.raises((RouterUnreachableError, RouterAuthError)), RouterClient(config):
        pass
