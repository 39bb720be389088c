"""External API keys: `ApiKey <key>` authenticates; unknown, revoked and expired keys get their own 401 codes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from integrations import api_keys
from integrations.models import ExternalAPIKey

pytestmark = pytest.mark.django_db

URL = "/api/external/articulos/"


def call(key=None, header="ApiKey", method="get", path=URL, **kw):
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{header} {key}")
    return getattr(client, method)(path, format="json", **kw)


def test_only_a_hash_of_the_key_is_stored(make_key):
    row, key = make_key()
    stored = ExternalAPIKey.objects.get(pk=row.pk)
    assert key not in stored.hashed_key and key not in stored.id
    assert stored.hashed_key.startswith("sha512$$")


@pytest.mark.parametrize("header", ["ApiKey", "Api-Key", "apikey"])
def test_a_valid_key_reads_with_either_keyword(make_key, header):
    _, key = make_key()
    assert call(key, header=header).status_code == 200


@pytest.mark.parametrize(
    "key,expected",
    [
        (None, "INVALID_API_KEY"),
        ("", "INVALID_API_KEY"),
        ("nonsense", "INVALID_API_KEY"),
        ("abc.def", "INVALID_API_KEY"),
    ],
)
def test_missing_or_unknown_keys_are_401_invalid(db, key, expected):
    response = call(key)
    assert response.status_code == 401
    assert response.json()["code"] == expected


def test_a_right_prefix_with_a_wrong_secret_is_invalid_not_revoked(make_key):
    row, key = make_key()
    api_keys.revoke_key(row)
    response = call(key.split(".")[0] + ".wrongsecretwrongsecretwrongsecre")
    assert response.json()["code"] == "INVALID_API_KEY"


def test_a_revoked_key_is_401_revoked(make_key):
    row, key = make_key()
    api_keys.revoke_key(row)
    response = call(key)
    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_REVOKED"


def test_an_expired_key_is_401_expired(make_key):
    _, key = make_key(expiry_date=timezone.now() - timedelta(minutes=1))
    response = call(key)
    assert response.status_code == 401
    assert response.json()["code"] == "API_KEY_EXPIRED"


def test_a_key_without_the_scope_is_403(make_key, onu):
    _, key = make_key(scopes=["read"])
    assert call(key).status_code == 200
    response = call(
        key,
        method="post",
        path="/api/external/movimientos/",
        data={"kind": "entrada", "article": onu.code, "quantity": "1"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_staff_jwt_does_not_open_the_external_api(staff_client):
    assert staff_client.get(URL).status_code == 401


def test_last_used_is_recorded_at_most_once_a_minute(make_key):
    row, key = make_key()
    call(key)
    first = ExternalAPIKey.objects.get(pk=row.pk).last_used_at
    assert first is not None
    call(key)
    assert ExternalAPIKey.objects.get(pk=row.pk).last_used_at == first


def test_each_key_is_throttled_at_its_own_rate_with_retry_after(make_key):
    _, slow = make_key(rate="3/minute", name="lento")
    _, other = make_key(name="otro")
    statuses = [call(slow).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = call(slow)
    assert throttled.json()["code"] == "RATE_LIMITED"
    assert int(throttled["Retry-After"]) > 0
    assert call(other).status_code == 200


def test_failed_key_checks_are_throttled_per_ip(make_key, settings):
    settings.API_KEY_FAILURES_PER_MINUTE = 5
    _, good = make_key()
    statuses = [call("guess.guessguessguess").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    blocked = call(good)  # even a good key waits: the IP is guessing
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "TOO_MANY_FAILED_ATTEMPTS"
