"""Consumers: registered, listed, removed, and named by the reports they are affected by."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.registry.conftest import error_of, small


def test_register_is_an_idempotent_upsert(client: TestClient) -> None:
    missing = client.post("/contracts/demo.events/consumers", json={"name": "bi", "team": "d"})
    assert error_of(missing)["code"] == "contract_not_found"
    client.post("/contracts/demo.events/versions", json=small())
    consumer = {
        "name": "billing",
        "team": "finance",
        "contact": "fin@example.com",
        "min_version": 1,
        "fields": ["amount"],
    }
    created = client.post("/contracts/demo.events/consumers", json=consumer)
    assert created.status_code == 201
    assert created.json() | consumer == created.json()
    assert created.json()["max_version"] is None
    same = client.post("/contracts/demo.events/consumers", json=consumer)
    assert same.status_code == 200
    changed = client.post("/contracts/demo.events/consumers", json=consumer | {"team": "fp&a"})
    assert changed.status_code == 200 and changed.json()["team"] == "fp&a"
    client.post("/contracts/demo.events/consumers", json={"name": "audit", "team": "risk"})

    listed = client.get("/contracts/demo.events/consumers").json()
    assert [(c["name"], c["team"]) for c in listed["items"]] == [
        ("audit", "risk"),
        ("billing", "fp&a"),
    ]
    assert client.delete("/contracts/demo.events/consumers/audit").status_code == 204
    gone = client.delete("/contracts/demo.events/consumers/audit")
    assert gone.status_code == 404 and error_of(gone)["code"] == "consumer_not_found"
    assert len(client.get("/contracts/demo.events/consumers").json()["items"]) == 1


def test_consumer_validation(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    for body, field in [
        ({"team": "x"}, "name"),
        ({"name": "a", "team": "x", "min_version": 0}, "min_version"),
        ({"name": "a", "team": "x", "min_version": 3, "max_version": 2}, "max_version"),
        ({"name": "a", "team": "x", "fields": ["."]}, "fields"),
        ({"name": "a", "team": "x", "extra": 1}, "extra"),
        # Past PostgreSQL's integer: refused by name, not by the database.
        ({"name": "a", "team": "x", "min_version": 2**31}, "min_version"),
        ({"name": "a", "team": "x", "max_version": 2**63}, "max_version"),
    ]:
        response = client.post("/contracts/demo.events/consumers", json=body)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "invalid_request"
        assert field in str(error), (field, error)


def test_a_name_with_a_slash_can_be_removed(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    for name in ("billing/etl", "ops/nightly"):
        body = {"name": name, "team": "t"}
        assert client.post("/contracts/demo.events/consumers", json=body).status_code == 201
    assert client.delete("/contracts/demo.events/consumers/billing%2Fetl").status_code == 204
    assert client.delete("/contracts/demo.events/consumers/ops/nightly").status_code == 204
    assert client.get("/contracts/demo.events/consumers").json()["items"] == []


def test_reports_name_the_affected_consumers(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    client.post(
        "/contracts/demo.events/consumers",
        json={"name": "billing", "team": "finance", "fields": ["amount"]},
    )
    client.post(
        "/contracts/demo.events/consumers",
        json={"name": "search", "team": "web", "fields": ["id"]},
    )
    client.post(
        "/contracts/demo.events/consumers",
        json={"name": "old-reader", "team": "legacy", "max_version": 0 + 1, "min_version": 1},
    )
    without_amount = small()
    del without_amount["schema"]["properties"]["amount"]

    dry = client.post("/contracts/demo.events/compatibility", json=without_amount).json()
    assert dry["compatible"] is False
    affected = {c["name"]: c for c in dry["affected_consumers"]}
    # billing reads amount; old-reader reads every field of v1; search reads only id.
    assert set(affected) == {"billing", "old-reader"}
    assert affected["billing"]["team"] == "finance"
    assert affected["billing"]["changes"] == [
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL /schema/properties/amount"
    ]
    assert dry["consumers_registered"] == 3

    refused = client.post("/contracts/demo.events/versions", json=without_amount)
    assert refused.status_code == 409
    report = error_of(refused)["details"]
    assert {c["name"] for c in report["affected_consumers"]} == {"billing", "old-reader"}
