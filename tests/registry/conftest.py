"""Registry fixtures: a fresh, Alembic-migrated database per test, on SQLite and PostgreSQL.

PostgreSQL runs when ``ACCORD_TEST_POSTGRES_URL`` is set (CI sets it) and then must be
reachable: an unreachable server fails the tests, it never skips them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.migrate import alembic_config
from registry.settings import Settings
from tests.conftest import EXAMPLES
from tests.processes import fresh_postgres_database

POSTGRES_URL = os.environ.get("ACCORD_TEST_POSTGRES_URL")
_NO_POSTGRES = pytest.mark.skip(reason="ACCORD_TEST_POSTGRES_URL is not set: PostgreSQL skipped")

DATABASES = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[pytest.mark.postgres] + ([] if POSTGRES_URL else [_NO_POSTGRES]),
    ),
]


@contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        assert POSTGRES_URL, "ACCORD_TEST_POSTGRES_URL is not set"
        with fresh_postgres_database(POSTGRES_URL) as url:
            yield url


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables at all."""
    with empty_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A fresh database migrated to head by Alembic."""
    command.upgrade(alembic_config(empty_database_url), "head")
    return empty_database_url


@pytest.fixture
def app(database_url: str) -> FastAPI:
    # Authentication off: these suites test the API itself (tests/security tests auth).
    return create_app(Settings(database_url=database_url, auth=False))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


# -- documents ----------------------------------------------------------------------------


def example(name: str = "orders.created") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return data


def small(
    name: str = "demo.events",
    extra: tuple[str, ...] = (),
    *,
    required: tuple[str, ...] = ("id",),
    mode: str = "BACKWARD",
    **fields: Any,
) -> dict[str, Any]:
    """A small contract with a closed schema: `id`, `amount`, plus optional `extra` fields."""
    properties: dict[str, Any] = {"id": {"type": "string"}, "amount": {"type": "integer"}}
    properties |= {field: {"type": "string"} for field in extra}
    doc: dict[str, Any] = {
        "name": name,
        "description": f"Test events {name}.",
        "owner": {"team": "payments"},
        "compatibility": {"mode": mode, "policy": "STRICT"},
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": list(required),
            "properties": properties,
        },
    }
    return copy.deepcopy(doc | fields)


def error_of(response: Any) -> dict[str, Any]:
    """The error object of an error response, checking the shape every error has."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error
