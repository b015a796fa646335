"""Publishing contract files straight into the database (``accord serve --load-examples``)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from contracts import load_file
from registry.db import Database
from registry.intake import Candidate
from registry.publishing import Published, publish

__all__ = ["example_files", "publish_files"]


def example_files() -> list[Path]:
    """The example contracts shipped in the `contracts` package."""
    folder = resources.files("contracts").joinpath("examples")
    return sorted(Path(str(folder)).glob("*.yaml"))


def publish_files(db: Database, paths: list[Path]) -> Iterator[tuple[Path, Published]]:
    """Publish each file in order (idempotent: identical content is the existing version).

    Raises what `contracts.load_file` and `publishing.publish` raise, for the file at fault.
    """
    for path in paths:
        yield path, publish(db, Candidate.of(load_file(str(path))))
