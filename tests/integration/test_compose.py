"""docker-compose.yml and infra/Dockerfile agree with the code (no Docker engine needed).

The compose file is loaded, its ``${VAR}`` references filled in as Compose
would, and then checked: the services exist with health checks and the
right start-up order, every environment variable is one the settings
really read, the settings accept the production environment, and ports,
URLs and commands line up with each other and with the code.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

from shared.cli import app as cli
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"accounts": 8001, "deals": 8002}
SAMPLE = {
    "POSTGRES_PASSWORD": "pg-secret",
    "JWT_SECRET": "j" * 40,
    "MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}
_REF = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value, env: dict[str, str]):
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name):
            return env[name]
        if op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg

    return _REF.sub(one, value)


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), SAMPLE)


def test_missing_secrets_stop_compose_before_anything_starts() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    for secret in SAMPLE:
        with pytest.raises(KeyError, match=secret):
            interpolate(raw, {k: v for k, v in SAMPLE.items() if k != secret})


def test_services_images_and_health_checks(compose) -> None:
    services = compose["services"]
    assert {"postgres", "nats", "migrate", *SERVICES} <= set(services)
    assert services["postgres"]["image"] == "postgres:17"
    assert services["nats"]["image"].startswith("nats:")
    assert "--jetstream" in services["nats"]["command"]
    for name in ("postgres", "nats", *SERVICES):
        check = services[name]["healthcheck"]
        assert check["test"] and check["interval"] and check["retries"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])

    build = services["migrate"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    image = services["migrate"]["image"]
    assert all(services[name]["image"] == image for name in SERVICES)  # one image
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["nats"]["condition"] == "service_healthy"


def test_every_variable_is_read_by_the_settings(compose, monkeypatch) -> None:
    services = compose["services"]
    known = {name.upper() for name in Settings.model_fields}
    postgres = services["postgres"]["environment"]
    for name in ("migrate", *SERVICES):
        env = services[name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
        assert {"DATABASE_URL", "JWT_SECRET", "MASTER_KEY", "NATS_URL"} <= set(env)
        for key in list(Settings.model_fields):
            monkeypatch.delenv(key.upper(), raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, str(value))
        settings = Settings()  # production mode: refuses weak or missing secrets
        assert settings.dealtrail_env == "prod" and len(settings.master_key_bytes) == 32
        db = urlsplit(settings.database_url)
        assert db.hostname == "postgres" and db.path == "/" + postgres["POSTGRES_DB"]
        assert (db.username, db.password) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
        )
        assert urlsplit(settings.nats_url).hostname == "nats"
        for other, port in SERVICES.items():
            url = urlsplit(getattr(settings, f"{other}_base_url"))
            assert (url.hostname, url.port) == (other, port)


def test_commands_ports_and_health_urls_line_up(compose) -> None:
    services = compose["services"]
    for name, port in SERVICES.items():
        service = services[name]
        command = service["command"]
        assert command[0] == "uvicorn" and "--factory" in command
        module, _, factory = command[1].partition(":")
        assert callable(getattr(importlib.import_module(module), factory))
        assert f"--port={port}" in command and "--host=0.0.0.0" in command
        assert service["environment"][f"{name.upper()}_PORT"] == str(port)
        assert service["ports"] == [f"{port}:{port}"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    migrate = services["migrate"]["command"]
    assert migrate[0] == "dealtrail"
    assert migrate[1] in typer.main.get_command(cli).commands


def test_dockerfile_ships_code_migrations_and_a_non_root_user() -> None:
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    for copied in ("shared", "services", "infra/migrations", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", dockerfile, re.M), copied
        assert (ROOT / copied).exists()
    assert re.search(r"^RUN pip install -e \.", dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.M).group(1).split()
    assert sorted(int(p) for p in exposed) == sorted(SERVICES.values())
