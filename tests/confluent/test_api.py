"""The Schema Registry API's HTTP shape, in process (TestClient over SQLite)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.confluent.conftest import SR_JSON, body, record
from tests.conftest import EXAMPLES

ORDER = record("id", closed=True, id="string", amount="number")
WIDER = record("id", closed=True, id="string", amount="number", note="string")


def register(client: TestClient, subject: str, schema: Any, **extra: Any) -> Any:
    response = client.post(f"/subjects/{subject}/versions", json=body(schema, **extra))
    assert response.status_code == 200, response.text
    return response.json()


def error(response: Any, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    data = response.json()
    assert set(data) == {"error_code", "message"} and data["error_code"] == code, data
    assert response.headers["content-type"] == SR_JSON
    message: str = data["message"]
    return message


def test_register_read_and_look_up(client: TestClient) -> None:
    created = register(client, "orders-value", ORDER)
    assert created == {"id": 1, "version": 1}
    # The same schema, spelled differently, is the same version.
    spaced = json.dumps(dict(reversed(list(ORDER.items()))), indent=2)
    again = client.post(
        "/subjects/orders-value/versions", json={"schema": spaced, "schemaType": "JSON"}
    )
    assert again.json() == created
    assert client.get("/subjects").json() == ["orders-value"]
    assert client.get("/subjects/orders-value/versions").json() == [1]
    latest = client.get("/subjects/orders-value/versions/latest")
    assert latest.headers["content-type"] == SR_JSON
    shown = latest.json()
    assert shown == client.get("/subjects/orders-value/versions/1").json()
    assert shown == client.get("/subjects/orders-value/versions/-1").json()
    assert {k: v for k, v in shown.items() if k != "schema"} == {
        "subject": "orders-value",
        "version": 1,
        "id": 1,
        "schemaType": "JSON",
    }
    assert json.loads(shown["schema"]) == ORDER
    assert client.get("/subjects/orders-value/versions/1/schema").json() == ORDER
    by_id = client.get("/schemas/ids/1").json()
    assert by_id == {"schemaType": "JSON", "schema": shown["schema"]}
    assert client.get("/schemas/ids/1/schema").json() == ORDER
    assert client.get("/schemas/ids/1/versions").json() == [
        {"subject": "orders-value", "version": 1}
    ]
    assert client.get("/schemas/ids/1/subjects").json() == ["orders-value"]
    assert client.get("/schemas/types").json() == ["JSON"]
    assert client.post("/subjects/orders-value", json=body(ORDER)).json() == shown
    assert client.get("/subjects/orders-value/versions/1/referencedby").json() == []
    # The subject is a contract: schema only, owned by nobody yet.
    contract = client.get("/contracts/orders-value/versions/1").json()["contract"]
    assert contract == {
        "name": "orders-value",
        "owner": {"team": "unowned"},
        "status": "active",
        "compatibility": {"mode": "BACKWARD", "policy": "STRICT"},
        "schema": ORDER,
    }


def test_media_types_and_the_prefix(client: TestClient) -> None:
    response = client.post(
        "/confluent/subjects/a/versions",
        content=json.dumps(body(ORDER)),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    for accept in ("application/vnd.schemaregistry+json", "*/*", SR_JSON):
        answer = client.get("/confluent/subjects", headers={"Accept": accept})
        assert answer.json() == ["a"]
        assert answer.headers["content-type"] == (SR_JSON if accept == "*/*" else accept)
    error(
        client.post("/subjects/a/versions", content=b"x", headers={"Content-Type": "text/plain"}),
        415,
        415,
    )
    error(client.post("/subjects/a/versions", content=b"{nope"), 400, 400)


def test_errors_in_schema_registry_format(client: TestClient) -> None:
    register(client, "s", ORDER)
    error(client.get("/subjects/nope/versions"), 404, 40401)
    error(client.get("/subjects/nope/versions/1"), 404, 40401)
    error(client.get("/subjects/s/versions/9"), 404, 40402)
    error(client.get("/schemas/ids/999"), 404, 40403)
    error(client.get("/schemas/ids/x"), 404, 40403)
    error(client.post("/subjects/s", json=body(record(x="string"))), 404, 40403)
    error(client.post("/subjects/nope", json=body(ORDER)), 404, 40401)
    for version in ("abc", "0", "-2", "2147483648", "²", "\u0661"):  # ASCII digits only
        error(client.get(f"/subjects/s/versions/{version}"), 422, 42202)
    for schema_id in ("²", "--1", "\u0661"):
        error(client.get(f"/schemas/ids/{schema_id}"), 404, 40403)
    deep: Any = "x"
    for _ in range(100):
        deep = {"a": deep}
    deep_metadata = body(ORDER, metadata={"properties": {"p": "v"}, "tags": deep})
    assert "/metadata/tags" in error(
        client.post("/subjects/deep/versions", json=deep_metadata), 422, 422
    )
    error(client.get("/subjects/deep/versions"), 404, 40401)  # nothing was stored
    invalid = {"type": "object", "properties": {"a": {"type": "strng"}}}
    assert "strng" in error(client.post("/subjects/s/versions", json=body(invalid)), 422, 42201)
    error(client.post("/subjects/s/versions", json={"schema": "{not json"}), 422, 42201)
    avro = {"schema": json.dumps({"type": "record", "name": "x", "fields": []})}
    assert "JSON Schema only" in error(client.post("/subjects/s/versions", json=avro), 422, 42201)
    refs = body(ORDER, references=[{"name": "x", "subject": "y", "version": 1}])
    error(client.post("/subjects/s/versions", json=refs), 422, 42201)
    remote = {"$ref": "https://example.com/order.json"}
    error(client.post("/subjects/s/versions", json=body(remote)), 422, 42201)
    error(client.post("/subjects/bad name/versions", json=body(ORDER)), 422, 42208)
    error(client.post("/subjects/a..b/versions", json=body(ORDER)), 422, 42208)
    error(client.get("/config/s"), 404, 40408)
    error(client.get("/mode/s"), 404, 40409)
    error(client.put("/config/s", json={"compatibility": "SIDEWAYS"}), 422, 42203)
    error(client.put("/config/s", json={"compatibilityPolicy": "LAX"}), 422, 42203)
    error(client.put("/mode/s", json={"mode": "WRITEONLY"}), 422, 42204)
    bad_rules = body(ORDER, ruleSet={"domainRules": [{"kind": "CONDITION"}]})
    error(client.post("/subjects/s/versions", json=bad_rules), 422, 42210)
    error(client.get("/subjects/s/nothing"), 404, 404)
    error(client.put("/subjects"), 405, 405)
    error(client.patch("/confluent/config"), 405, 405)
    # The native API keeps its own error body.
    native = client.get("/contracts/nope")
    assert native.status_code == 404 and native.json()["error"]["code"] == "contract_not_found"


def test_soft_and_permanent_deletes(client: TestClient) -> None:
    first = register(client, "s", ORDER)["id"]
    wider = WIDER
    second = register(client, "s", wider)["id"]
    assert client.delete("/subjects/s/versions/2").json() == 2
    error(client.delete("/subjects/s/versions/2"), 404, 40406)
    error(client.delete("/subjects/s/versions/1?permanent=true"), 404, 40407)
    assert client.get("/subjects/s/versions").json() == [1]
    assert client.get("/subjects/s/versions?deleted=true").json() == [1, 2]
    assert client.get("/subjects/s/versions?deleted_only=true").json() == [2]
    error(client.get("/subjects/s/versions/2"), 404, 40402)
    assert client.get("/subjects/s/versions/2?deleted=true").json()["id"] == second
    # Framed data keeps its schema: ids of deleted versions still resolve.
    assert client.get(f"/schemas/ids/{second}").status_code == 200
    assert client.get(f"/schemas/ids/{second}/versions").json() == []
    assert client.get(f"/schemas/ids/{second}/versions?deleted=true").json() == [
        {"subject": "s", "version": 2}
    ]
    # Registering soft-deleted content again brings that version back.
    assert register(client, "s", wider) == {"id": second, "version": 2}
    assert client.delete("/subjects/s/versions/latest").json() == 2
    error(client.delete("/subjects/s?permanent=true"), 404, 40405)
    assert client.delete("/subjects/s").json() == [1]
    error(client.delete("/subjects/s"), 404, 40404)
    assert client.get("/subjects").json() == []
    assert client.get("/subjects?deleted=true").json() == ["s"]
    assert client.get("/subjects?deleted_only=true").json() == ["s"]
    error(client.get("/subjects/s/versions"), 404, 40401)
    assert client.get("/contracts/s").status_code == 404  # the contract went with it
    assert client.delete("/subjects/s?permanent=true").json() == [1, 2]
    error(client.get(f"/schemas/ids/{first}"), 404, 40403)
    assert client.get("/subjects?deleted=true").json() == []
    # Ids and version numbers are never reused.
    again = register(client, "s", ORDER)
    assert again["id"] > second and again["version"] == 3


def test_compatibility_modes(client: TestClient) -> None:
    string = {"type": "string"}
    short = {"type": "string", "maxLength": 5}  # narrower: breaks BACKWARD, not FORWARD
    expected = {
        "NONE": True,
        "BACKWARD": False,
        "FORWARD": True,
        "FULL": False,
        "BACKWARD_TRANSITIVE": False,
        "FORWARD_TRANSITIVE": True,
        "FULL_TRANSITIVE": False,
    }
    for mode, compatible in expected.items():
        subject = f"m-{mode.lower()}"
        assert client.put(f"/config/{subject}", json={"compatibility": mode}).json() == {
            "compatibility": mode,
            "compatibilityPolicy": "STRICT",
        }
        register(client, subject, string)
        for path in ("versions/latest", "versions/1", "versions"):
            answer = client.post(f"/compatibility/subjects/{subject}/{path}", json=body(short))
            assert answer.json() == {"is_compatible": compatible}, (mode, path)
        registered = client.post(f"/subjects/{subject}/versions", json=body(short))
        if compatible:
            assert registered.json()["version"] == 2
        else:
            assert "incompatible" in error(registered, 409, 40901)
    verbose = client.post(
        "/compatibility/subjects/m-backward/versions/latest?verbose=true", json=body(short)
    ).json()
    assert verbose["is_compatible"] is False
    assert verbose["messages"][0].startswith("Found incompatible change: Difference{jsonPath='#")
    assert "MAX_LENGTH_ADDED" in verbose["messages"][0]
    # No subject yet: compatible with "latest" and with all; a numbered version is missing.
    assert client.post("/compatibility/subjects/new/versions/latest", json=body(short)).json()
    assert client.post("/compatibility/subjects/new/versions", json=body(short)).json() == {
        "is_compatible": True
    }
    error(client.post("/compatibility/subjects/new/versions/1", json=body(short)), 404, 40401)
    error(client.post("/compatibility/subjects/m-none/versions/7", json=body(short)), 404, 40402)


def test_transitive_modes_compare_every_version(client: TestClient) -> None:
    v1 = record(closed=True, a="string")
    v2 = record(closed=True, a="integer")
    v3 = record(closed=True, a="integer", b="string")
    client.put("/config/t", json={"compatibility": "NONE"})
    register(client, "t", v1)
    register(client, "t", v2)  # breaks v1, allowed under NONE
    client.put("/config/t", json={"compatibility": "BACKWARD"})
    assert client.post("/compatibility/subjects/t/versions", json=body(v3)).json()["is_compatible"]
    client.put("/config/t", json={"compatibility": "BACKWARD_TRANSITIVE"})
    answer = client.post("/compatibility/subjects/t/versions?verbose=true", json=body(v3)).json()
    assert answer["is_compatible"] is False
    assert "{oldSchemaVersion: 1}" in answer["messages"]
    assert client.post("/compatibility/subjects/t/versions/2", json=body(v3)).json() == {
        "is_compatible": True
    }
    error(client.post("/subjects/t/versions", json=body(v3)), 409, 40901)


def test_config_global_and_per_subject(client: TestClient) -> None:
    assert client.get("/config").json() == {
        "compatibilityLevel": "BACKWARD",
        "compatibilityPolicy": "STRICT",
    }
    register(client, "follower", {"type": "string"})
    error(client.get("/config/follower"), 404, 40408)  # it follows the global config
    assert client.put("/config", json={"compatibility": "NONE"}).json() == {
        "compatibility": "NONE",
        "compatibilityPolicy": "STRICT",
    }
    assert client.get("/config/follower?defaultToGlobal=true").json() == {
        "compatibilityLevel": "NONE",
        "compatibilityPolicy": "STRICT",
    }
    assert client.get("/contracts/follower/config").json() == {"mode": "NONE", "policy": "STRICT"}
    register(client, "follower", {"type": "integer"})  # incompatible, but NONE
    # A subject-level config takes over, also for the native API.
    client.put("/config/follower", json={"compatibilityLevel": "FULL"})
    assert client.get("/config/follower").json()["compatibilityLevel"] == "FULL"
    assert client.get("/contracts/follower/config").json() == {"mode": "FULL", "policy": "STRICT"}
    client.put("/config", json={"compatibility": "FORWARD", "compatibilityPolicy": "LENIENT"})
    assert client.get("/config/follower").json()["compatibilityLevel"] == "FULL"
    assert client.delete("/config/follower").json() == {
        "compatibilityLevel": "FULL",
        "compatibilityPolicy": "STRICT",
    }
    error(client.get("/config/follower"), 404, 40408)
    assert client.get("/contracts/follower/config").json() == {
        "mode": "FORWARD",
        "policy": "LENIENT",
    }
    error(client.delete("/config/follower"), 404, 40408)
    # Set before the subject exists: waits for it.
    client.put("/config/later", json={"compatibility": "FULL_TRANSITIVE"})
    assert client.get("/config/later").json()["compatibilityLevel"] == "FULL_TRANSITIVE"
    register(client, "later", {"type": "string"})
    assert client.get("/config/later").json()["compatibilityLevel"] == "FULL_TRANSITIVE"
    assert client.get("/contracts/later/config").json()["mode"] == "FULL_TRANSITIVE"
    assert client.delete("/config").json() == {
        "compatibilityLevel": "FORWARD",
        "compatibilityPolicy": "LENIENT",
    }
    assert client.get("/config").json()["compatibilityLevel"] == "BACKWARD"


def test_mode(client: TestClient) -> None:
    assert client.get("/mode").json() == {"mode": "READWRITE"}
    register(client, "s", ORDER)
    assert client.put("/mode/s", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    assert client.get("/mode/s").json() == {"mode": "READONLY"}
    wider = WIDER
    error(client.post("/subjects/s/versions", json=body(wider)), 422, 42205)
    error(client.delete("/subjects/s/versions/1"), 422, 42205)
    assert client.delete("/mode/s").json() == {"mode": "READONLY"}
    error(client.get("/mode/s"), 404, 40409)
    assert client.get("/mode/s?defaultToGlobal=true").json() == {"mode": "READWRITE"}
    client.put("/mode", json={"mode": "READONLY"})
    error(client.post("/subjects/s/versions", json=body(wider)), 422, 42205)
    client.put("/mode", json={"mode": "READWRITE"})
    assert register(client, "s", wider)["version"] == 2
    # Explicit ids and versions: only where they are what Accord assigns.
    error(client.post("/subjects/s/versions", json=body(ORDER, id=99)), 422, 42205)
    assert register(client, "s", ORDER, id=1, version=1) == {"id": 1, "version": 1}


RULE_SET = {
    "domainRules": [
        {
            "name": "positive_amount",
            "doc": "No free orders.",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.amount > 0",
            "onFailure": "DLQ",
            "params": {"dlq.topic": "orders-dlq"},
        },
        {"name": "encrypt", "kind": "TRANSFORM", "type": "ENCRYPT", "tags": ["PII"]},
    ],
    "migrationRules": [
        {"name": "up", "kind": "TRANSFORM", "type": "JSONATA", "mode": "UPGRADE", "expr": "$"}
    ],
}
METADATA = {
    "tags": {"$.id": ["PK"]},
    "properties": {"owner": "payments", "slack": "#payments"},
    "sensitive": ["id"],
}


def test_metadata_and_rule_set_round_trip(client: TestClient) -> None:
    sent = body(ORDER, metadata=METADATA, ruleSet=RULE_SET)
    assert client.post("/subjects/pay-value/versions", json=sent).status_code == 200
    shown = client.get("/subjects/pay-value/versions/1").json()
    assert shown["metadata"] == METADATA and shown["ruleSet"] == RULE_SET
    assert client.get("/schemas/ids/1").json()["ruleSet"] == RULE_SET
    contract = client.get("/contracts/pay-value/versions/1").json()["contract"]
    assert contract["owner"] == {"team": "payments"}
    assert contract["rules"] == [
        {
            "name": "positive_amount",
            "expression": "this.amount > 0",
            "severity": "error",
            "description": "No free orders.",
        }
    ]
    assert contract["extensions"]["confluent"] == {"metadata": METADATA, "ruleSet": RULE_SET}
    # Lookups match on metadata and rule set when given, on the schema alone when not.
    assert client.post("/subjects/pay-value", json=sent).json()["id"] == 1
    assert client.post("/subjects/pay-value", json=body(ORDER)).json()["id"] == 1
    other = body(ORDER, metadata={"properties": {"owner": "x"}})
    error(client.post("/subjects/pay-value", json=other), 404, 40403)
    found = client.get("/subjects/pay-value/metadata?key=owner&value=payments").json()
    assert found["version"] == 1 and found["metadata"] == METADATA
    error(client.get("/subjects/pay-value/metadata?key=owner&value=x"), 404, 40403)
    # A new version without metadata or rules inherits them (as Confluent does).
    wider = WIDER
    assert register(client, "pay-value", wider)["version"] == 2
    second = client.get("/subjects/pay-value/versions/2").json()
    assert second["metadata"] == METADATA and second["ruleSet"] == RULE_SET
    assert (
        client.get("/contracts/pay-value/versions/2").json()["contract"]["rules"]
        == (contract["rules"])
    )
    # New rules replace the mapped ones; a different metadata makes a new version.
    fewer = {"domainRules": [RULE_SET["domainRules"][1]]}
    third = register(client, "pay-value", wider, ruleSet=fewer, metadata={"properties": {}})
    assert third["version"] == 3
    doc = client.get("/contracts/pay-value/versions/3").json()["contract"]
    assert "rules" not in doc and doc["extensions"]["confluent"] == {"ruleSet": fewer}
    assert "metadata" not in client.get("/subjects/pay-value/versions/3").json()


def test_a_native_contract_is_a_subject(client: TestClient) -> None:
    document = yaml.safe_load((EXAMPLES / "orders.created.yaml").read_text())
    assert client.post("/contracts/orders.created/versions", json=document).status_code == 201
    assert client.get("/subjects").json() == ["orders.created"]
    latest = client.get("/subjects/orders.created/versions/latest").json()
    assert json.loads(latest["schema"]) == document["schema"]
    assert "metadata" not in latest and "ruleSet" not in latest
    # Its declared config is its subject-level config.
    assert client.get("/config/orders.created").json()["compatibilityLevel"] == "BACKWARD"
    # A schema registered through this API keeps everything else the contract says.
    evolved = json.loads(json.dumps(document["schema"]))
    evolved["properties"]["gift_wrap"] = {"type": "boolean"}
    assert register(client, "orders.created", evolved)["version"] == 2
    second = client.get("/contracts/orders.created/versions/2").json()["contract"]
    for key in ("owner", "description", "semantics", "rules", "quality", "sla", "tags"):
        assert second[key] == client.get("/contracts/orders.created/versions/1").json()[
            "contract"
        ].get(key), key
    assert second["schema"] == evolved
    narrowed = json.loads(json.dumps(evolved))
    narrowed["properties"]["order_id"] = {"type": "integer"}
    error(client.post("/subjects/orders.created/versions", json=body(narrowed)), 409, 40901)
    # Removing a field a rule reads is refused: the contract would no longer hold.
    del evolved["properties"]["shipped_at"]
    message = error(
        client.post("/subjects/orders.created/versions", json=body(evolved)), 422, 42201
    )
    assert "shipped_at" in message


@pytest.mark.parametrize("subject", ["com.acme.Order", "Orders-Value", "1-value", "_topic-key"])
def test_typical_subject_names_are_contract_names(client: TestClient, subject: str) -> None:
    assert register(client, subject, ORDER)["version"] == 1
    assert client.get(f"/contracts/{subject}").json()["name"] == subject


def test_a_draft_07_schema_without_dollar_schema(client: TestClient) -> None:
    tuple_items = {"type": "array", "items": [{"type": "string"}, {"type": "number"}]}
    register(client, "tuples", tuple_items)
    stored = client.get("/subjects/tuples/versions/1/schema").json()
    assert stored == {"$schema": "http://json-schema.org/draft-07/schema#", **tuple_items}
    assert client.post("/subjects/tuples", json=body(tuple_items)).json()["version"] == 1
