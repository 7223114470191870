"""Alembic migrations, one history per service schema, run programmatically.

Each service keeps its revisions in ``infra/migrations/<service>/versions``
and its alembic version table inside its own schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.embedded_pg import quote_ident

MIGRATIONS = Path(__file__).resolve().parent.parent / "infra" / "migrations"
SERVICES = {"accounts": "accounts", "deals": "deals"}  # service -> default schema


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` → the asyncpg dialect URL SQLAlchemy wants."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


def _config(service: str, schema: str, connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS / service))
    cfg.attributes["connection"] = connection
    cfg.attributes["schema"] = schema
    return cfg


async def upgrade(
    url: str, service: str, schema: str | None = None, revision: str = "heads"
) -> None:
    """Bring ``service``'s schema up to ``revision``."""
    await _run(command.upgrade, url, service, schema, revision)


async def downgrade(url: str, service: str, schema: str | None, revision: str) -> None:
    """Take ``service``'s schema back down to ``revision`` (e.g. ``"0011"``, ``"0101-1"``)."""
    await _run(command.downgrade, url, service, schema, revision)


async def _run(step: Any, url: str, service: str, schema: str | None, revision: str) -> None:
    schema = schema or SERVICES[service]
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: step(_config(service, schema, sync), revision))
    finally:
        await engine.dispose()


async def upgrade_all(url: str) -> None:
    """Migrate every service to head."""
    for service in SERVICES:
        await upgrade(url, service)


def run_env(context: Any) -> None:
    """Body of every ``env.py``: migrate inside the service schema."""
    connection = context.config.attributes["connection"]
    schema = context.config.attributes["schema"]
    connection.execute(text("create schema if not exists " + quote_ident(schema)))
    connection.execute(
        text("select set_config('search_path', :path, false)"), {"path": quote_ident(schema)}
    )
    context.configure(
        connection=connection,
        version_table_schema=schema,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
