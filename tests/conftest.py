"""Shared fixtures. Components are real: files on disk, the real CLI, real servers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "contracts" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
# The console script, as users run it (`python -m accord` would let a `contracts/` folder in
# the working directory shadow the package).
ACCORD = str(Path(sys.executable).parent / "accord")


@pytest.fixture
def orders_text() -> str:
    return (EXAMPLES / "orders.created.yaml").read_text()
