"""`accord serve --load-examples` publishes the shipped examples, idempotently."""

from __future__ import annotations

from registry.db import Database
from registry.seed import example_files, publish_files
from tests.conftest import EXAMPLE_FILES


def test_examples_load_idempotently(database_url: str) -> None:
    assert [p.name for p in example_files()] == [p.name for p in EXAMPLE_FILES]
    db = Database(database_url)
    try:
        first = [(p.created, p.version.version) for _, p in publish_files(db, example_files())]
        again = [(p.created, p.version.version) for _, p in publish_files(db, example_files())]
    finally:
        db.dispose()
    assert first == [(True, 1)] * 3
    assert again == [(False, 1)] * 3
