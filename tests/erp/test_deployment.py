"""Production readiness: check --deploy is clean, migrations are complete, the schema and compose file hold."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    from erp.devkeys import _new_rsa_pair

    private, public = _new_rsa_pair()
    (tmp_path / "private.pem").write_text(private)
    (tmp_path / "public.pem").write_text(public)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "emerald.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://emerald.example.com",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "JWT_PRIVATE_KEY": str(tmp_path / "private.pem"),
        "JWT_PUBLIC_KEY": str(tmp_path / "public.pem"),
        "EMERALD_VAR_DIR": str(tmp_path / "var"),
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # Production never falls back to generated development secrets.
    assert not (tmp_path / "var").exists()


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")}
    env.update({"DEBUG": "false", "ALLOWED_HOSTS": "x.example", "EMERALD_VAR_DIR": str(tmp_path)})
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    result = manage("spectacular", "--fail-on-warn", "--file", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/auth/login/" in schema["paths"]


@pytest.mark.django_db
def test_api_docs_pages_are_served(anon_client):
    assert anon_client.get("/api/schema/").status_code == 200
    assert b"swagger" in anon_client.get("/api/docs/").content.lower()
    assert b"redoc" in anon_client.get("/api/redoc/").content.lower()


def _module_exists(dotted: str) -> bool:
    return (ROOT / (dotted.replace(".", "/") + ".py")).exists() or (ROOT / dotted.replace(".", "/")).is_dir()


def _command(service) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_compose_services_point_at_modules_that_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("db", "redis", "web"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    web = _command(services["web"])
    assert "migrate" in web.split("&&")[0]
    asgi_target = next(tok.strip("\"'") for tok in web.split() if ":application" in tok)
    assert _module_exists(asgi_target.split(":")[0])
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in ("worker", "beat"):
        assert "-A erp" in _command(services[name]) and _module_exists("erp.celery")
    assert "django_celery_beat.schedulers:DatabaseScheduler" in _command(services["beat"])
    assert (ROOT / services["web"]["build"]["dockerfile"]).exists()
