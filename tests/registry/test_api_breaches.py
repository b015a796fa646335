"""Breach reports over HTTP: idempotent intake, queries, and a reporter against a real server."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient

from contracts import load_file
from enforcers.record_validator import validator_for
from enforcers.registry_client import RegistryClient, RegistryError
from enforcers.reporting import BreachReporter
from registry.api_models import MAX_BREACH_COUNT
from registry.migrate import alembic_config
from tests.conftest import EXAMPLES
from tests.processes import free_port, running_registry
from tests.registry.conftest import error_of, example


def batch(batch_id: str = "b1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batch_id": batch_id,
        "source": "orders-consumer",
        "breaches": [
            {
                "id": f"{batch_id}:0",
                "contract": "orders.created",
                "version": 1,
                "kind": "schema",
                "rule": "enum",
                "severity": "error",
                "window_start": "2026-05-01T12:00:00Z",
                "window_end": "2026-05-01T12:01:00Z",
                "count": 7,
                "first_seen": "2026-05-01T12:00:05Z",
                "last_seen": "2026-05-01T12:00:55Z",
                "samples": [{"path": "/channel", "message": "bad", "record": {"channel": "fax"}}],
            },
            {
                "id": f"{batch_id}:1",
                "contract": "orders.created",
                "version": 1,
                "kind": "rule",
                "rule": "shipped_after_created",
                "window_start": "2026-05-01T13:05:00Z",
                "window_end": "2026-05-01T13:06:00Z",
                "count": 2,
                "first_seen": "2026-05-01T13:05:01Z",
                "last_seen": "2026-05-01T13:05:02Z",
            },
        ],
        "observations": [
            {
                "id": f"{batch_id}:o",
                "contract": "orders.created",
                "version": 1,
                "window_start": "2026-05-01T12:00:00Z",
                "window_end": "2026-05-01T12:01:00Z",
                "records": 100,
                "valid": 93,
                "invalid": 7,
                "max_event_time": "2026-05-01T12:00:59Z",
            }
        ],
    }
    body.update(overrides)
    return body


def test_batches_are_idempotent_and_queryable(client: TestClient) -> None:
    assert client.post("/contracts/orders.created/versions", json=example()).status_code == 201
    first = client.post("/breaches", json=batch())
    assert first.status_code == 200 and first.json() == {"accepted": 3, "duplicates": 0}
    assert client.post("/breaches", json=batch()).json() == {"accepted": 0, "duplicates": 3}

    page = client.get("/breaches", params={"contract": "orders.created"}).json()
    assert (page["total"], page["breaches"]) == (2, 9)
    assert [(r["rule"], r["count"]) for r in page["by_rule"]] == [
        ("enum", 7),
        ("shipped_after_created", 2),
    ]
    assert page["items"][0]["rule"] == "shipped_after_created"  # newest window first
    assert [(b["start"], b["count"]) for b in page["buckets"]] == [
        ("2026-05-01T12:00:00Z", 7),
        ("2026-05-01T13:00:00Z", 2),
    ]
    five = client.get("/breaches", params={"interval": "5m", "rule": "enum"}).json()
    assert five["interval_seconds"] == 300 and five["breaches"] == 7
    assert five["items"][0]["samples"][0]["record"] == {"channel": "fax"}

    ranged = client.get(
        "/contracts/orders.created/breaches",
        params={"since": "2026-05-01T13:00:00Z", "until": "2026-05-01T14:00:00Z"},
    ).json()
    assert ranged["breaches"] == 2
    assert client.get("/breaches", params={"source": "elsewhere"}).json()["total"] == 0


def test_counts_past_32_bits(client: TestClient) -> None:
    """A batch job may count billions of failing rows in one window: as many as the API
    takes fit the database (PostgreSQL's integer would refuse past 2**31 - 1)."""
    assert client.post("/contracts/orders.created/versions", json=example()).status_code == 201
    big = batch()
    big["breaches"][0]["count"] = MAX_BREACH_COUNT
    big["observations"][0] |= {"records": 2**40, "valid": 2**40 - 2**33, "invalid": 2**33}
    assert client.post("/breaches", json=big).json() == {"accepted": 3, "duplicates": 0}
    page = client.get("/breaches", params={"contract": "orders.created"}).json()
    assert page["breaches"] == MAX_BREACH_COUNT + 2
    assert [r["count"] for r in page["by_rule"]] == [MAX_BREACH_COUNT, 2]


def test_an_id_stored_before_with_other_counts_is_refused_whole(client: TestClient) -> None:
    assert client.post("/breaches", json=batch()).status_code == 200
    reused = batch("b2")
    reused["breaches"][1]["id"] = "b1:1"  # b1's id, with other counts
    reused["breaches"][1]["count"] = 5
    response = client.post("/breaches", json=reused)
    assert response.status_code == 409, response.text
    error = error_of(response)
    assert error["code"] == "idempotency_conflict"
    assert error["message"].startswith("breaches[1].id 'b1:1' was stored before with another count")
    assert error["details"] == [{"field": "body.breaches[1].id"}]
    assert client.get("/breaches").json()["breaches"] == 9  # b1 alone: nothing of b2 stayed

    for bad, field in (
        ({"version": 2**31}, "body.breaches.0.version"),
        ({"count": 2**40 + 1}, "body.breaches.0.count"),
    ):
        body = batch("b4")
        body["breaches"][0] |= bad
        refused = error_of(client.post("/breaches", json=body))
        assert refused["details"][0]["field"] == field, refused
    too_long = error_of(client.get("/breaches", params={"interval": "99999999999d"}))
    assert too_long["details"] == [{"field": "query.interval"}]
    assert "too long" in too_long["message"]

    observed = batch("b3", breaches=[])
    observed["observations"][0].update(id="b1:o", records=101, valid=94)
    assert error_of(client.post("/breaches", json=observed))["code"] == "idempotency_conflict"
    # Resent with other samples (examples, not counts) is still the same aggregate.
    resent = batch()
    resent["breaches"][0]["samples"] = []
    assert client.post("/breaches", json=resent).json() == {"accepted": 0, "duplicates": 3}


def test_bad_batches_are_refused_whole(client: TestClient) -> None:
    broken = batch()
    broken["observations"][0]["valid"] = 50  # 50 + 7 != 100
    response = client.post("/breaches", json=broken)
    assert response.status_code == 422
    assert "observations" in str(error_of(response)["details"])
    assert client.get("/breaches").json()["total"] == 0  # nothing of it was stored
    assert client.post("/breaches", json=batch(extra=1)).status_code == 422
    bad_interval = client.get("/breaches", params={"interval": "soon"})
    assert bad_interval.status_code == 422 and error_of(bad_interval)["code"] == "invalid_request"


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["breaches"][0]["samples"][0].update(record=nested(200)), "record"),
        (lambda b: b["breaches"][0].update(count=2**62), "count"),
        (lambda b: b["breaches"][0].update(window_start="0001-01-01T00:00:00+14:00"), "window"),
        # The registry's own SLA breaches: a reporter must not take their keys first.
        (lambda b: b["breaches"][0].update(id="sla:orders.created:src:freshness:1"), "id"),
    ],
)
def test_what_could_not_be_served_back_is_refused(
    client: TestClient, change: Any, field: str
) -> None:
    # A sample too deep to serialize, a count that would overflow the sums, a time before
    # year 1 in UTC: each would have made every later read of the breaches fail.
    body = batch()
    change(body)
    response = client.post("/breaches", json=body)
    assert response.status_code == 422, response.text
    assert field in error_of(response)["message"]
    assert client.get("/breaches").status_code == 200
    assert client.get("/breaches").json()["total"] == 0


def test_times_without_a_time_zone_are_utc(client: TestClient) -> None:
    body = batch()
    body["breaches"][0].update(window_start="2026-05-01T12:00:00", window_end="2026-05-01T12:01")
    assert client.post("/breaches", json=body).status_code == 200
    page = client.get("/breaches", params={"since": "2026-05-01T12:00:00", "until": "2026-05-01"})
    assert page.status_code == 200 and page.json()["total"] == 0
    page = client.get("/breaches", params={"since": "2026-05-01", "until": "2026-05-01T12:01"})
    [stored] = page.json()["items"]
    assert stored["window_start"].startswith("2026-05-01T12:00:00") and (
        stored["window_start"].endswith(("Z", "+00:00"))
    )


def test_a_refused_batch_is_sent_without_samples_and_holds_nothing_up(
    client: TestClient, tmp_path: Path
) -> None:
    def deliver(body: Any) -> None:
        response = client.post("/breaches", json=body)
        if response.status_code >= 400:
            raise RegistryError(response.text, status=response.status_code)

    contract = load_file(str(EXAMPLES / "orders.created.yaml"))
    reporter = BreachReporter(deliver, source="deep", spool_dir=tmp_path)
    deep = copy.deepcopy(ORDER) | {"channel": "fax", "coupon_code": nested(100)}
    validator = validator_for(contract, 1)
    reporter.record(contract, 1, validator.validate(deep), deep)  # enum + coupon_code type
    assert reporter.flush() and reporter.pending == 0  # the registry refused the samples
    fax = copy.deepcopy(ORDER) | {"channel": "fax"}
    reporter.record(contract, 1, validator.validate(fax), fax)
    assert reporter.flush() and reporter.pending == 0  # and the next batch goes through
    totals = client.get("/breaches", params={"source": "deep"}).json()
    assert totals["breaches"] == 3  # every count arrived
    samples = [s for item in totals["items"] for s in item["samples"]]
    assert [s["record"] for s in samples] == [fax | {"customer": ANY}]  # the second batch's


def test_unknown_contract_breaches_are_404(client: TestClient) -> None:
    response = client.get("/contracts/nope/breaches")
    assert response.status_code == 404 and error_of(response)["code"] == "contract_not_found"


def test_versions_by_global_id(client: TestClient) -> None:
    published = client.post("/contracts/orders.created/versions", json=example()).json()
    found = client.get(f"/versions/{published['id']}")
    assert found.status_code == 200
    assert (found.json()["name"], found.json()["version"]) == ("orders.created", 1)
    assert error_of(client.get("/versions/999999"))["code"] == "version_not_found"


ORDER = {
    "order_id": "6f1c2f8e-4a1b-4e8e-9c1a-2b3c4d5e6f70",
    "created_at": "2024-01-01T10:00:00Z",
    "channel": "web",
    "customer": {"customer_id": "C12345678", "email": "ada@example.com"},
    "line_items": [
        {"sku": "A", "quantity": 1, "unit_price": {"amount_minor": 5, "currency": "EUR"}}
    ],
    "total": {"amount_minor": 5, "currency": "EUR"},
}


@pytest.mark.slow
def test_reporter_survives_a_registry_outage_and_counts_once(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Enforcement goes on while the registry is down; afterwards every breach is there once."""
    command.upgrade(alembic_config(empty_database_url), "head")
    contract = load_file(str(EXAMPLES / "orders.created.yaml"))
    validator = validator_for(contract, 1)
    bad = copy.deepcopy(ORDER) | {"channel": "fax"}
    port = free_port()
    sent = 0

    def enforce(reporter: BreachReporter, records: int) -> None:
        nonlocal sent
        for i in range(records):
            record = bad if i % 4 == 0 else ORDER
            reporter.record(contract, 1, validator.validate(record), record)
            sent += record is bad

    with RegistryClient(f"http://127.0.0.1:{port}", timeout=2) as client:
        reporter = BreachReporter(
            client.report_breaches, source="outage-test", spool_dir=tmp_path / "spool"
        )
        with running_registry(empty_database_url, tmp_path, port=port):
            enforce(reporter, 40)
            assert reporter.flush()
        # The registry is down: enforcement goes on, reports pile up on disk.
        for _ in range(3):
            enforce(reporter, 40)
            assert not reporter.flush()
        assert reporter.pending == 3
        with running_registry(empty_database_url, tmp_path, port=port) as url:
            deadline = time.monotonic() + 10
            while not reporter.flush() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert reporter.pending == 0
            # A batch whose acknowledgement was lost comes again: still counted once.
            resent = client.report_breaches(
                {"source": "outage-test", "breaches": [], "observations": []}
            )
            assert resent == {"accepted": 0, "duplicates": 0}
            totals = httpx.get(f"{url}/breaches", params={"source": "outage-test"})
            assert totals.json()["breaches"] == sent == 40
