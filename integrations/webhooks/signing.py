"""Webhook signatures: Standard Webhooks (`webhook-signature: v1,<b64>`) and `X-Emerald-Signature: sha256=<hex>`.

Key bytes: a secret is shown as ``whsec_<base64>``; the HMAC key of BOTH outbound schemes is the
base64-decoded part after ``whsec_`` (exactly what the ``standardwebhooks`` library uses), never the
``whsec_...`` text itself. A receiver checking ``X-Emerald-Signature`` therefore computes
``hmac.new(base64.b64decode(secret.removeprefix("whsec_")), raw_body, sha256).hexdigest()``.
"""

import base64
import hashlib
import hmac
import secrets as _secrets

PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec allows 24..64 random bytes


def generate_secret() -> str:
    return PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def key_bytes(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_`` secret (padding tolerated, as the reference library does)."""
    encoded = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    return base64.b64decode(encoded + "==")


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_hex(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the decoded whsec bytes."""
    return "sha256=" + hmac.new(key_bytes(secret), body, hashlib.sha256).hexdigest()


def signature_headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers for one attempt; during a rotation every header carries one signature per secret, space-separated."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign_standard(s, msg_id, timestamp, body) for s in secrets),
        "X-Emerald-Signature": " ".join(sign_hex(s, body) for s in secrets),
    }
