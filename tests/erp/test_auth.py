"""Staff authentication: login with email, refresh rotation, the public key, and calling the API with a JWT."""

import jwt
import pytest

pytestmark = pytest.mark.django_db


def login(client, email, password):
    return client.post("/api/auth/login/", {"email": email, "password": password}, format="json")


def test_login_returns_tokens_and_the_user(anon_client, staff_user, password):
    response = login(anon_client, "staff@emerald.test", password)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {"id": str(staff_user.id), "email": "staff@emerald.test"}


def test_login_email_is_case_insensitive(anon_client, staff_user, password):
    assert login(anon_client, "Staff@Emerald.Test", password).status_code == 200


def test_wrong_password_is_401_with_a_clear_message(anon_client, staff_user):
    response = login(anon_client, "staff@emerald.test", "nope")
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "Correo o contraseña incorrectos.",
        "code": "INVALID_CREDENTIALS",
        "details": None,
    }


def test_inactive_user_cannot_log_in(anon_client, staff_user, password):
    staff_user.is_active = False
    staff_user.save()
    assert login(anon_client, "staff@emerald.test", password).status_code == 401


def test_access_token_calls_an_authenticated_endpoint(anon_client, staff_user, password):
    access = login(anon_client, "staff@emerald.test", password).json()["access"]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = anon_client.get("/api/auth/me/")
    assert response.status_code == 200
    assert response.json()["email"] == "staff@emerald.test"


def test_refresh_rotates_and_a_used_refresh_token_is_refused(anon_client, staff_user, password):
    refresh = login(anon_client, "staff@emerald.test", password).json()["refresh"]
    first = anon_client.post("/api/auth/refresh/", {"refresh": refresh}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != refresh
    again = anon_client.post("/api/auth/refresh/", {"refresh": refresh}, format="json")
    assert again.status_code == 401
    assert again.json()["success"] is False


def test_tokens_verify_with_the_published_public_key(anon_client, staff_user, password):
    access = login(anon_client, "staff@emerald.test", password).json()["access"]
    published = anon_client.get("/api/auth/public-key/").json()
    assert published["algorithm"] == "RS256"
    claims = jwt.decode(access, published["public_key"], algorithms=["RS256"], options={"verify_aud": False})
    assert claims["user_id"] == str(staff_user.id)
    assert claims["iss"] == "emerald"


def test_a_token_signed_by_another_key_is_refused(anon_client, staff_user):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"user_id": str(staff_user.id), "token_type": "access", "exp": 9999999999, "jti": "x", "iss": "emerald"},
        other,
        algorithm="RS256",
    )
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = anon_client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_login_is_throttled_per_client(anon_client, staff_user, settings):
    statuses = [login(anon_client, "staff@emerald.test", "bad").status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10, statuses
    assert statuses[-1] == 429, statuses
