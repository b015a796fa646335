"""The schema diff skips equal subschemas without loading them, and only where that is exact."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.compatibility import schema_diff_model
from contracts.compatibility.schema_diff import diff_schemas, load_schema

DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT2019 = "https://json-schema.org/draft/2019-09/schema"


def wide(
    extra: dict[str, Any], keywords: dict[str, Any] | None = None, count: int = 3
) -> dict[str, Any]:
    """An object schema with `count` plain string properties, then `extra`, and `keywords`."""
    properties: dict[str, Any] = {
        f"f{i}": {"type": "string", "maxLength": 5, "description": f"field {i}"}
        for i in range(count)
    }
    properties.update(extra)
    return {"type": "object", "properties": properties, **(keywords or {})}


def changes(original: Any, update: Any) -> list[str]:
    return [str(c) for c in diff_schemas(original, update)]


def test_unchanged_properties_are_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[Any] = []
    classify = schema_diff_model._Loader._classify

    def counting(self: Any, schema: Any, *args: Any) -> Any:
        loaded.append(schema)
        return classify(self, schema, *args)

    monkeypatch.setattr(schema_diff_model._Loader, "_classify", counting)
    old_schema = wide({"x": {"type": "integer"}}, count=500)
    new_schema = wide({"x": {"type": "integer", "minimum": 0}, "y": {}}, count=500)
    old, new = load_schema(old_schema), load_schema(new_schema)
    assert changes(old, new) == [
        "MINIMUM_ADDED #/properties/x/minimum",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/properties/y",
    ]
    assert changes(new, old) == [
        "MINIMUM_REMOVED #/properties/x/minimum",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/y",
    ]
    # The two documents, then only the properties that differ.
    assert loaded == [
        old_schema,
        new_schema,
        {"type": "integer"},
        {"type": "integer", "minimum": 0},
        {},
    ]


@pytest.mark.parametrize(
    ("original", "update", "expected"),
    [
        pytest.param(
            wide({"a": {"type": "array", "uniqueItems": True}}),
            wide({"a": {"type": "array", "uniqueItems": 1}}),
            ["UNIQUE_ITEMS_REMOVED #/properties/a/uniqueItems"],
            id="true-is-not-1",
        ),
        pytest.param(
            wide({"a": {"type": "integer", "minimum": 1}}),
            wide({"a": {"type": "integer", "minimum": True}}),
            ["MINIMUM_REMOVED #/properties/a/minimum"],
            id="1-is-not-true",
        ),
        pytest.param(
            wide({"a": {"type": "object", "additionalProperties": False}}),
            wide({"a": {"type": "object", "additionalProperties": 0}}),
            ["ADDITIONAL_PROPERTIES_ADDED #/properties/a/additionalProperties"],
            id="false-is-not-0",
        ),
        pytest.param(
            wide({"a": {"enum": [False]}}),
            wide({"a": {"enum": [0]}}),
            ["ENUM_ARRAY_CHANGED #/properties/a/enum"],
            id="enum-false-is-not-0",
        ),
        pytest.param(
            wide({"a": {"$ref": "#/$defs/d"}}, {"$defs": {"d": {"type": "string"}}}),
            wide({"a": {"$ref": "#/$defs/d"}}, {"$defs": {"d": {"type": "integer"}}}),
            ["TYPE_CHANGED #/properties/a"],
            id="equal-ref-to-different-schemas",
        ),
        pytest.param(
            wide({"a": {"not": {"type": "string"}}}),
            wide({"a": {"not": {"type": "string"}}, "b": {}}),
            [
                "NOT_TYPE_NARROWED #/properties/a/not",
                "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/properties/b",
            ],
            id="equal-not-still-reported",
        ),
        pytest.param(
            wide({"a": {"type": "string", "id": "x"}}, {"$schema": DRAFT4}),
            wide({"a": {"type": "string", "id": "x"}}),
            ["ID_CHANGED #/properties/a"],
            id="other-dialect-draft4-id",
        ),
        pytest.param(
            wide({"a": {"properties": {}}}, {"$schema": DRAFT2019}),
            wide({"a": {"properties": {}}}),
            ["TYPE_CHANGED #/properties/a"],
            id="other-dialect-empty-properties",
        ),
        pytest.param(
            wide({"a": {"type": "integer", "minimum": 1}}),
            wide({"a": {"type": "integer", "minimum": 1.0}}),
            [],
            id="1-is-1.0",
        ),
    ],
)
def test_equal_json_is_skipped_only_when_exact(
    original: dict[str, Any], update: dict[str, Any], expected: list[str]
) -> None:
    assert changes(original, update) == expected


def test_loaded_schemas_compare_alike_when_reused() -> None:
    """A loaded schema keeps what it loaded lazily; later diffs give the same changes."""
    versions = [wide({f"v{i}": {"type": "integer"}}, count=50) for i in range(3)]
    nodes = [load_schema(v) for v in versions]
    for _ in range(2):
        for i, old in enumerate(versions):
            for j, new in enumerate(versions):
                assert changes(nodes[i], nodes[j]) == changes(old, new)
