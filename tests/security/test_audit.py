"""The audit log: every state change, who, when, from where, what came of it; no secrets."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from tests.security.conftest import OWN, READS, Secured, contract_doc


def _audit(s: Secured, **params: Any) -> list[dict[str, Any]]:
    r = s.client.get("/audit", params=params, headers=s.as_("admin"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_every_state_change_is_audited_with_who_what_and_where(secured: Secured) -> None:
    s = secured
    name = "audited.events"
    c = s.client
    assert (
        c.post(
            f"/contracts/{name}/versions", json=contract_doc(name), headers=s.as_("producer_own")
        ).status_code
        == 201
    )
    assert (
        c.post(
            f"/contracts/{name}/versions", json=contract_doc(name), headers=s.as_("producer_own")
        ).status_code
        == 200
    )  # identical: no change
    assert (
        c.put(
            f"/contracts/{name}/config", json={"mode": "FULL"}, headers=s.as_("producer_own")
        ).status_code
        == 200
    )
    assert (
        c.patch(
            f"/contracts/{name}/versions/1",
            json={"status": "deprecated"},
            headers=s.as_("producer_own"),
        ).status_code
        == 200
    )
    assert (
        c.post(
            f"/contracts/{name}/consumers",
            json={"name": "dash", "team": READS},
            headers=s.as_("consumer_own"),
        ).status_code
        == 201
    )
    hook = c.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/h", "team": OWN, "secret": "s3cr3t-value-0123456789"},
        headers=s.as_("producer_own"),
    )
    assert hook.status_code == 201
    batch = {
        "source": "billing",
        "breaches": [
            {
                "id": f"b{i}",
                "contract": name,
                "kind": "schema",
                "rule": "type",
                "severity": "error",
                "window_start": "2026-01-01T00:00:00Z",
                "window_end": "2026-01-01T00:01:00Z",
                "count": 3,
                "first_seen": "2026-01-01T00:00:01Z",
                "last_seen": "2026-01-01T00:00:59Z",
            }
            for i in range(3)
        ],
    }
    assert c.post("/breaches", json=batch, headers=s.as_("reporter")).status_code == 200
    assert (
        c.post(
            f"/contracts/{name}/versions",
            json=contract_doc(name, team="billing"),
            headers=s.as_("producer_other"),
        ).status_code
        == 403
    )
    assert c.delete(f"/contracts/{name}", headers={}).status_code == 401
    assert (
        c.delete(
            f"/contracts/{name}/versions/1?permanent=true", headers=s.as_("producer_own")
        ).status_code
        == 409
    )
    assert c.delete(f"/contracts/{name}", headers=s.as_("admin")).status_code == 200

    entries = list(reversed(_audit(s, limit=100)))
    summary = [(e["action"], e["outcome"], e["status"]) for e in entries]
    assert summary == [
        ("contract.publish", "ok", None),
        ("contract.config", "ok", None),
        ("version.lifecycle", "ok", None),
        ("consumer.register", "ok", None),
        ("webhook.create", "ok", None),
        ("breach.report", "ok", None),
        ("contract.publish", "denied", 403),
        ("contract.delete", "denied", 401),
        ("version.delete", "refused", 409),
        ("contract.delete", "ok", None),
    ], summary
    publish = entries[0]
    assert publish["actor"] == s.tokens["producer_own"].split("_")[1]
    assert publish["actor_kind"] == "token" and publish["role"] == "producer"
    assert publish["teams"] == [OWN] and publish["target"] == name
    assert publish["client"] == "testclient" and publish["method"] == "POST"
    assert publish["details"]["changes"]["contract_versions"] == {"insert": 1}
    assert entries[5]["details"]["changes"]["breaches"] == {"insert": 3}
    denied = entries[6]
    assert denied["actor"] == s.tokens["producer_other"].split("_")[1]
    assert "owned by team" in denied["details"]["reason"]
    assert entries[8]["details"]["query"] == {"permanent": "true"}
    assert entries[7]["actor"] == "anonymous" and entries[7]["actor_kind"] == "none"

    # Filters and pages.
    assert {e["action"] for e in _audit(s, action="contract.publish")} == {"contract.publish"}
    assert {e["outcome"] for e in _audit(s, outcome="denied")} == {"denied"}
    assert len(_audit(s, team=READS)) == 1
    page = s.client.get("/audit?limit=3&offset=3", headers=s.as_("admin")).json()
    assert page["total"] == 10 and len(page["items"]) == 3
    assert _audit(s, since="2099-01-01T00:00:00") == []

    # Never a secret: not the tokens, not the webhook's secret.
    engine = sa.create_engine(s.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT * FROM audit_log")).mappings().all()
    finally:
        engine.dispose()
    text = json.dumps([{k: str(v) for k, v in r.items()} for r in rows])
    for token in s.tokens.values():
        assert token not in text and token.split("_", 2)[2] not in text
    assert "s3cr3t-value-0123456789" not in text


def test_only_admins_read_the_audit_log(shared: Secured) -> None:
    for who in shared.tokens:
        status = shared.client.get("/audit", headers=shared.as_(who)).status_code
        assert status == (200 if who == "admin" else 403), who
    assert shared.client.get("/audit").status_code == 401
    admin = shared.as_("admin")
    for param, value in (
        ("since", "0001-01-01T00:00:00+14:00"),
        ("until", "9999-12-31T23:59-14:00"),
    ):
        response = shared.client.get("/audit", params={param: value}, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == f"query.{param}"


def test_confluent_changes_are_audited(secured: Secured) -> None:
    s = secured
    body = {"schemaType": "JSON", "schema": json.dumps({"type": "object"})}
    assert (
        s.client.post(
            "/confluent/subjects/pay-value/versions", json=body, headers=s.as_("producer_own")
        ).status_code
        == 200
    )
    assert (
        s.client.put(
            "/config", json={"compatibility": "NONE"}, headers=s.as_("producer_own")
        ).status_code
        == 403
    )
    entries = list(reversed(_audit(s)))
    assert [(e["action"], e["outcome"], e["target"]) for e in entries] == [
        ("subject.register", "ok", "pay-value"),
        ("confluent.config", "denied", None),
    ]
