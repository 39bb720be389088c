"""Secrets for development: generated once into var/ (gitignored); production must provide them."""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def _read_or_create(path: Path, make) -> str:
    """Return the file's text, creating it atomically first so parallel processes agree on one value."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(make())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race; its value stands
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text()


def _require(name: str, debug: bool) -> None:
    if not debug:
        raise ImproperlyConfigured(f"{name} must be set in the environment when DEBUG is false.")


def secret_key(var_dir: Path, *, debug: bool) -> str:
    _require("SECRET_KEY", debug)
    return _read_or_create(var_dir / "secret_key", lambda: secrets.token_urlsafe(50)).strip()


def fernet_keys(var_dir: Path, *, debug: bool) -> list[str]:
    from cryptography.fernet import Fernet

    _require("FIELD_ENCRYPTION_KEYS", debug)
    text = _read_or_create(var_dir / "field_encryption_keys", lambda: Fernet.generate_key().decode())
    return [k.strip() for k in text.split(",") if k.strip()]


def _pem(value: str) -> str:
    """Accept a PEM or a path to one."""
    if value and not value.lstrip().startswith("-----BEGIN"):
        return Path(value).read_text()
    return value


def _new_rsa_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def jwt_keys(var_dir: Path, *, private: str, public: str, debug: bool) -> tuple[str, str]:
    if private and public:
        return _pem(private), _pem(public)
    _require("JWT_PRIVATE_KEY and JWT_PUBLIC_KEY", debug)
    # One file holds both halves so a racing process can never pair a private key with another's public key.
    text = _read_or_create(var_dir / "jwt_keypair.pem", lambda: "".join(_new_rsa_pair()))
    marker = "-----BEGIN PUBLIC KEY-----"
    head, _, tail = text.partition(marker)
    return head, marker + tail
