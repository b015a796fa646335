"""Shared fixtures. Components are real: files on disk, the real CLI, real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "contracts" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.fixture
def orders_text() -> str:
    return (EXAMPLES / "orders.created.yaml").read_text()
