"""A real registry: `accord serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ACCORD

__all__ = ["free_port", "running_registry"]


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
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"registry exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("registry did not become healthy in 30 s")
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
