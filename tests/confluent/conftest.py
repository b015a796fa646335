"""Fixtures of the Schema Registry API tests.

`registry_url`: a real registry (`accord serve`) per database, SQLite and PostgreSQL, shared
by the session; tests use their own subject names (`subject`). `client`: an in-process
TestClient over a fresh SQLite database, for the HTTP shape. `kafka_broker` is the Kafka
tests' Tansu broker.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.migrate import alembic_config
from registry.settings import Settings
from tests.kafka.conftest import kafka_broker
from tests.processes import running_registry
from tests.registry.conftest import DATABASES, empty_database

__all__ = ["kafka_broker"]

SR_JSON = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="session", params=DATABASES)
def registry_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of a running registry over a fresh, empty database."""
    tmp = tmp_path_factory.mktemp(f"registry-{request.param}")
    with empty_database(request.param, tmp) as url, running_registry(url, tmp) as base:
        yield base


@pytest.fixture
def sr(registry_url: str) -> Iterator[SchemaRegistryClient]:
    """confluent-kafka's own client, pointed at the registry with no path."""
    with SchemaRegistryClient({"url": registry_url}) as client:
        yield client


@pytest.fixture
def subject() -> Callable[[str], str]:
    """Unique subject names for this test: ``subject("value")`` -> ``orders-<hex>-value``."""
    stem = f"orders-{uuid.uuid4().hex[:8]}"
    return lambda suffix="value": f"{stem}-{suffix}"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    command.upgrade(alembic_config(url), "head")
    with TestClient(create_app(Settings(database_url=url, auth=False))) as test_client:
        yield test_client


def json_schema(schema: Any, **extra: Any) -> Schema:
    """A JSON Schema as the client registers it."""
    return Schema(json.dumps(schema), "JSON", **extra)


def record(*required: str, closed: bool = False, **fields: str) -> dict[str, Any]:
    """An object schema with `fields` (name: type), `required` ones, open unless `closed`."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: {"type": kind} for name, kind in fields.items()},
        "required": list(required),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def body(schema: Any, **extra: Any) -> dict[str, Any]:
    """A register / lookup / compatibility request body."""
    return {"schema": json.dumps(schema), "schemaType": "JSON", **extra}
