"""A contract document made readable: its fields as a table, and a side-by-side diff."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from contracts import Contract

__all__ = ["DiffRow", "FieldInfo", "fields", "side_by_side", "to_yaml"]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    path: str
    depth: int
    type: str
    required: bool
    description: str | None
    unit: str | None
    classification: str | None
    primary_key: bool
    constraints: str


_CONSTRAINTS = (
    "format",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "multipleOf",
)


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        text = " | ".join(str(k) for k in kind)
    elif kind is not None:
        text = str(kind)
    elif "$ref" in schema:
        text = str(schema["$ref"]).rsplit("/", 1)[-1]
    elif any(k in schema for k in ("anyOf", "oneOf", "allOf")):
        text = "union"
    elif "enum" in schema or "const" in schema:
        text = "enum"
    else:
        text = "any"
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        text = f"array of {_type_of(schema['items'])}"
    return text


def _constraints(schema: Mapping[str, Any]) -> str:
    out = []
    for name in _CONSTRAINTS:
        if name in schema:
            value = schema[name]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.append(f"{name}: {shown}")
    return "; ".join(out)


def _walk(
    schema: Mapping[str, Any], prefix: tuple[str, ...], depth: int
) -> Iterator[tuple[tuple[str, ...], int, Mapping[str, Any], bool]]:
    properties = schema.get("properties")
    if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
        properties = schema["items"].get("properties")
        schema = schema["items"]
    if not isinstance(properties, Mapping):
        return
    required = set(schema.get("required") or ())
    for name, sub in properties.items():
        if not isinstance(sub, Mapping):
            continue
        path = (*prefix, name)
        yield path, depth, sub, name in required
        yield from _walk(sub, path, depth + 1)


def fields(contract: Contract) -> list[FieldInfo]:
    """Every declared field, depth first, with what the schema and semantics say of it."""
    if not isinstance(contract.schema, Mapping):
        return []
    out = []
    for path, depth, sub, required in _walk(contract.schema, (), 0):
        semantics = contract.semantics_for(path)
        description = (semantics.description if semantics else None) or sub.get("description")
        classification = semantics.classification if semantics else None
        out.append(
            FieldInfo(
                path=".".join(path),
                depth=depth,
                type=_type_of(sub),
                required=required,
                description=description,
                unit=semantics.unit if semantics else None,
                classification=classification.value if classification else None,
                primary_key=bool(semantics and semantics.primary_key),
                constraints=_constraints(sub),
            )
        )
    return out


def to_yaml(document: Mapping[str, Any]) -> str:
    # One line per scalar, however long: the page wraps them, a diff compares them.
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=1 << 20)


@dataclass(frozen=True, slots=True)
class DiffRow:
    tag: str  # equal, replace, delete, insert, skip
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def side_by_side(old: str, new: str, context: int = 3) -> list[DiffRow]:
    """Rows of a side-by-side line diff, unchanged stretches cut to `context` lines."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for group_index, group in enumerate(matcher.get_grouped_opcodes(context)):
        if group_index or (group and (group[0][1] > 0 or group[0][3] > 0)):
            rows.append(DiffRow("skip", None, "", None, ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [
                    DiffRow("equal", i + 1, a[i], j + 1, b[j])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            left, right = list(range(i1, i2)), list(range(j1, j2))
            for k in range(max(len(left), len(right))):
                i = left[k] if k < len(left) else None
                j = right[k] if k < len(right) else None
                kind = tag
                if tag == "replace" and (i is None or j is None):
                    kind = "delete" if j is None else "insert"
                rows.append(
                    DiffRow(
                        kind,
                        i + 1 if i is not None else None,
                        a[i] if i is not None else "",
                        j + 1 if j is not None else None,
                        b[j] if j is not None else "",
                    )
                )
    return rows
