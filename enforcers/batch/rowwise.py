"""The row-wise fallback: what has no column expression runs record by record.

Rules the column compiler cannot express (macros over list columns, ...) run through the
per-record evaluator (`enforcers.cel_python.compile_cel`) on each row's `RowView`; array
items are checked by the compiled JSON Schema validator (jsonschema-rs). The report counts
rules evaluated this way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import numpy as np

from enforcers.batch.cel_columns import RowView, _plain, column_tree
from enforcers.batch.spec import ColumnSpec
from enforcers.cel_python import CelEvaluationError, compile_cel

if TYPE_CHECKING:
    from enforcers.batch.plan import RuleSpec

__all__ = ["canonical", "evaluate_rows", "items_validator", "needed_columns", "plain_value"]


def needed_columns(reads: Iterable[str], columns: Sequence[str]) -> list[str]:
    """The columns a rule reading `reads` (dotted paths) can see."""
    paths = list(reads)
    return [
        c
        for c in columns
        if any(c == p or c.startswith(p + ".") or p.startswith(c + ".") for p in paths)
    ]


def evaluate_rows(
    rule: RuleSpec,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    integers: frozenset[str] = frozenset(),
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Per row: the rule is True on the row's record view. `integers`: the columns the
    contract types integer (`TableSpec.integers`)."""
    evaluate = compile_cel(rule.expression).evaluate
    tree = column_tree(columns)
    out = np.zeros(len(records), dtype=bool)
    for i, row in enumerate(records):
        try:
            out[i] = evaluate(RowView(_deep_plain(row, integers), tree)) is True
        except CelEvaluationError:
            out[i] = False
    return out


def _deep_plain(row: Mapping[str, Any], integers: frozenset[str] = frozenset()) -> dict[str, Any]:
    plain = {k: plain_value(v) for k, v in row.items()}
    for k in integers.intersection(plain):
        plain[k] = _as_int(plain[k])
    return plain


def _as_int(value: Any) -> Any:
    """A whole float as an int: an integer field stored as floats (pandas' nullable ints,
    a Parquet file pandas wrote) holds integers, which rules must see as such (``%``, ``/``),
    as the vectorized path does. What no int64 holds stays as it is (its type check fails)."""
    if isinstance(value, float) and value.is_integer() and -(2.0**63) <= value < 2.0**63:
        return int(value)
    return value


def plain_value(value: Any, *, nulls: bool = False, keep: frozenset[str] = frozenset()) -> Any:
    """`value` as JSON-like Python. A struct holds every field, so a null one may stand for
    an absent key: dropped, as a null cell reads as absent, unless `nulls` keeps them all,
    or it is one of `keep` in the objects of a list (item fields whose schema takes null)."""
    if hasattr(value, "to_list"):  # a polars Series (list cells)
        value = value.to_list()
    value = _plain(value)
    if isinstance(value, list | tuple):
        return [plain_value(v, nulls=nulls, keep=keep) for v in value]
    if isinstance(value, Mapping):
        plain = ((k, plain_value(v, nulls=nulls)) for k, v in value.items())
        return {k: v for k, v in plain if nulls or v is not None or k in keep}
    return value


def canonical(value: Any) -> Any:
    """A cell as a hashable value, equal to another cell's where their JSON values are: a
    list or object as its JSON text with keys sorted, in a tuple (so that it equals no
    string). An Arrow map cell is a list of pairs: its entries' order counts."""
    value = _whole_numbers(plain_value(value))
    if isinstance(value, list | Mapping):
        return (json.dumps(value, sort_keys=True, default=str),)
    return value


def _whole_numbers(value: Any) -> Any:
    """Whole floats as ints, at every depth: to JSON, 2.0 is 2 (and pandas gives the ints
    of a struct field with a null as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _whole_numbers(v) for k, v in value.items()}
    return value


def _nullable_fields(array: Mapping[str, Any], root: Mapping[str, Any]) -> frozenset[str]:
    """Properties of the array's item objects whose schema takes null as a value."""
    item = array.get("items")
    ref = item.get("$ref") if isinstance(item, Mapping) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        item = _resolve(root, ref)
    properties = item.get("properties") if isinstance(item, Mapping) else None
    if not isinstance(properties, Mapping):
        return frozenset()
    return frozenset(k for k, s in properties.items() if isinstance(s, Mapping) and _takes_null(s))


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    """What a local ``$ref`` (``#/$defs/item``) points at in `root`; None if nothing."""
    node: Any = root
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _takes_null(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or None in (schema.get("enum") or ())
        or ("const" in schema and schema["const"] is None)
    )


def items_validator(c: ColumnSpec, element: Mapping[str, Any]) -> Callable[[Any], bool]:
    """A predicate: the array value's items match the field's element schema."""
    return _validator(c.name, _freeze(element), _freeze(c.element_root or {}))


def _freeze(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str)


@cache
def _validator(name: str, element_json: str, root_json: str) -> Callable[[Any], bool]:
    root = json.loads(root_json)
    schema = {
        **{k: v for k, v in root.items() if k in ("$defs", "definitions", "$schema")},
        "type": "array",
        **json.loads(element_json),
    }
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    nullable = _nullable_fields(schema, root)

    def ok(value: Any) -> bool:
        # A null item field is a null where its schema takes null, else an absent one (a
        # struct fills the fields an item lacks); failing that, every null as a null.
        return bool(
            validator.is_valid(plain_value(value, keep=nullable))
            or validator.is_valid(plain_value(value, nulls=True))
        )

    return ok
