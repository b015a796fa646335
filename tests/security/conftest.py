"""Security fixtures: a registry with authentication on, over SQLite and PostgreSQL, and an
API token for every role (producers and consumers of two teams each)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.auth import Role
from registry.auth.tokens import create_token
from registry.db import Database
from registry.migrate import alembic_config
from registry.settings import Settings
from tests.registry.conftest import (  # noqa: F401  (fixtures, re-exported for pytest)
    DATABASES,
    database_url,
    empty_database,
    empty_database_url,
)

OWN, OTHER = "payments", "billing"  # producer teams
READS, ELSEWHERE = "analytics", "marketing"  # consumer teams

# name -> (role, teams); "none" sends no credentials.
PRINCIPALS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("admin", ()),
    "producer_own": ("producer", (OWN,)),
    "producer_other": ("producer", (OTHER,)),
    "consumer_own": ("consumer", (READS,)),
    "consumer_other": ("consumer", (ELSEWHERE,)),
    "reporter": ("reporter", ()),
    "reader": ("reader", ()),
}


def make_token(url: str, role: str, *teams: str, **kwargs: Any) -> str:
    db = Database(url)
    try:
        token, _ = db.write(lambda s: create_token(s, role=Role(role), teams=teams, **kwargs))
    finally:
        db.dispose()
    return token


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@dataclass
class Secured:
    """A client of a registry with authentication on, and a token per principal."""

    client: TestClient
    database_url: str
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens.get(who))

    def as_(self, who: str) -> dict[str, str]:
        return self.headers(who)


def secure_settings(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"sla_interval": 0, "webhook_interval": 0, "auth": True}
    return Settings(database_url=url, **(values | overrides))


def _tokens(url: str) -> dict[str, str]:
    return {who: make_token(url, role, *teams) for who, (role, teams) in PRINCIPALS.items()}


@pytest.fixture
def secured(database_url: str) -> Iterator[Secured]:  # noqa: F811
    """A fresh database per test, authentication on."""
    app: FastAPI = create_app(secure_settings(database_url))
    with TestClient(app) as client:
        yield Secured(client, database_url, _tokens(database_url))


@pytest.fixture(scope="module", params=DATABASES)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Secured]:
    """One database per module and backend (tests use names of their own)."""
    folder: Path = tmp_path_factory.mktemp("secured")
    with empty_database(request.param, folder) as url:
        command.upgrade(alembic_config(url), "head")
        app = create_app(secure_settings(url))
        with TestClient(app) as client:
            yield Secured(client, url, _tokens(url))


_names = itertools.count(1)


def fresh_name(prefix: str = "sec") -> str:
    return f"{prefix}{next(_names)}.events"


def contract_doc(name: str, team: str = OWN, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": {"type": "string"}, "amount": {"type": "integer"}}
    properties |= {field: {"type": "string"} for field in extra}
    return {
        "name": name,
        "description": f"Security test events {name}.",
        "owner": {"team": team},
        "compatibility": {"mode": "BACKWARD", "policy": "STRICT"},
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": properties,
        },
    }
