"""Monitoring fixtures: a migrated database on SQLite and PostgreSQL (the registry tests'
fixtures), an app whose background loops are off (tests drive them), and a local HTTP
server that receives webhooks."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from registry.app import create_app
from registry.monitoring import Monitor
from registry.settings import Settings
from tests.registry.conftest import (  # noqa: F401  (fixtures, re-exported for pytest)
    database_url,
    empty_database_url,
)

QUIET = 60.0


@pytest.fixture
def settings(database_url: str) -> Settings:  # noqa: F811 (the imported fixture)
    return Settings(
        database_url=database_url,
        auth=False,
        sla_interval=0,
        webhook_interval=0,
        webhook_backoff=0.2,
        webhook_attempts=3,
        episode_quiet=QUIET,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def monitor(app: FastAPI) -> Monitor:
    found: Monitor = app.state.monitor
    return found


# -- documents ----------------------------------------------------------------------------


def sla_contract(
    name: str = "shop.orders",
    *,
    team: str = "checkout",
    max_delay: str = "PT10M",
    window: str = "PT1H",
    minimum: int | None = 5,
    max_breach_rate: float | None = 0.1,
    extra_required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A small contract with an SLA on every check Accord evaluates."""
    sla: dict[str, Any] = {"freshness": {"field": "ts", "max_delay": max_delay}}
    if minimum is not None:
        sla["volume"] = {"window": window, "min": minimum}
    if max_breach_rate is not None:
        sla["max_breach_rate"] = max_breach_rate
    doc = {
        "name": name,
        "description": f"Events of {name}, for monitoring tests.",
        "owner": {"team": team},
        "tags": ["monitoring"],
        "compatibility": {"mode": "BACKWARD", "policy": "STRICT"},
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "ts", *extra_required],
            "properties": {
                "id": {"type": "string"},
                "ts": {"type": "string", "format": "date-time"},
                "amount": {"type": "integer"},
                "note": {"type": "string"},
            },
        },
        "sla": sla,
    }
    return copy.deepcopy(doc)


def publish(client: TestClient, doc: dict[str, Any]) -> int:
    response = client.post(f"/contracts/{doc['name']}/versions", json=doc)
    assert response.status_code in (200, 201), response.text
    version: int = response.json()["version"]
    return version


def register(client: TestClient, url: str, **fields: Any) -> dict[str, Any]:
    """Register a webhook; its body, the secret included."""
    response = client.post("/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


_counter = iter(range(1, 10**9))


def observation(
    contract: str,
    start: datetime,
    *,
    records: int = 10,
    invalid: int = 0,
    newest: datetime | None = None,
    minutes: int = 1,
) -> dict[str, Any]:
    return {
        "id": f"obs-{next(_counter)}",
        "contract": contract,
        "version": 1,
        "window_start": iso(start),
        "window_end": iso(start + timedelta(minutes=minutes)),
        "records": records,
        "valid": records - invalid,
        "invalid": invalid,
        "max_event_time": iso(newest) if newest else None,
    }


def breach(
    contract: str, start: datetime, *, rule: str = "required", kind: str = "schema", count: int = 1
) -> dict[str, Any]:
    return {
        "id": f"breach-{next(_counter)}",
        "contract": contract,
        "version": 1,
        "kind": kind,
        "rule": rule,
        "severity": "error",
        "window_start": iso(start),
        "window_end": iso(start + timedelta(minutes=1)),
        "count": count,
        "first_seen": iso(start),
        "last_seen": iso(start),
        "samples": [{"path": "/id", "message": "'id' is a required property", "record": {}}],
    }


def report(
    client: TestClient,
    source: str,
    *,
    observations: list[dict[str, Any]] = (),  # type: ignore[assignment]
    breaches: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """POST one batch; its receipt."""
    body = {"source": source, "observations": list(observations), "breaches": list(breaches)}
    response = client.post("/breaches", json=body)
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


# -- a webhook receiver --------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server recording every POST; answers with `statuses` in turn (then 200)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.json["type"] == event_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            target = state["receiver"]
            with target.lock:
                target.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = target.statuses.pop(0) if target.statuses else 200
            answer = b"ok" if status < 300 else b"internal detail"
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    state["receiver"] = Receiver(f"http://127.0.0.1:{port}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
