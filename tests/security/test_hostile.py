"""Hostile input: each refused with a clear error, quickly, and nothing stored.

Deep nesting, huge bodies (declared and chunked), malformed and non-UTF-8 documents, YAML
alias bombs, `$ref` cycles, remote `$ref`s (never fetched), regular expressions that could
backtrack, too many properties; through the native API and the Confluent one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from registry.app import create_app
from tests.security.conftest import Secured, contract_doc, secure_settings

NAME = "hostile.events"


def _deep_json(levels: int) -> str:
    inner = '{"type": "object"}'
    for _ in range(levels):
        inner = '{"type": "object", "properties": {"a": ' + inner + "}}"
    return '{"name": "hostile.events", "owner": {"team": "payments"}, "schema": ' + inner + "}"


def _with_schema(schema: Any) -> bytes:
    doc = contract_doc(NAME)
    doc["schema"] = schema
    return json.dumps(doc).encode()


BOMB = (
    "name: hostile.events\nowner: {team: payments}\nschema: {type: object}\n"
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
)

HOSTILE: dict[str, tuple[bytes, str, int, str]] = {
    # name: (body, content type, status, problem code or error code)
    "nested 100 levels": (_deep_json(100).encode(), "application/json", 422, "too-deep"),
    "nested 5,000 levels": (
        b'{"name": "hostile.events", "schema": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "application/json",
        422,
        "syntax",
    ),
    "YAML nested 20,000 levels": (
        b"name: hostile.events\nschema: " + b"[" * 20000 + b"]" * 20000,
        "application/yaml",
        422,
        "syntax",
    ),
    "YAML alias bomb": (BOMB.encode(), "application/yaml", 422, "syntax"),
    "YAML recursive alias": (
        b"name: hostile.events\nowner: {team: payments}\nschema: &s {allOf: [*s]}\n",
        "application/yaml",
        422,
        "syntax",
    ),
    "malformed YAML": (b"name: [hostile\nowner: {", "application/yaml", 422, "syntax"),
    "malformed JSON": (b'{"name": "hostile.events",', "application/json", 422, "syntax"),
    "invalid UTF-8": (
        b"name: hostile.events\nowner: {team: \xff\xfe}\n",
        "application/yaml",
        422,
        "syntax",
    ),
    "huge integer": (
        b"name: hostile.events\nx: " + b"9" * 20000,
        "application/yaml",
        422,
        "syntax",
    ),
    "NaN in JSON": (
        b'{"name": "hostile.events", "owner": {"team": "payments"}, '
        b'"schema": {"type": "number", "minimum": NaN}}',
        "application/json",
        422,
        "invalid-number",
    ),
    "infinity in YAML": (
        b"name: hostile.events\nowner: {team: payments}\nschema: {type: number, maximum: .inf}\n",
        "application/yaml",
        422,
        "invalid-number",
    ),
    "integer beyond 64 bits": (
        b"name: hostile.events\nowner: {team: payments}\n"
        b"schema: {type: object, maxProperties: 100000000000000000000000}\n",
        "application/yaml",
        422,
        "invalid-number",
    ),
    "$ref cycle": (
        _with_schema(
            {
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
                "$ref": "#/$defs/a",
            }
        ),
        "application/json",
        422,
        "ref-cycle",
    ),
    "$ref to itself in allOf": (
        _with_schema({"type": "object", "allOf": [{"$ref": "#"}]}),
        "application/json",
        422,
        "ref-cycle",
    ),
    "backreference": (
        _with_schema(
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "(a+)\\1"}}}
        ),
        "application/json",
        422,
        "unsafe-pattern",
    ),
    "lookahead": (
        _with_schema(
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=a)a+$"}}}
        ),
        "application/json",
        422,
        "unsafe-pattern",
    ),
    "lookbehind in patternProperties": (
        _with_schema({"type": "object", "patternProperties": {"(?<!x)y": {"type": "string"}}}),
        "application/json",
        422,
        "unsafe-pattern",
    ),
    "enormous repetition": (
        _with_schema(
            {
                "type": "object",
                "properties": {"a": {"type": "string", "pattern": "(a{1000}){1000}"}},
            }
        ),
        "application/json",
        422,
        "unsafe-pattern",
    ),
    "invalid regex": (
        _with_schema({"type": "object", "properties": {"a": {"type": "string", "pattern": "(a"}}}),
        "application/json",
        422,
        "invalid-schema",
    ),
}


def _stored(s: Secured) -> int:
    r = s.client.get(f"/contracts/{NAME}/versions?deleted=true", headers=s.as_("reader"))
    return 0 if r.status_code == 404 else len(r.json()["items"])


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_documents_are_refused(shared: Secured, case: str) -> None:
    body, media, status, code = HOSTILE[case]
    for path in (f"/contracts/{NAME}/compatibility", f"/contracts/{NAME}/versions"):
        started = time.perf_counter()
        r = shared.client.post(
            path, content=body, headers={**shared.as_("admin"), "Content-Type": media}
        )
        elapsed = time.perf_counter() - started
        assert r.status_code == status, (case, path, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid_contract" and error["message"], error
        assert code in {p["code"] for p in error["details"]}, error
        assert elapsed < 2.0, f"{case}: {elapsed:.2f} s"
    assert _stored(shared) == 0


def test_bodies_over_the_limit_are_refused_before_reading(shared: Secured) -> None:
    s = shared
    big = b"x" * (1024 * 1024 + 1)
    headers = {**s.as_("admin"), "Content-Type": "application/json"}
    declared = s.client.post(f"/contracts/{NAME}/versions", content=big, headers=headers)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for _ in range(40):
            yield b" " * 65536

    chunked = s.client.post(f"/contracts/{NAME}/versions", content=chunks(), headers=headers)
    assert chunked.status_code == 413, chunked.text
    confluent = s.client.post(
        "/subjects/hostile-value/versions", content=chunks(), headers=s.as_("admin")
    )
    assert confluent.status_code == 413 and confluent.json()["error_code"] == 41301
    # Breach batches and webhooks too: the limit is global.
    batch = s.client.post(
        "/breaches", content=big, headers={**s.as_("reporter"), "Content-Type": "application/json"}
    )
    assert batch.status_code == 413
    assert _stored(s) == 0


def test_a_small_chunked_body_still_works(shared: Secured) -> None:
    doc = json.dumps(contract_doc("chunked.events")).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(doc), 100):
            yield doc[i : i + 100]

    r = shared.client.post(
        "/contracts/chunked.events/versions",
        content=chunks(),
        headers={**shared.as_("producer_own"), "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text


def test_limits_are_configurable(database_url: str) -> None:
    app = create_app(
        secure_settings(
            database_url,
            auth=False,
            max_schema_properties=20,
            max_schema_depth=8,
            max_body_bytes=4096,
        )
    )
    many = contract_doc("many.events", extra=tuple(f"f{i}" for i in range(30)))
    with TestClient(app) as client:
        r = client.post("/contracts/many.events/versions", json=many)
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["code"] == "too-many-properties"
        r = client.post(
            "/contracts/hostile.events/versions",
            content=_deep_json(6),
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["code"] == "too-deep"
        r = client.post(
            "/breaches",
            content=b"{" + b" " * 5000 + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 413


# -- Confluent API ----------------------------------------------------------------------------


CONFLUENT_HOSTILE = {
    "nested": json.dumps(json.loads(_deep_json(100))["schema"]),
    "cycle": json.dumps({"allOf": [{"$ref": "#"}]}),
    "backreference": json.dumps({"type": "string", "pattern": "(a)\\1"}),
    "remote ref": json.dumps({"$ref": "http://127.0.0.1:9/evil.json"}),
    "not JSON": "{",
}


@pytest.mark.parametrize("case", list(CONFLUENT_HOSTILE))
def test_confluent_refuses_hostile_schemas(shared: Secured, case: str) -> None:
    body = {"schemaType": "JSON", "schema": CONFLUENT_HOSTILE[case]}
    subject = f"hostile-{case.replace(' ', '-')}"
    r = shared.client.post(f"/subjects/{subject}/versions", json=body, headers=shared.as_("admin"))
    assert r.status_code == 422, r.text
    assert r.json()["error_code"] == 42201 and r.json()["message"].startswith("Invalid schema")
    assert (
        shared.client.get(f"/subjects/{subject}/versions", headers=shared.as_("admin")).status_code
        == 404
    )


ODD_VALUES = [
    # (method, path, query): values the database cannot hold, or that PostgreSQL refuses
    ("PUT", "/mode/" + "s" * 300, {}),
    ("GET", "/subjects/a%00b/versions", {}),
    ("GET", "/config/a%00b", {}),
    ("GET", "/contracts", {"q": "a\x00b"}),
    ("GET", "/contracts", {"owner": "o" * 300}),
    ("GET", "/breaches", {"source": "a\x00b"}),
]


@pytest.mark.parametrize(("method", "path", "query"), ODD_VALUES)
def test_values_the_database_cannot_hold_are_no_500(
    shared: Secured, method: str, path: str, query: dict[str, str]
) -> None:
    body = {"json": {"mode": "READONLY"}} if method == "PUT" else {}
    r = shared.client.request(method, path, params=query, headers=shared.as_("admin"), **body)
    # Refused (PostgreSQL), or simply matching nothing (SQLite): never a 500.
    assert r.status_code < 500, (path, query, r.status_code, r.text)
    if r.status_code == 422 and query:
        message = r.json()["error"]["message"]
        assert f"query.{next(iter(query))}" in message, message


# -- remote references are never fetched ----------------------------------------------------


@pytest.fixture
def trap() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_remote_refs_are_refused_and_never_fetched(
    shared: Secured, trap: tuple[str, list[str]]
) -> None:
    url, hits = trap
    schemas = [
        {"$ref": f"{url}/schema.json"},
        {"type": "object", "properties": {"a": {"$ref": f"{url}/a.json#/defs/x"}}},
        {"$schema": f"{url}/meta.json", "type": "object"},
        {"$id": f"{url}/base.json", "type": "object", "properties": {"a": {"$ref": "other.json"}}},
    ]
    for schema in schemas:
        for path in (f"/contracts/{NAME}/compatibility", f"/contracts/{NAME}/versions"):
            r = shared.client.post(
                path,
                content=_with_schema(schema),
                headers={**shared.as_("admin"), "Content-Type": "application/json"},
            )
            assert r.status_code == 422, (schema, r.text)
        body = {"schemaType": "JSON", "schema": json.dumps(schema)}
        r = shared.client.post(
            "/subjects/remote-value/versions", json=body, headers=shared.as_("admin")
        )
        assert r.status_code == 422, (schema, r.text)
    assert hits == []
    assert _stored(shared) == 0


def test_backtracking_patterns_cost_linear_time_in_the_compatibility_engine(
    shared: Secured,
) -> None:
    """`^(a+)+$` is valid RE2: accepted, and matched by RE2 (never by a backtracking engine)
    when the compatibility engine matches property names against patternProperties."""
    name = "regex.events"
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "patternProperties": {"^(a+)+$": {"type": "string"}},
        "properties": {},
    }
    doc = contract_doc(name)
    doc["schema"] = schema
    r = shared.client.post(f"/contracts/{name}/versions", json=doc, headers=shared.as_("admin"))
    assert r.status_code == 201, r.text
    doc["schema"] = {**schema, "properties": {"a" * 5000 + "!": {"type": "string"}}}
    started = time.perf_counter()
    r = shared.client.post(
        f"/contracts/{name}/compatibility", json=doc, headers=shared.as_("admin")
    )
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 2.0


def test_rate_limit_answers_429_with_retry_after(database_url: str) -> None:
    app = create_app(secure_settings(database_url, rate_limit="5/minute", anonymous_read=True))
    with TestClient(app) as client:
        statuses = [client.get("/contracts").status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        limited = client.get("/contracts")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/health").status_code == 200  # never limited
        confluent = client.get("/subjects")
        assert confluent.status_code == 429 and confluent.json()["error_code"] == 42901
