"""Publishing: new versions, idempotent re-publish, refusals with reasons."""

from __future__ import annotations

import json

import pytest
import yaml
from fastapi.testclient import TestClient

from contracts import Contract
from tests.conftest import EXAMPLES
from tests.registry.conftest import error_of, example, small


def test_publish_new_then_identical_then_next(client: TestClient) -> None:
    first = client.post("/contracts/demo.events/versions", json=small())
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"name", "version", "id", "fingerprint", "created_at"}
    assert body["name"] == "demo.events" and body["version"] == 1
    assert body["fingerprint"] == Contract.from_document(small()).fingerprint

    again = client.post("/contracts/demo.events/versions", json=small())
    assert again.status_code == 200
    assert again.json() == body

    second = client.post("/contracts/demo.events/versions", json=small(extra=("note",)))
    assert second.status_code == 201
    assert second.json()["version"] == 2
    assert second.json()["id"] > body["id"]

    # Identical to an earlier (not the latest) version: that version, like Schema Registry.
    assert client.post("/contracts/demo.events/versions", json=small()).json() == body


def test_canonical_content_is_what_counts(client: TestClient) -> None:
    """Key order, defaults spelled out, YAML vs JSON: the same contract, the same version."""
    doc = small()
    created = client.post("/contracts/demo.events/versions", json=doc).json()
    spelled_out = {**dict(reversed(list(doc.items()))), "status": "active", "tags": []}
    assert client.post("/contracts/demo.events/versions", json=spelled_out).json() == created
    as_yaml = client.post(
        "/contracts/demo.events/versions",
        content=yaml.safe_dump(doc),
        headers={"Content-Type": "application/x-yaml"},
    )
    assert as_yaml.status_code == 200 and as_yaml.json() == created


def test_publish_yaml_example_file(client: TestClient) -> None:
    text = (EXAMPLES / "orders.created.yaml").read_bytes()
    response = client.post(
        "/contracts/orders.created/versions",
        content=text,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    stored = client.get("/contracts/orders.created/versions/1").json()["contract"]
    assert stored == Contract.from_document(example()).to_document()


def test_incompatible_version_is_refused_with_the_report(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small())
    breaking = small(extra=("note",), required=("id", "note"))
    response = client.post("/contracts/demo.events/versions", json=breaking)
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "incompatible"
    assert "BACKWARD" in error["message"] and "/schema/properties/note" in error["message"]
    report = error["details"]
    assert report["compatible"] is False and report["mode"] == "BACKWARD"
    assert report["checked_versions"] == [1]
    change = next(c for c in report["changes"] if not c["compatible"])
    assert change["type"] == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
    assert change["path"] == "/schema/properties/note"
    # Nothing was stored: the next compatible version is still 2.
    assert client.get("/contracts/demo.events/versions").json()["items"][-1]["version"] == 1
    ok = client.post("/contracts/demo.events/versions", json=small(extra=("note",)))
    assert ok.json()["version"] == 2


def test_invalid_document_gives_field_level_problems(client: TestClient) -> None:
    text = (
        "name: demo.events\n"
        "owner: {team: payments}\n"
        "descripton: typo\n"
        "schema:\n"
        "  type: object\n"
        "  properties: {id: {type: strng}}\n"
    )
    response = client.post(
        "/contracts/demo.events/versions",
        content=text,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_contract"
    problems = {p["path"]: p for p in error["details"]}
    assert problems["/descripton"]["code"] == "unknown-key"
    assert problems["/descripton"]["line"] == 3
    assert "description" in problems["/descripton"]["message"]
    assert any(p.startswith("/schema/properties/id") for p in problems)
    assert set(error["details"][0]) == {"path", "message", "code", "severity", "line"}


def test_unreadable_body_is_an_invalid_contract(client: TestClient) -> None:
    response = client.post(
        "/contracts/demo.events/versions",
        content=b'{"name": "demo.events",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_contract"
    assert error["details"][0]["code"] == "syntax"


@pytest.mark.parametrize(
    "path", ["/contracts/demo.events/versions", "/contracts/demo.events/compatibility"]
)
@pytest.mark.parametrize(("key", "where"), [("1", "/1"), ("null", "/null"), ("3.5", "/schema/3.5")])
def test_keys_that_yaml_reads_as_other_than_text(
    client: TestClient, path: str, key: str, where: str
) -> None:
    text = "name: demo.events\nowner: {team: a}\nschema: {type: object}\n"
    text = (
        f"{key}: x\n{text}"
        if where == f"/{key}"
        else text.replace("object}", f"object, {key}: 1}}")
    )
    response = client.post(path, content=text, headers={"Content-Type": "application/yaml"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_contract"
    assert [(p["path"], p["code"]) for p in error["details"]] == [(where, "syntax")]
    assert f"quote it ('{key}')" in error["message"]
    assert client.get("/contracts/demo.events").status_code == 404


def test_name_in_path_and_document_must_agree(client: TestClient) -> None:
    response = client.post("/contracts/other.events/versions", json=small())
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "name_mismatch"
    assert "name" in error["message"] and "other.events" in error["message"]
    assert client.get("/contracts/other.events").status_code == 404
    assert client.get("/contracts/demo.events").status_code == 404


def test_unsupported_media_type(client: TestClient) -> None:
    response = client.post(
        "/contracts/demo.events/versions",
        content=json.dumps(small()),
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_too_large_body(client: TestClient) -> None:
    response = client.post(
        "/contracts/demo.events/versions",
        content=b" " * (1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_first_document_sets_the_config_the_registry_enforces(client: TestClient) -> None:
    client.post("/contracts/demo.events/versions", json=small(mode="NONE"))
    assert client.get("/contracts/demo.events/config").json() == {
        "mode": "NONE",
        "policy": "STRICT",
    }
    # A later document asking for BACKWARD does not change what is enforced.
    breaking = small(extra=("note",), required=("id", "note"))
    response = client.post("/contracts/demo.events/versions", json=breaking)
    assert response.status_code == 201
    assert client.get("/contracts/demo.events/config").json()["mode"] == "NONE"
