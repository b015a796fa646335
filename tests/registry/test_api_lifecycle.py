"""Config, dry-run checks, lifecycle status, soft and permanent deletes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from registry.api_models import CompatibilityReport
from tests.registry.conftest import error_of, small

BREAKING = small(extra=("note",), required=("id", "note"))


def _versions(client: TestClient, **params: object) -> list[int]:
    response = client.get("/contracts/demo.events/versions", params=params)
    return [v["version"] for v in response.json()["items"]]


def test_config_get_put(client: TestClient) -> None:
    assert error_of(client.get("/contracts/demo.events/config"))["code"] == "contract_not_found"
    client.post("/contracts/demo.events/versions", json=small())
    assert client.put("/contracts/demo.events/config", json={"policy": "LENIENT"}).json() == {
        "mode": "BACKWARD",
        "policy": "LENIENT",
    }
    assert client.put("/contracts/demo.events/config", json={"mode": "NONE"}).json() == {
        "mode": "NONE",
        "policy": "LENIENT",
    }
    assert client.get("/contracts/demo.events/config").json()["mode"] == "NONE"
    # The registry's config is what publish enforces.
    assert client.post("/contracts/demo.events/versions", json=BREAKING).status_code == 201

    bad = client.put("/contracts/demo.events/config", json={"mode": "SIDEWAYS"})
    assert bad.status_code == 422
    error = error_of(bad)
    assert error["code"] == "invalid_request" and "body.mode" in error["message"]
    unknown = client.put("/contracts/demo.events/config", json={"mood": "NONE"})
    assert error_of(unknown)["code"] == "invalid_request"


def test_dry_run_compatibility(client: TestClient) -> None:
    # An unknown contract has no history: a new contract is compatible.
    fresh = client.post("/contracts/demo.events/compatibility", json=small())
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["compatible"] is True and fresh.json()["checked_versions"] == []

    client.post("/contracts/demo.events/versions", json=small())
    ok = client.post("/contracts/demo.events/compatibility", json=small(extra=("note",)))
    assert ok.json()["compatible"] is True
    assert ok.json()["changes"][0]["type"] == "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"

    report = client.post("/contracts/demo.events/compatibility", json=BREAKING).json()
    CompatibilityReport.model_validate(report)  # the documented response model
    assert report["compatible"] is False and report["mode"] == "BACKWARD"
    assert report["checked_versions"] == [1]
    assert set(report) >= {"compatible", "mode", "policy", "changes", "affected_consumers"}

    overridden = client.post(
        "/contracts/demo.events/compatibility", params={"mode": "NONE"}, json=BREAKING
    ).json()
    assert overridden["compatible"] is True and overridden["mode"] == "NONE"
    forward = client.post(
        "/contracts/demo.events/compatibility",
        params={"mode": "FORWARD", "policy": "LENIENT"},
        json=BREAKING,
    ).json()
    assert forward["mode"] == "FORWARD" and forward["policy"] == "LENIENT"

    # A dry run publishes nothing.
    assert _versions(client) == [1]
    bad = client.post("/contracts/demo.events/compatibility", params={"mode": "X"}, json=BREAKING)
    assert bad.status_code == 422 and error_of(bad)["code"] == "invalid_request"
    mismatch = client.post("/contracts/other.events/compatibility", json=small())
    assert error_of(mismatch)["code"] == "name_mismatch"


def test_lifecycle_status(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    client.post("/contracts/demo.events/versions", json=small(extra=("note",)))
    response = client.patch("/contracts/demo.events/versions/1", json={"status": "retired"})
    assert response.status_code == 200
    assert response.json()["status"] == "retired" and response.json()["version"] == 1
    # Retired is still readable, and listed.
    assert client.get("/contracts/demo.events/versions/1").json()["status"] == "retired"
    assert _versions(client) == [1, 2]
    client.patch("/contracts/demo.events/versions/2", json={"status": "deprecated"})
    assert client.get("/contracts/demo.events").json()["status"] == "deprecated"

    bad = client.patch("/contracts/demo.events/versions/2", json={"status": "gone"})
    assert bad.status_code == 422 and "status" in error_of(bad)["message"]
    missing = client.patch("/contracts/demo.events/versions/9", json={"status": "active"})
    assert error_of(missing)["code"] == "version_not_found"


def test_soft_then_permanent_version_delete_never_reuses_numbers(client: TestClient) -> None:
    first = client.post("/contracts/demo.events/versions", json=small()).json()
    second = client.post("/contracts/demo.events/versions", json=small(extra=("a",))).json()

    early = client.delete("/contracts/demo.events/versions/2", params={"permanent": True})
    assert early.status_code == 409 and error_of(early)["code"] == "not_soft_deleted"

    soft = client.delete("/contracts/demo.events/versions/2")
    assert soft.json() == {"name": "demo.events", "version": 2, "permanent": False}
    assert error_of(client.get("/contracts/demo.events/versions/2"))["code"] == (
        "version_not_found"
    )
    hidden = client.get("/contracts/demo.events/versions/2", params={"deleted": True})
    assert hidden.status_code == 200 and hidden.json()["deleted_at"] is not None
    assert client.get("/contracts/demo.events/versions/latest").json()["version"] == 1
    assert _versions(client) == [1]
    assert _versions(client, deleted=True) == [1, 2]
    assert client.get("/contracts/demo.events").json()["latest_version"] == 1

    # Identical content to a soft-deleted version is refused until it is gone for good.
    again = client.post("/contracts/demo.events/versions", json=small(extra=("a",)))
    assert again.status_code == 409 and error_of(again)["code"] == "version_deleted"

    gone = client.delete("/contracts/demo.events/versions/2", params={"permanent": True})
    assert gone.status_code == 200 and gone.json()["permanent"] is True
    assert client.get(
        "/contracts/demo.events/versions/2", params={"deleted": True}
    ).status_code == (404)
    third = client.post("/contracts/demo.events/versions", json=small(extra=("a",))).json()
    assert third["version"] == 3 and third["id"] > second["id"] > first["id"]


def test_soft_then_permanent_contract_delete(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    client.post("/contracts/demo.events/versions", json=small(extra=("a",)))
    client.post("/contracts/demo.events/consumers", json={"name": "bi", "team": "data"})

    early = client.delete("/contracts/demo.events", params={"permanent": True})
    assert early.status_code == 409 and error_of(early)["code"] == "not_soft_deleted"

    soft = client.delete("/contracts/demo.events")
    assert soft.json() == {"name": "demo.events", "versions": [1, 2], "permanent": False}
    assert error_of(client.get("/contracts/demo.events"))["code"] == "contract_not_found"
    assert client.get("/contracts/demo.events/versions/latest").status_code == 404
    assert client.get("/contracts").json()["total"] == 0
    listed = client.get("/contracts", params={"deleted": True}).json()
    assert [c["name"] for c in listed["items"]] == ["demo.events"]
    assert client.get("/contracts/demo.events", params={"deleted": True}).status_code == 200
    v1 = client.get("/contracts/demo.events/versions/1", params={"deleted": True})
    assert v1.status_code == 200
    assert error_of(client.delete("/contracts/demo.events"))["code"] == "contract_not_found"

    purged = client.delete("/contracts/demo.events", params={"permanent": True})
    assert purged.json() == {"name": "demo.events", "versions": [1, 2], "permanent": True}
    assert client.get("/contracts/demo.events", params={"deleted": True}).status_code == 404
    assert client.get("/contracts", params={"deleted": True}).json()["total"] == 0

    # Publishing the name again starts a new history, but numbering goes on.
    reborn = client.post("/contracts/demo.events/versions", json=small(mode="FORWARD")).json()
    assert reborn["version"] == 3
    assert client.get("/contracts/demo.events/config").json()["mode"] == "FORWARD"
    assert client.get("/contracts/demo.events/consumers").json()["items"] == []


def test_publish_revives_a_soft_deleted_contract(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    client.put("/contracts/demo.events/config", json={"mode": "NONE"})
    client.delete("/contracts/demo.events")
    revived = client.post("/contracts/demo.events/versions", json=small(extra=("b",)))
    assert revived.status_code == 201 and revived.json()["version"] == 2
    assert client.get("/contracts/demo.events").json()["latest_version"] == 2
    assert client.get("/contracts/demo.events/config").json()["mode"] == "NONE"
    assert _versions(client) == [2]
