"""The permissions matrix: every role x every write endpoint x own and other team.

Each cell prepares fresh state as an admin (a contract of its own, owned by `OWN`), then
makes the write as the principal and asserts the exact status; a refused write must leave
the state as it was. No cross-team write succeeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from registry.auth.policy import POLICY, rule_for
from tests.security.conftest import (
    ELSEWHERE,
    OTHER,
    OWN,
    PRINCIPALS,
    READS,
    Secured,
    contract_doc,
    fresh_name,
)

WHO = [*PRINCIPALS, "none"]


@dataclass(frozen=True)
class Write:
    """One write endpoint: how to set up for it, the request, who may, and the proof."""

    prepare: Callable[[Secured], dict[str, Any]]  # as admin; returns the request's context
    request: Callable[[dict[str, Any]], tuple[str, str, dict[str, Any]]]  # method, url, kwargs
    allowed: dict[str, int]  # principal -> success status; everyone else: 401 / 403
    state: Callable[[Secured, dict[str, Any]], Any] | None = None  # unchanged when refused


def _publish(s: Secured, name: str, **kwargs: Any) -> None:
    r = s.client.post(
        f"/contracts/{name}/versions", json=contract_doc(name, **kwargs), headers=s.as_("admin")
    )
    assert r.status_code in (200, 201), r.text


def _contract(s: Secured) -> dict[str, Any]:
    name = fresh_name("m")
    _publish(s, name)
    return {"name": name}


def _two_versions(s: Secured) -> dict[str, Any]:
    ctx = _contract(s)
    _publish(s, ctx["name"], extra=("note",))
    return ctx


def _with_consumer(s: Secured) -> dict[str, Any]:
    ctx = _contract(s)
    r = s.client.post(
        f"/contracts/{ctx['name']}/consumers",
        json={"name": "dash", "team": READS},
        headers=s.as_("admin"),
    )
    assert r.status_code == 201, r.text
    return ctx


def _with_webhook(s: Secured) -> dict[str, Any]:
    r = s.client.post(
        "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "team": OWN},
        headers=s.as_("admin"),
    )
    assert r.status_code == 201, r.text
    return {"id": r.json()["id"]}


def _subject(s: Secured) -> dict[str, Any]:
    name = fresh_name("s")
    body = {
        "schemaType": "JSON",
        "schema": json.dumps({"type": "object"}),
        "metadata": {"properties": {"owner": OWN}},
    }
    r = s.client.post(f"/subjects/{name}/versions", json=body, headers=s.as_("admin"))
    assert r.status_code == 200, r.text
    return {"name": name}


def _nothing(_s: Secured) -> dict[str, Any]:
    return {}


def _versions(s: Secured, ctx: dict[str, Any]) -> Any:
    r = s.client.get(f"/contracts/{ctx['name']}/versions?deleted=true", headers=s.as_("admin"))
    return r.status_code, [(v["version"], v["status"], v["deleted_at"]) for v in r.json()["items"]]


def _config(s: Secured, ctx: dict[str, Any]) -> Any:
    return s.client.get(f"/contracts/{ctx['name']}/config", headers=s.as_("admin")).json()


def _consumers(s: Secured, ctx: dict[str, Any]) -> Any:
    r = s.client.get(f"/contracts/{ctx['name']}/consumers", headers=s.as_("admin"))
    return [c["name"] for c in r.json()["items"]]


def _webhooks(s: Secured, _ctx: dict[str, Any]) -> Any:
    return s.client.get("/webhooks", headers=s.as_("admin")).json()


def _global(s: Secured, _ctx: dict[str, Any]) -> Any:
    return (
        s.client.get("/config", headers=s.as_("admin")).json(),
        s.client.get("/mode", headers=s.as_("admin")).json(),
    )


PRODUCERS = {"admin", "producer_own"}


def _owners(status: int) -> dict[str, int]:
    return dict.fromkeys(PRODUCERS, status)


WRITES: dict[str, Write] = {
    "publish": Write(
        _contract,
        lambda c: (
            "POST",
            f"/contracts/{c['name']}/versions",
            {"json": contract_doc(c["name"], extra=("note",))},
        ),
        _owners(201),
        _versions,
    ),
    "publish new contract": Write(
        lambda _s: {"name": fresh_name("n")},
        lambda c: ("POST", f"/contracts/{c['name']}/versions", {"json": contract_doc(c["name"])}),
        _owners(201),
        lambda s, c: s.client.get(f"/contracts/{c['name']}", headers=s.as_("admin")).status_code,
    ),
    "config": Write(
        _contract,
        lambda c: ("PUT", f"/contracts/{c['name']}/config", {"json": {"mode": "NONE"}}),
        _owners(200),
        _config,
    ),
    "lifecycle": Write(
        _contract,
        lambda c: (
            "PATCH",
            f"/contracts/{c['name']}/versions/1",
            {"json": {"status": "deprecated"}},
        ),
        _owners(200),
        _versions,
    ),
    "delete version": Write(
        _two_versions,
        lambda c: ("DELETE", f"/contracts/{c['name']}/versions/1", {}),
        _owners(200),
        _versions,
    ),
    "delete contract": Write(
        _contract,
        lambda c: ("DELETE", f"/contracts/{c['name']}", {}),
        _owners(200),
        _versions,
    ),
    "register consumer": Write(
        _contract,
        lambda c: (
            "POST",
            f"/contracts/{c['name']}/consumers",
            {"json": {"name": "dash", "team": READS}},
        ),
        {"admin": 201, "consumer_own": 201},
        _consumers,
    ),
    "unregister consumer": Write(
        _with_consumer,
        lambda c: ("DELETE", f"/contracts/{c['name']}/consumers/dash", {}),
        {"admin": 204, "consumer_own": 204},
        _consumers,
    ),
    "report breaches": Write(
        _nothing,
        lambda _c: ("POST", "/breaches", {"json": {"source": "matrix", "breaches": []}}),
        {"admin": 200, "reporter": 200},
    ),
    "create webhook": Write(
        _nothing,
        lambda _c: ("POST", "/webhooks", {"json": {"url": "http://127.0.0.1:9/x", "team": OWN}}),
        _owners(201),
        _webhooks,
    ),
    "update webhook": Write(
        _with_webhook,
        lambda c: ("PATCH", f"/webhooks/{c['id']}", {"json": {"rotate_secret": True}}),
        _owners(200),
        _webhooks,
    ),
    "delete webhook": Write(
        _with_webhook,
        lambda c: ("DELETE", f"/webhooks/{c['id']}", {}),
        _owners(204),
        _webhooks,
    ),
    "confluent register": Write(
        _subject,
        lambda c: (
            "POST",
            f"/subjects/{c['name']}/versions",
            {"json": {"schemaType": "JSON", "schema": json.dumps({"type": "object", "a": 1})}},
        ),
        _owners(200),
        lambda s, c: s.client.get(f"/subjects/{c['name']}/versions", headers=s.as_("admin")).json(),
    ),
    "confluent delete version": Write(
        _subject,
        lambda c: ("DELETE", f"/confluent/subjects/{c['name']}/versions/1", {}),
        _owners(200),
        lambda s, c: s.client.get(f"/subjects/{c['name']}/versions", headers=s.as_("admin")).json(),
    ),
    "confluent delete subject": Write(
        _subject,
        lambda c: ("DELETE", f"/subjects/{c['name']}", {}),
        _owners(200),
        lambda s, c: s.client.get(f"/subjects/{c['name']}/versions", headers=s.as_("admin")).json(),
    ),
    "confluent subject config": Write(
        _subject,
        lambda c: ("PUT", f"/config/{c['name']}", {"json": {"compatibility": "NONE"}}),
        _owners(200),
        lambda s, c: s.client.get(f"/config/{c['name']}", headers=s.as_("admin")).json(),
    ),
    "confluent subject mode": Write(
        _subject,
        lambda c: ("PUT", f"/mode/{c['name']}", {"json": {"mode": "READONLY"}}),
        _owners(200),
        lambda s, c: s.client.get(f"/mode/{c['name']}", headers=s.as_("admin")).json(),
    ),
    "confluent global config": Write(
        _nothing,
        lambda _c: ("PUT", "/config", {"json": {"compatibility": "BACKWARD"}}),
        {"admin": 200},
        _global,
    ),
    "confluent global mode": Write(
        _nothing,
        lambda _c: ("PUT", "/mode", {"json": {"mode": "READWRITE"}}),
        {"admin": 200},
        _global,
    ),
}


@pytest.mark.parametrize("endpoint", list(WRITES))
def test_permissions_matrix(shared: Secured, endpoint: str) -> None:
    write = WRITES[endpoint]
    wrong: list[str] = []
    for who in WHO:
        ctx = write.prepare(shared)
        before = write.state(shared, ctx) if write.state else None
        method, url, kwargs = write.request(ctx)
        response = shared.client.request(method, url, headers=shared.as_(who), **kwargs)
        expected = write.allowed.get(who, 401 if who == "none" else 403)
        if response.status_code != expected:
            wrong.append(f"{who}: {response.status_code} (expected {expected}) {response.text}")
            continue
        if expected >= 400:
            body = response.json()
            code = body["error_code"] if "error_code" in body else body["error"]["code"]
            assert code in ("unauthorized", "forbidden", 40101, 40301), body
            if write.state:
                assert write.state(shared, ctx) == before, f"{endpoint}: {who} changed state"
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)


def test_every_write_route_is_in_the_matrix_or_admin_only() -> None:
    """Each state-changing route of the policy table is exercised above."""
    exercised = {
        ("POST", "/contracts/{name}/versions"),
        ("PUT", "/contracts/{name}/config"),
        ("PATCH", "/contracts/{name}/versions/{version}"),
        ("DELETE", "/contracts/{name}/versions/{version}"),
        ("DELETE", "/contracts/{name}"),
        ("POST", "/contracts/{name}/consumers"),
        ("DELETE", "/contracts/{name}/consumers/{consumer:path}"),
        ("POST", "/breaches"),
        ("POST", "/webhooks"),
        ("PATCH", "/webhooks/{webhook_id}"),
        ("DELETE", "/webhooks/{webhook_id}"),
        ("POST", "/subjects/{subject}/versions"),
        ("DELETE", "/subjects/{subject}/versions/{version}"),
        ("DELETE", "/subjects/{subject}"),
        ("PUT", "/config/{subject}"),
        ("PUT", "/mode/{subject}"),
        ("PUT", "/config"),
        ("PUT", "/mode"),
    }
    writes = {key for key, rule in POLICY.items() if rule.changes}
    untested = writes - exercised
    # What is left is only admin's, or mirrors a tested rule (deleting a config or mode).
    for method, template in untested:
        rule = rule_for(method, template)
        assert rule.role is not None and rule.role.value in ("admin", "producer"), template


def test_owner_change_needs_admin_or_both_teams(secured: Secured) -> None:
    s, name = secured, "moving.events"
    first = s.client.post(
        f"/contracts/{name}/versions", json=contract_doc(name), headers=s.as_("producer_own")
    )
    assert first.status_code == 201
    moved = contract_doc(name, team=OTHER)
    for who in ("producer_own", "producer_other"):
        r = s.client.post(f"/contracts/{name}/versions", json=moved, headers=s.as_(who))
        assert r.status_code == 403, (who, r.text)
    assert s.client.get(f"/contracts/{name}", headers=s.as_("reader")).json()["owner_team"] == OWN
    from tests.security.conftest import bearer, make_token

    both = make_token(s.database_url, "producer", OWN, OTHER)
    r = s.client.post(f"/contracts/{name}/versions", json=moved, headers=bearer(both))
    assert r.status_code == 201, r.text
    assert s.client.get(f"/contracts/{name}", headers=s.as_("reader")).json()["owner_team"] == OTHER
    # Now the old team's producer can no longer touch it; the new one can.
    back = contract_doc(name, team=OTHER, extra=("note",))
    r = s.client.post(f"/contracts/{name}/versions", json=back, headers=s.as_("producer_own"))
    assert r.status_code == 403
    r = s.client.post(f"/contracts/{name}/versions", json=back, headers=s.as_("producer_other"))
    assert r.status_code == 201
    # An admin may move it anywhere.
    home = contract_doc(name, team=OWN, extra=("note",))
    r = s.client.post(f"/contracts/{name}/versions", json=home, headers=s.as_("admin"))
    assert r.status_code == 201


def test_a_producer_cannot_create_a_contract_for_another_team(secured: Secured) -> None:
    s = secured
    doc = contract_doc("theirs.events", team=OTHER)
    r = s.client.post("/contracts/theirs.events/versions", json=doc, headers=s.as_("producer_own"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert s.client.get("/contracts/theirs.events", headers=s.as_("reader")).status_code == 404


def test_confluent_registration_takes_the_producers_team(secured: Secured) -> None:
    s = secured
    body = {"schemaType": "JSON", "schema": json.dumps({"type": "object"})}
    r = s.client.post("/subjects/orders-value/versions", json=body, headers=s.as_("producer_own"))
    assert r.status_code == 200, r.text
    summary = s.client.get("/contracts/orders-value", headers=s.as_("reader")).json()
    assert summary["owner_team"] == OWN
    body["metadata"] = {"properties": {"owner": OTHER}}  # type: ignore[assignment]
    r = s.client.post("/subjects/x-value/versions", json=body, headers=s.as_("producer_own"))
    assert r.status_code == 403 and r.json()["error_code"] == 40301


def test_a_subject_not_created_yet_is_configured_by_an_admin_only(secured: Secured) -> None:
    # Its mode or compatibility would bind whichever team creates it: another team's
    # producer could set IMPORT or NONE in advance, and breaking versions would then pass.
    s = secured
    for method, path, body in (
        ("PUT", "/mode/orders-later", {"mode": "IMPORT"}),
        ("PUT", "/config/orders-later", {"compatibility": "NONE"}),
        ("DELETE", "/mode/orders-later", None),
        ("DELETE", "/config/orders-later", None),
    ):
        r = s.client.request(method, path, json=body, headers=s.as_("producer_other"))
        assert r.status_code == 403, (method, path, r.text)
        assert "not a contract yet" in r.json()["message"]
    r = s.client.put("/config/orders-later", json={"compatibility": "FULL"}, headers=s.as_("admin"))
    assert r.status_code == 200, r.text
    schema = {"schemaType": "JSON", "schema": json.dumps({"type": "object"})}
    r = s.client.post("/subjects/orders-later/versions", json=schema, headers=s.as_("producer_own"))
    assert r.status_code == 200, r.text
    r = s.client.put("/mode/orders-later", json={"mode": "READONLY"}, headers=s.as_("producer_own"))
    assert r.status_code == 200, r.text  # its own now


def test_webhook_scope_rules(secured: Secured) -> None:
    s = secured
    s.client.post(
        "/contracts/hooked.events/versions",
        json=contract_doc("hooked.events"),
        headers=s.as_("admin"),
    )
    cases = [
        ({"url": "http://127.0.0.1:9/a"}, "producer_own", 403),  # every contract: admin only
        ({"url": "http://127.0.0.1:9/a"}, "admin", 201),
        ({"url": "http://127.0.0.1:9/a", "contract": "hooked.events"}, "producer_own", 201),
        ({"url": "http://127.0.0.1:9/a", "contract": "hooked.events"}, "producer_other", 403),
        ({"url": "http://127.0.0.1:9/a", "team": OTHER}, "producer_own", 403),
    ]
    for body, who, status in cases:
        r = s.client.post("/webhooks", json=body, headers=s.as_(who))
        assert r.status_code == status, (body, who, r.text)
    assert s.client.get("/webhooks", headers=s.as_("producer_own")).status_code == 403
    # A producer may change their own team's webhook, but not hand it to another team or
    # widen it to every contract; another team's producer may not touch it.
    own = s.client.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/b", "team": OWN}, headers=s.as_("admin")
    ).json()["id"]
    for body, who, status in [
        ({"team": OTHER}, "producer_own", 403),
        ({"team": None}, "producer_own", 403),
        ({"team": None, "contract": "hooked.events"}, "producer_own", 200),
        ({"description": "mine now"}, "producer_other", 403),
    ]:
        r = s.client.patch(f"/webhooks/{own}", json=body, headers=s.as_(who))
        assert r.status_code == status, (body, who, r.text)
    # The id written as the route also reads it ("+7", "007"): checked all the same.
    for spelled in (f"+{own}", f"{own:019d}", f"{own}.0"):
        r = s.client.get(f"/webhooks/{spelled}", headers=s.as_("producer_other"))
        assert r.status_code == 403, (spelled, r.text)
        taken = {"team": OTHER, "url": "http://127.0.0.1:9/stolen", "rotate_secret": True}
        r = s.client.patch(f"/webhooks/{spelled}", json=taken, headers=s.as_("producer_other"))
        assert r.status_code == 403, (spelled, r.text)
    after = s.client.get(f"/webhooks/{own}", headers=s.as_("admin")).json()
    assert (after["team"], after["contract"], after["description"]) == (None, "hooked.events", None)
    mine = s.client.get(f"/webhooks?team={OWN}", headers=s.as_("producer_own"))
    assert mine.status_code == 200
    theirs = s.client.get(f"/webhooks?team={OTHER}", headers=s.as_("producer_own"))
    assert theirs.status_code == 403
    assert s.client.get("/webhooks", headers=s.as_("reader")).status_code == 403


def test_consumers_cannot_take_over_another_teams_consumer(secured: Secured) -> None:
    s = secured
    s.client.post(
        "/contracts/read.events/versions", json=contract_doc("read.events"), headers=s.as_("admin")
    )
    mine = {"name": "board", "team": READS}
    assert (
        s.client.post(
            "/contracts/read.events/consumers", json=mine, headers=s.as_("consumer_own")
        ).status_code
        == 201
    )
    hijack = {"name": "board", "team": ELSEWHERE}
    r = s.client.post(
        "/contracts/read.events/consumers", json=hijack, headers=s.as_("consumer_other")
    )
    assert r.status_code == 403
    listed = s.client.get("/contracts/read.events/consumers", headers=s.as_("reader")).json()
    assert [c["team"] for c in listed["items"]] == [READS]
