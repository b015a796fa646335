"""The loader and lint rules, on the examples and on broken documents."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import (
    CompatibilityMode,
    Contract,
    ContractError,
    Policy,
    check_document,
    load_contract,
    load_file,
    parse_text,
)
from contracts.documents import SourceDocument
from tests.conftest import EXAMPLE_FILES

MINIMAL = {
    "name": "demo.events",
    "owner": {"team": "demo"},
    "schema": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
            "n": {"type": "integer"},
            "nested": {"type": "object", "properties": {"leaf": {"type": "string"}}},
            "list": {
                "type": "array",
                "items": {"type": "object", "properties": {"x": {"type": "number"}}},
            },
        },
    },
}


def problems_of(data: Any) -> list[tuple[str, str]]:
    return [(p.path, p.code) for p in check_document(SourceDocument(data))]


def with_(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    doc.update(changes)
    return doc


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_are_clean(path: Path) -> None:
    assert check_document(parse_text(path.read_text(), str(path))) == []
    contract = load_file(str(path))
    assert Contract.from_document(contract.to_document()) == contract


def test_minimal_document_gets_defaults() -> None:
    contract = load_contract(SourceDocument(MINIMAL))
    assert contract.compatibility.mode is CompatibilityMode.BACKWARD
    assert contract.compatibility.policy is Policy.STRICT
    assert contract.to_document()["status"] == "active"


def test_fingerprint_ignores_key_order_and_spelling_of_defaults() -> None:
    a = load_contract(SourceDocument(with_(compatibility="BACKWARD")))
    reordered = dict(
        reversed(list(with_(compatibility={"mode": "BACKWARD", "policy": "STRICT"}).items()))
    )
    b = load_contract(SourceDocument(reordered))
    assert a.fingerprint == b.fingerprint
    c = load_contract(SourceDocument(with_(description="changed")))
    assert c.fingerprint != a.fingerprint


def test_the_three_classic_mistakes_are_all_named() -> None:
    text = """\
name: demo.events
owner: {team: demo}
descripton: typo
schema:
  type: object
  properties:
    id: {type: strng}
semantics:
  missing_field: {classification: pii}
"""
    problems = check_document(parse_text(text, "demo.yaml"))
    assert [(p.path, p.code, p.line) for p in problems] == [
        ("/descripton", "unknown-key", 3),
        ("/schema/properties/id/type", "invalid-schema", 7),
        ("/semantics/missing_field", "unknown-field", 9),
    ]
    assert "did you mean 'description'" in problems[0].message
    with pytest.raises(ContractError) as info:
        load_contract(parse_text(text, "demo.yaml"))
    assert len(info.value.problems) == 3
    assert "demo.yaml:3" in str(info.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"semantics": {"nested.leaf": {"unit": "m"}, "list.x": {"unit": "kg"}}}, []),
        ({"semantics": {"/nested/leaf": {"unit": "m"}}}, []),
        ({"semantics": {"nested.leef": {}}}, [("/semantics/nested.leef", "unknown-field")]),
        ({"semantics": {"a..b": {}}}, [("/semantics", "schema")]),
        (
            {"semantics": {"id": {"classification": "secret"}}},
            [("/semantics/id/classification", "schema")],
        ),
        ({"rules": [{"name": "r", "expression": "this.n > 0 && this.list.all(e, e.x > 1.0)"}]}, []),
        (
            {"rules": [{"name": "r", "expression": "this.list.exists(e, e.y > 1)"}]},
            [("/rules/0/expression", "unknown-field")],
        ),
        (
            {"rules": [{"name": "r", "expression": "n > 0"}]},
            [("/rules/0/expression", "rule-syntax")],
        ),
        (
            {"rules": [{"name": "r", "expression": "this.n >"}]},
            [("/rules/0/expression", "rule-syntax")],
        ),
        (
            {"rules": [{"name": "r", "expression": "true"}, {"name": "r", "expression": "true"}]},
            [("/rules/1/name", "duplicate-name")],
        ),
        ({"quality": [{"name": "q", "type": "null_rate", "field": "id", "must_be": 0}]}, []),
        (
            {"quality": [{"name": "q", "type": "null_rate", "field": "nope", "must_be": 0}]},
            [("/quality/0/field", "unknown-field")],
        ),
        (
            {"quality": [{"name": "q", "type": "null_rate", "must_be": 0}]},
            [("/quality/0", "schema")],
        ),
        (
            {"quality": [{"name": "q", "type": "row_count", "must_be": 1, "must_not_be": 2}]},
            [("/quality/0", "schema")],
        ),
        (
            {
                "quality": [
                    {"name": "q", "type": "custom", "engine": "sql", "implementation": "select 1"}
                ]
            },
            [],
        ),
        ({"sla": {"freshness": {"field": "at", "max_delay": "15m"}}}, []),
        (
            {"sla": {"freshness": {"field": "id", "max_delay": "15m"}}},
            [("/sla/freshness/field", "freshness-field")],
        ),
        (
            {"sla": {"freshness": {"field": "at", "max_delay": "soon"}}},
            [("/sla/freshness/max_delay", "schema")],
        ),
        ({"sla": {"volume": {"window": "1h", "min": 10, "max": 5}}}, [("/sla/volume", "schema")]),
        # Durations SLA evaluation cannot work with: no time at all, or past datetime's range.
        ({"sla": {"volume": {"window": "0s", "min": 1}}}, [("/sla/volume/window", "sla")]),
        (
            {"sla": {"freshness": {"field": "at", "max_delay": "P999999W"}}},
            [("/sla/freshness/max_delay", "sla")],
        ),
        ({"sla": {"retention": "P99999999999999999W"}}, [("/sla/retention", "sla")]),
        ({"sla": {"retention": "P36525D"}}, []),
        ({"compatibility": "SIDEWAYS"}, [("/compatibility", "schema")]),
        ({"compatibility": {"mode": "FULL", "policy": "LENIENT"}}, []),
        ({"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}}, []),
        (
            {"schema": {"$schema": "http://json-schema.org/draft-03/schema#"}},
            [("/schema/$schema", "invalid-schema")],
        ),
        (
            {"schema": {"properties": {"a": {"$ref": "https://example.com/s.json"}}}},
            [("/schema/properties/a/$ref", "remote-ref")],
        ),
        # A local $ref must name a part of the schema: enforcers could not build a validator.
        (
            {"schema": {"properties": {"a": {"$ref": "#/$defs/nope"}}}},
            [("/schema/properties/a/$ref", "unresolved-ref")],
        ),
        (
            {"schema": {"properties": {"a": {"$ref": "#missing"}}}},
            [("/schema/properties/a/$ref", "unresolved-ref")],
        ),
        (
            {
                "schema": {
                    "$defs": {"a b": {"$anchor": "x"}},
                    "properties": {
                        "a": {"$ref": "#/$defs/a%20b"},
                        "b": {"$ref": "#x"},
                        "c": {"$ref": "#"},
                    },
                }
            },
            [],
        ),
        ({"schema": {"properties": {"a": {"const": {"$ref": "#/nope"}}}}}, []),  # data, not a $ref
        # Named like a data keyword, a property is a schema all the same.
        (
            {"schema": {"properties": {"default": {"$ref": "#/$defs/nope"}}}},
            [("/schema/properties/default/$ref", "unresolved-ref")],
        ),
        (
            {"schema": {"properties": {"enum": {"$ref": "https://example.com/s.json"}}}},
            [("/schema/properties/enum/$ref", "remote-ref")],
        ),
        (
            {
                "schema": {
                    "$defs": {"m": {"$dynamicAnchor": "m"}},
                    "properties": {
                        "default": {"$anchor": "d"},
                        "a": {"$ref": "#d"},
                        "b": {"$ref": "#m"},
                    },
                }
            },
            [],
        ),
        (
            {"schema": {"type": "object", "minProperties": -1}},
            [("/schema/minProperties", "invalid-schema")],
        ),
        ({"name": "Bad Name"}, [("/name", "schema")]),
        ({"owner": {}}, [("/owner", "schema")]),
        ({"tags": ["a", "a"]}, [("/tags", "schema")]),
    ],
)
def test_checks(change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems_of(with_(**change)) == expected


def test_not_a_mapping() -> None:
    assert problems_of(["a list"]) == [("", "schema")]
    assert problems_of(None) == [("", "schema")]


def test_missing_required_keys() -> None:
    assert sorted(problems_of({"name": "x"})) == [("", "schema"), ("", "schema")]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_typo_in_a_top_level_key_is_caught_with_a_hint(path: Path, data: st.DataObject) -> None:
    doc = yaml.safe_load(path.read_text())
    key = data.draw(st.sampled_from(sorted(doc)))
    i = data.draw(st.integers(min_value=0, max_value=len(key) - 1))
    typo = key[:i] + key[i + 1 :] if len(key) > 3 else key + "x"
    doc[typo] = doc.pop(key)
    problems = check_document(SourceDocument(doc))
    unknown = [p for p in problems if p.code == "unknown-key"]
    assert [p.path for p in unknown] == [f"/{typo}"]
    assert f"did you mean {key!r}" in unknown[0].message


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.from_regex(r"\A[a-z]{1,6}(_[a-z]{1,6})?\Z"))
def test_semantics_for_an_undeclared_field_is_caught(path: Path, name: str) -> None:
    doc = yaml.safe_load(path.read_text())
    field = f"nosuch_{name}"
    doc.setdefault("semantics", {})[field] = {"description": "x"}
    assert ("/semantics/" + field, "unknown-field") in problems_of(doc)
