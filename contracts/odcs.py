"""Open Data Contract Standard (ODCS) v3: import into Accord contracts and export from them.

An ODCS document describes one or more schema objects (tables, topics); each becomes one
Accord contract, and exporting several contracts gives one document with a schema object
per contract. Pure: no network, no database.

Nothing is dropped silently. Both ways the rule is the same: convert, convert the result
back, and keep whatever did not come back equal --

* on import, in the contract: document-level leftovers under ``extensions.odcs`` (verbatim
  ODCS keys), a schema object's and a property's under an ``x-odcs`` keyword at the matching
  node of the record schema (JSON Schema ignores unknown keywords);
* on export, in ODCS ``customProperties`` with ``vendor: accord``.

Converting back applies what was kept only where it still agrees with the other side, so an
edit made after a conversion wins over the kept copy. Every kept item that has no
equivalent on the other side is listed as a `ConversionWarning`.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

import jsonschema_rs

import schemas
from contracts.documents import SourceDocument
from contracts.durations import format_duration, parse_duration
from contracts.model import (
    THRESHOLD_OPERATORS,
    Classification,
    CompatibilityConfig,
    Contract,
    Status,
)
from contracts.paths import FieldPath, is_date_time, parse_path
from contracts.problems import Problem
from contracts.validation import check_document

__all__ = [
    "API_VERSION",
    "ConversionWarning",
    "ExportResult",
    "ImportResult",
    "OdcsError",
    "export_odcs",
    "import_odcs",
    "validate_odcs",
]

API_VERSION = "v3.2.0"
EXTENSION = "odcs"  # Contract.extensions key of document-level leftovers
X_ODCS = "x-odcs"  # keyword in the record schema holding schema-object/property leftovers
VENDOR = "accord"  # customProperties vendor of what the export keeps

_MISSING: Any = object()


# -- results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversionWarning:
    """Something with no equivalent on the other side: kept (where, the message says)."""

    path: str  # JSON pointer into the input document
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    contracts: list[Contract]
    warnings: list[ConversionWarning]

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [c.to_document() for c in self.contracts]


@dataclass(frozen=True, slots=True)
class ExportResult:
    document: dict[str, Any]
    warnings: list[ConversionWarning]


class OdcsError(ValueError):
    """Not a valid ODCS v3 document, or one that converts to an invalid Accord contract."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.path or '/'}: {p.message}" for p in self.problems))


# -- small helpers ------------------------------------------------------------------------


def _esc(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1, 1.0 and true differ (Python's == says they do not)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: float) -> int | float:
    """Round away binary noise (0.07 * 100) and write whole numbers as integers."""
    rounded = round(float(value), 12)
    return int(rounded) if rounded.is_integer() else rounded


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


_NAME_BAD = re.compile(r"[^a-z0-9_.-]+")
_IDENT_BAD = re.compile(r"[^A-Za-z0-9_.-]+")
_TAG = re.compile(r"^[A-Za-z0-9_.:/-]+$")
_SEGMENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$-]*$")


def _contract_name(text: str) -> str:
    """An Accord contract name (``orders.created``) for an ODCS schema object name."""
    name = _NAME_BAD.sub("_", text.strip().lower())
    name = re.sub(r"\.{2,}", ".", name).strip(".")
    if not name or not name[0].isalpha() or not name[0].isascii():
        name = "x_" + name
    return name[:200]


def _identifier(text: str) -> str:
    ident = _IDENT_BAD.sub("_", text.strip())
    if not ident or not (ident[0].isalpha() or ident[0] == "_") or not ident[0].isascii():
        ident = "_" + ident
    return ident[:200]


def _path_key(path: FieldPath) -> str:
    """The semantics/quality key Accord writes for a field: dotted, or a JSON pointer."""
    if all(_SEGMENT.match(s) for s in path):
        return ".".join(path)
    return "".join("/" + _esc(s) for s in path)


def _cp(name: str, value: Any) -> dict[str, Any]:
    return {"property": name, "value": value, "vendor": VENDOR}


def _split_cps(item: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """(Accord's customProperties by property name, everybody else's)."""
    ours: dict[str, Any] = {}
    others: list[Any] = []
    for cp in item.get("customProperties") or ():
        if isinstance(cp, Mapping) and cp.get("vendor") == VENDOR and "property" in cp:
            ours[str(cp["property"])] = cp.get("value")
        else:
            others.append(cp)
    return ours, others


def _order(item: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    first = {k: item[k] for k in keys if k in item}
    return {**first, **{k: v for k, v in item.items() if k not in first}}


_PROPERTY_ORDER = (
    "id",
    "name",
    "businessName",
    "physicalName",
    "physicalType",
    "logicalType",
    "logicalTypeOptions",
    "description",
    "required",
    "unique",
    "primaryKey",
    "primaryKeyPosition",
    "classification",
    "examples",
    "enum",
)


# -- validation ---------------------------------------------------------------------------


@cache
def _odcs_validator() -> Any:
    # The compiled (Rust) validator: Python's jsonschema takes ~0.7 s per document on this
    # schema's unevaluatedProperties; the tests check exports with it too.
    return jsonschema_rs.Draft201909Validator(schemas.load("odcs-v3"))


def validate_odcs(doc: Any) -> list[Problem]:
    """Problems of `doc` against the official ODCS v3.2.0 JSON Schema (draft 2019-09)."""
    problems = []
    for error in _odcs_validator().iter_errors(doc):
        path = "".join("/" + _esc(p) for p in error.instance_path)
        message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
        problems.append(Problem(path, message, "odcs-schema"))
    return sorted(problems, key=lambda p: p.path)


# -- types: one node, without its children --------------------------------------------------

_STRING_OPTIONS = ("minLength", "maxLength", "pattern", "format")
_NUMBER_OPTIONS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_ARRAY_OPTIONS = ("minItems", "maxItems", "uniqueItems")
_OBJECT_OPTIONS = ("minProperties", "maxProperties")
_TYPE_FORMATS = {"date": "date", "timestamp": "date-time", "time": "time"}
_FORMAT_TYPES = {v: k for k, v in _TYPE_FORMATS.items()}


def _type_to_schema(p: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema keywords for an ODCS property's own type (children are the caller's)."""
    lt = p.get("logicalType")
    raw = p.get("logicalTypeOptions")
    opts: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    node: dict[str, Any] = {}
    if lt == "string":
        node["type"] = "string"
        node.update({k: opts[k] for k in _STRING_OPTIONS if k in opts})
    elif lt in _TYPE_FORMATS:
        node.update(type="string", format=_TYPE_FORMATS[lt])
    elif lt in ("integer", "number"):
        node["type"] = lt
        node.update({k: opts[k] for k in _NUMBER_OPTIONS if k in opts})
    elif lt == "boolean":
        node["type"] = "boolean"
    elif lt == "object":
        node["type"] = "object"
        node.update({k: opts[k] for k in _OBJECT_OPTIONS if k in opts})
    elif lt == "map":
        node["type"] = "object"
    elif lt == "array":
        node["type"] = "array"
        node.update({k: opts[k] for k in _ARRAY_OPTIONS if k in opts})
    elif lt == "vector":
        node["type"] = "array"
        dims = opts.get("dimensions")
        if isinstance(dims, int) and not isinstance(dims, bool):
            node.update(minItems=dims, maxItems=dims)
    enum = p.get("enum")
    if (
        isinstance(enum, list)
        and enum
        and all(isinstance(e, Mapping) and "value" in e for e in enum)
    ):
        node["enum"] = [e["value"] for e in enum]
    if isinstance(p.get("deprecated"), bool):
        node["deprecated"] = p["deprecated"]
    return node


def _infer_kind(node: Mapping[str, Any]) -> str | None:
    t = node.get("type")
    if isinstance(t, str):
        return t if t != "null" else None
    if isinstance(t, list):
        base = [x for x in t if isinstance(x, str) and x != "null"]
        return base[0] if len(base) == 1 else None
    if t is not None:
        return None
    if isinstance(node.get("properties"), Mapping) and node["properties"]:
        return "object"
    enum = node.get("enum")
    if isinstance(enum, list):
        values = [v for v in enum if v is not None]
        if values and all(isinstance(v, str) for v in values):
            return "string"
        if values and all(isinstance(v, bool) for v in values):
            return "boolean"
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer"
        if values and all(_is_number(v) for v in values):
            return "number"
    return None


def _first_type(node: Mapping[str, Any]) -> str | None:
    t = node.get("type")
    names = [x for x in t if isinstance(x, str) and x != "null"] if isinstance(t, list) else []
    return names[0] if names else None


def _is_map(node: Mapping[str, Any]) -> bool:
    props = node.get("properties")
    return not (isinstance(props, Mapping) and props) and isinstance(
        node.get("additionalProperties"), Mapping
    )


def _nonneg_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _schema_to_type(node: Mapping[str, Any]) -> dict[str, Any]:
    """ODCS logicalType, logicalTypeOptions, enum and deprecated of a JSON Schema node.

    ODCS 3.2.0's JSON Schema requires a logicalType in practice (without one it demands
    ``map``), so a node of no single type (``{}``, a union) is said to be an object, or its
    first type, and the node itself is kept."""
    kind = _infer_kind(node) or _first_type(node) or "object"
    out: dict[str, Any] = {}
    opts: dict[str, Any] = {}
    if kind == "string":
        fmt = node.get("format")
        if fmt in _FORMAT_TYPES:
            out["logicalType"] = _FORMAT_TYPES[fmt]
        else:
            out["logicalType"] = "string"
            for k in ("minLength", "maxLength"):
                if _nonneg_int(node.get(k)):
                    opts[k] = node[k]
            for k in ("pattern", "format"):
                if isinstance(node.get(k), str):
                    opts[k] = node[k]
    elif kind in ("integer", "number"):
        out["logicalType"] = kind
        for k in _NUMBER_OPTIONS:
            if _is_number(node.get(k)) and (k != "multipleOf" or node[k] > 0):
                opts[k] = node[k]
    elif kind == "boolean":
        out["logicalType"] = "boolean"
    elif kind == "object":
        out["logicalType"] = "map" if _is_map(node) else "object"
        if out["logicalType"] == "object":
            opts = {k: node[k] for k in _OBJECT_OPTIONS if _nonneg_int(node.get(k))}
    elif kind == "array":
        out["logicalType"] = "array"
        opts = {k: node[k] for k in ("minItems", "maxItems") if _nonneg_int(node.get(k))}
        if isinstance(node.get("uniqueItems"), bool):
            opts["uniqueItems"] = node["uniqueItems"]
    if opts:
        out["logicalTypeOptions"] = opts
    enum = node.get("enum")
    if (
        isinstance(enum, list)
        and enum
        and all(_scalar(v) for v in enum)
        and len({json.dumps(v) for v in enum}) == len(enum)
    ):
        out["enum"] = [{"value": v} for v in enum]
    if isinstance(node.get("deprecated"), bool):
        out["deprecated"] = node["deprecated"]
    return out


def _deref(
    node: Any, root: Any, refs: tuple[str, ...]
) -> tuple[Mapping[str, Any], tuple[str, ...], bool]:
    """`node` with local $refs followed (siblings win), the refs followed, and whether a
    reference cycle stopped the walk."""
    if not isinstance(node, Mapping):
        return {}, refs, False
    view: dict[str, Any] = dict(node)
    while isinstance(view.get("$ref"), str):
        ref = view["$ref"]
        if not ref.startswith("#") or ref in refs:
            return {k: v for k, v in view.items() if k != "$ref"}, refs, ref in refs
        refs = (*refs, ref)
        target: Any = root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and key in target:
                target = target[key]
            elif (
                isinstance(target, list)
                and (key.isascii() and key.isdigit())
                and int(key) < len(target)
            ):
                target = target[int(key)]
            else:
                target = None
                break
        siblings = {k: v for k, v in view.items() if k != "$ref"}
        if not isinstance(target, Mapping):
            return siblings, refs, False
        view = {**target, **siblings}
    return view, refs, False


# -- semantics ----------------------------------------------------------------------------

_SEM_KEYS = ("description", "classification", "primaryKey", "unique", "examples")
_CLASSIFICATIONS = {c.value for c in Classification}


def _sem_fields(sem: Mapping[str, Any], schema_description: Any) -> dict[str, Any]:
    """ODCS fields for one field's semantics (an Accord semantics document)."""
    out: dict[str, Any] = {}
    desc = sem.get("description") or schema_description
    if isinstance(desc, str):
        out["description"] = desc
    if sem.get("unique"):
        out["unique"] = True
    if sem.get("primary_key"):
        out["primaryKey"] = True
    if sem.get("classification"):
        out["classification"] = sem["classification"]
    if sem.get("examples"):
        out["examples"] = list(sem["examples"])
    return out


def _sem_from_fields(p: Mapping[str, Any], schema_description: Any) -> dict[str, Any]:
    """Accord semantics from an ODCS property's fields (the inverse of `_sem_fields`)."""
    sem: dict[str, Any] = {}
    desc = p.get("description")
    if isinstance(desc, str) and desc and desc != schema_description:
        sem["description"] = desc
    classification = p.get("classification")
    if isinstance(classification, str) and classification.lower() in _CLASSIFICATIONS:
        sem["classification"] = classification.lower()
    if p.get("primaryKey") is True:
        sem["primary_key"] = True
    if p.get("unique") is True:
        sem["unique"] = True
    if isinstance(p.get("examples"), list) and p["examples"]:
        sem["examples"] = list(p["examples"])
    return sem


def _projection(p: Mapping[str, Any]) -> str:
    """What an ODCS property means to Accord (own type, required, semantics), comparable."""
    raw = p.get("classification")
    # A classification Accord does not know means nothing to it (the kept copy says it).
    classification = raw.lower() if isinstance(raw, str) else None
    if classification not in _CLASSIFICATIONS:
        classification = None
    return json.dumps(
        [
            _type_to_schema(p),
            p.get("required") is True,
            p.get("description"),
            classification,
            p.get("primaryKey") is True,
            p.get("unique") is True,
            p.get("examples") or None,
        ],
        sort_keys=True,
        default=str,
    )


def _merge_kept(prop: dict[str, Any], kept: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Apply kept ODCS values (None: the key was absent) where they mean what `prop` means."""
    keys = [k for k in kept if k not in ("quality", "customProperties")]

    def applied(base: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
        out = dict(base)
        for k in names:
            if kept[k] is None:
                out.pop(k, None)
            elif k == "logicalTypeOptions" and isinstance(kept[k], Mapping):
                opts = {**(out.get(k) or {}), **kept[k]}
                opts = {sk: sv for sk, sv in opts.items() if sv is not None}
                if opts or not kept[k]:  # an empty mapping was written as such
                    out[k] = opts
                else:
                    out.pop(k, None)
            else:
                out[k] = kept[k]
        return out

    target = _projection(prop)
    whole = applied(prop, keys)
    if _projection(whole) == target:
        return whole, []
    out, rejected = dict(prop), []
    for k in keys:
        trial = applied(out, [k])
        if _projection(trial) == target:
            out = trial
        else:
            rejected.append(k)
    return out, rejected


# -- quality ------------------------------------------------------------------------------

_OPS = {
    "mustBe": "must_be",
    "mustNotBe": "must_not_be",
    "mustBeGreaterThan": "must_be_greater_than",
    "mustBeGreaterOrEqualTo": "must_be_greater_or_equal_to",
    "mustBeLessThan": "must_be_less_than",
    "mustBeLessOrEqualTo": "must_be_less_or_equal_to",
    "mustBeBetween": "must_be_between",
    "mustNotBeBetween": "must_not_be_between",
}
_OPS_BACK = {v: k for k, v in _OPS.items()}
# allowed share > x  <=>  invalid share < 1 - x
_INVERTED = {
    "must_be": "must_be",
    "must_not_be": "must_not_be",
    "must_be_greater_than": "must_be_less_than",
    "must_be_greater_or_equal_to": "must_be_less_or_equal_to",
    "must_be_less_than": "must_be_greater_than",
    "must_be_less_or_equal_to": "must_be_greater_or_equal_to",
    "must_be_between": "must_be_between",
    "must_not_be_between": "must_not_be_between",
}
_QUALITY_ORDER = (
    "id",
    "name",
    "description",
    "type",
    "metric",
    "arguments",
    "query",
    "engine",
    "implementation",
    "unit",
    *_OPS,
    "severity",
)


def _odcs_threshold(item: Mapping[str, Any]) -> tuple[str, Any] | None:
    found = [(op, item[op]) for op in _OPS if op in item]
    if len(found) != 1:
        return None
    op, value = found[0]
    if _is_number(value):
        return _OPS[op], value
    if isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value):
        return _OPS[op], list(value)
    return None


def _scaled(value: Any, f: Callable[[float], int | float]) -> Any:
    if isinstance(value, list | tuple):
        return sorted(f(v) for v in value)
    return f(value)


def _severity(value: Any) -> str:
    return "warning" if isinstance(value, str) and value.lower() in ("warning", "warn") else "error"


def _check_name(item: Mapping[str, Any], path: FieldPath | None) -> str:
    for key in ("name", "id"):
        if isinstance(item.get(key), str) and item[key].strip():
            return _identifier(item[key])
    kind = item.get("metric") or item.get("rule") or item.get("type") or "library"
    prefix = "_".join(path) + "_" if path else ""
    return _identifier(f"{prefix}{kind}")


def _check_from_item(item: Mapping[str, Any], path: FieldPath | None) -> dict[str, Any]:
    """The Accord quality check (document form) of one ODCS quality item at `path`."""
    ours, _ = _split_cps(item)
    kind = item.get("type", "library")
    metric = item.get("metric", item.get("rule"))
    threshold = _odcs_threshold(item)
    unit = item.get("unit")
    args = item.get("arguments")
    key = _path_key(path) if path else None
    doc: dict[str, Any] | None = None
    if kind == "library" and threshold and isinstance(metric, str):
        op, value = threshold
        zeros = all(v == 0 for v in (value if isinstance(value, list) else [value]))
        as_rate = unit == "percent" or (unit in (None, "rows") and zeros)

        def rate(v: float) -> int | float:
            return _num(v / 100)

        if metric == "nullValues" and key and not args and as_rate:
            doc = {"type": "null_rate", "field": key, op: _scaled(value, rate)}
        elif metric == "duplicateValues" and as_rate and key and not args:
            doc = {"type": "duplicate_rate", "field": key, op: _scaled(value, rate)}
        elif metric == "duplicateValues" and as_rate and not key:
            props = args.get("properties") if isinstance(args, Mapping) else None
            if not args:
                doc = {"type": "duplicate_rate", op: _scaled(value, rate)}
            elif (
                isinstance(args, Mapping)
                and set(args) == {"properties"}
                and isinstance(props, list)
                and props
                and all(isinstance(x, str) for x in props)
            ):
                doc = {"type": "duplicate_rate", "fields": props, op: _scaled(value, rate)}
        elif metric == "invalidValues" and key and as_rate and isinstance(args, Mapping):
            valid = args.get("validValues")
            if set(args) == {"validValues"} and isinstance(valid, list) and valid:
                share = _scaled(value, lambda v: _num(1 - v / 100))
                doc = {"type": "allowed_values", "field": key, "values": valid}
                doc[_INVERTED[op]] = share
        elif metric == "rowCount" and not key and not args and unit in (None, "rows"):
            doc = {"type": "row_count", op: value}
    elif kind == "sql" and isinstance(item.get("query"), str) and threshold:
        op, value = threshold
        doc = {"type": "custom", "engine": "sql", "implementation": item["query"], op: value}
    elif (
        kind == "custom"
        and isinstance(item.get("engine"), str)
        and "implementation" in item
        and not any(op in item for op in _OPS)
    ):
        doc = {"type": "custom", "engine": item["engine"], "implementation": item["implementation"]}
    if doc is None:
        verbatim = {k: v for k, v in item.items() if k != "customProperties"}
        if _split_cps(item)[1]:
            verbatim["customProperties"] = _split_cps(item)[1]
        doc = {"type": "custom", "engine": "odcs", "implementation": verbatim}
    if key and doc["type"] == "custom":
        doc["field"] = key
    out: dict[str, Any] = {"name": _check_name(item, path)}
    if isinstance(item.get("description"), str):
        out["description"] = item["description"]
    out.update(doc)
    out["severity"] = _severity(item.get("severity"))
    kept = ours.get("check")
    if isinstance(kept, Mapping) and _same(_item_from_check(kept, path), _strip_ours(item)):
        return dict(kept)
    return out


def _same_but_suffix(imported: Mapping[str, Any], check: Mapping[str, Any]) -> bool:
    """Whether `check` is `imported`, or that with the suffix the import gave a repeated name."""
    name, suffixed = imported.get("name"), check.get("name")
    if name != suffixed and not (
        isinstance(name, str)
        and isinstance(suffixed, str)
        and re.fullmatch(re.escape(name) + r"_[0-9]+", suffixed)
    ):
        return False
    return _same({**imported, "name": None}, {**check, "name": None})


def _strip_ours(item: Mapping[str, Any]) -> dict[str, Any]:
    _, others = _split_cps(item)
    out = {k: v for k, v in item.items() if k != "customProperties"}
    if others:
        out["customProperties"] = others
    return out


def _item_from_check(q: Mapping[str, Any], path: FieldPath | None) -> dict[str, Any]:
    """The ODCS quality item of one Accord check placed at `path` (None: the schema object),
    without the customProperty that keeps what the item cannot say."""
    kind = q.get("type")
    threshold = next(((op, q[op]) for op in THRESHOLD_OPERATORS if op in q), None)
    field_name = q.get("field")
    at_field = path is not None and isinstance(field_name, str) and parse_path(field_name) == path
    item: dict[str, Any] | None = None
    if (
        kind == "custom"
        and q.get("engine") == "odcs"
        and isinstance(q.get("implementation"), Mapping)
    ):
        return dict(q["implementation"])
    if threshold is not None:
        op, value = threshold
        pct: Callable[[float], int | float] = lambda v: _num(v * 100)  # noqa: E731
        if kind == "null_rate" and at_field:
            item = {"metric": "nullValues", "unit": "percent", op: _scaled(value, pct)}
        elif kind == "duplicate_rate" and at_field and not q.get("fields"):
            item = {"metric": "duplicateValues", "unit": "percent", op: _scaled(value, pct)}
        elif kind == "duplicate_rate" and path is None and not q.get("field"):
            item = {"metric": "duplicateValues", "unit": "percent", op: _scaled(value, pct)}
            if q.get("fields"):
                item["arguments"] = {"properties": list(q["fields"])}
        elif kind == "allowed_values" and at_field and q.get("values"):
            item = {
                "metric": "invalidValues",
                "arguments": {"validValues": list(q["values"])},
                "unit": "percent",
                _INVERTED[op]: _scaled(value, lambda v: _num((1 - v) * 100)),
            }
        elif kind == "row_count" and path is None and not q.get("field") and not q.get("fields"):
            item = {"metric": "rowCount", op: value}
        if item is not None and "unit" in item:
            values = [v for k, v in item.items() if k in THRESHOLD_OPERATORS or k in _INVERTED]
            flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
            if all(x == 0 for x in flat):
                del item["unit"]  # zero rows is a zero rate: ODCS's default unit says it
        if item is None and (
            kind == "custom"
            and q.get("engine") == "sql"
            and isinstance(q.get("implementation"), str)
        ):
            item = {"type": "sql", "query": q["implementation"], op: value}
        if item is not None:
            item = {_OPS_BACK.get(k, k): v for k, v in item.items()}
            for op_name in ("mustBeBetween", "mustNotBeBetween"):
                pair = item.get(op_name)
                if isinstance(pair, list) and len(pair) == 2 and pair[0] == pair[1]:
                    item.pop(op_name)  # ODCS needs two distinct numbers; the kept check says it
                    item["mustBe" if op_name == "mustBeBetween" else "mustNotBe"] = pair[0]
    if item is None and kind == "custom":
        impl = q.get("implementation")
        item = {"type": "custom", "engine": str(q.get("engine"))}
        item["implementation"] = impl if isinstance(impl, str | Mapping) else json.dumps(impl)
    if item is None:  # nothing in ODCS says it: an Accord check, for Accord to run
        item = {"type": "custom", "engine": "accord", "implementation": dict(q)}
    out: dict[str, Any] = {"name": q.get("name")}
    if q.get("description"):
        out["description"] = q["description"]
    out.update(item)
    if q.get("severity", "error") != "error":
        out["severity"] = q["severity"]
    return _order(out, _QUALITY_ORDER)


def _export_check(q: Mapping[str, Any], path: FieldPath | None) -> dict[str, Any]:
    item = _item_from_check(q, path)
    if not _same(_check_from_item(item, path), q):
        item["customProperties"] = [*item.get("customProperties", []), _cp("check", dict(q))]
    return item


# -- durations, SLA -----------------------------------------------------------------------

_UNIT_SECONDS = {
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 7 * 86400),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 365 * 86400),
}


def _duration_from(value: Any, unit: Any) -> timedelta | None:
    if isinstance(value, str) and unit is None:
        try:
            return parse_duration(value)
        except ValueError:
            return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not _is_number(value) or value < 0 or not isinstance(unit, str):
        return None
    size = _UNIT_SECONDS.get(unit.strip().lower())
    return timedelta(seconds=value * size) if size else None


def _duration_to(value: timedelta) -> tuple[int | float, str]:
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds % size == 0:
            return int(seconds // size), unit
    return _num(seconds), "s"


def _fraction(value: Any, unit: Any) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.rstrip("%"))
            unit = unit or "%"
        except ValueError:
            return None
    if not _is_number(value):
        return None
    if unit in ("%", "percent", "pct"):
        return _num(value / 100)
    return value if unit is None and 0 <= value <= 1 else None


_SLA_FIELDS = {
    "latency": "freshness",
    "freshness": "freshness",
    "retention": "retention",
    "availability": "availability",
    "errorRate": "max_breach_rate",
    "frequency": "volume",
}


@dataclass(frozen=True, slots=True)
class _Target:
    odcs_name: str
    schema: Mapping[str, Any] | bool


def _targets(element: Any, targets: Sequence[_Target]) -> list[tuple[int, str | None]] | None:
    """(target index, field path or None) for each element of an SLA `element`."""
    if element is None:
        return [(i, None) for i in range(len(targets))]
    if not isinstance(element, str):
        return None
    out: list[tuple[int, str | None]] = []
    by_length = sorted(range(len(targets)), key=lambda i: -len(targets[i].odcs_name))
    for part in (p.strip() for p in element.split(",")):
        match = next(
            (
                i
                for i in by_length
                if part == targets[i].odcs_name or part.startswith(targets[i].odcs_name + ".")
            ),
            None,
        )
        if match is not None:
            rest = part[len(targets[match].odcs_name) + 1 :]
            out.append((match, rest or None))
        elif len(targets) == 1:
            out.append((0, part))
        else:
            return None
    return out


def _sla_from_items(
    items: Sequence[Any], targets: Sequence[_Target], default_element: Any = None
) -> tuple[list[dict[str, Any]], list[bool]]:
    """Each target's Accord SLA (document form), and which items mapped."""
    slas: list[dict[str, Any]] = [{} for _ in targets]
    mapped: list[bool] = []
    for item in items:
        mapped.append(False)
        if not isinstance(item, Mapping):
            continue
        what = _SLA_FIELDS.get(str(item.get("property")))
        element = item.get("element", default_element if what == "freshness" else None)
        where = _targets(element, targets)
        if what is None or not where:
            continue
        value, unit = item.get("value"), item.get("unit")
        ours, _ = _split_cps(item)
        entry: Any = None
        if what == "freshness":
            delay = _duration_from(value, unit)
            if len(where) != 1 or where[0][1] is None or delay is None:
                continue
            index, path = where[0]
            if path is None or not is_date_time(targets[index].schema, parse_path(path)):
                continue
            entry = {"field": path, "max_delay": format_duration(delay)}
        elif what in ("retention", "volume"):
            window = _duration_from(value, unit)
            if window is None:
                continue
            entry = format_duration(window)
            if what == "volume":
                # Data delivered every `window`: at least one record per window, unless the
                # counts Accord exported say otherwise.
                counts = ours.get("volume", {"min": 1})
                if not isinstance(counts, Mapping) or not (
                    _nonneg_int(counts.get("min")) or _nonneg_int(counts.get("max"))
                ):
                    continue
                entry = {"window": entry, **{k: counts[k] for k in ("min", "max") if k in counts}}
        else:
            share = _fraction(value, unit)
            if share is None or not 0 <= share <= 1 or (what == "availability" and share == 0):
                continue
            entry = share
        indexes = sorted({i for i, _ in where})
        if any(what in slas[i] for i in indexes):
            continue  # a second value for the same thing: kept as it is
        for i in indexes:
            slas[i][what] = entry
        mapped[-1] = True
    return slas, mapped


def _items_from_sla(slas: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """ODCS slaProperties for each (schema object name, Accord SLA document)."""
    items: list[dict[str, Any]] = []
    multi = len(slas) > 1

    def add(name: str, prop: str, value: Any, unit: str | None = None, **extra: Any) -> None:
        item: dict[str, Any] = {"property": prop, "value": value}
        if unit:
            item["unit"] = unit
        if multi and "element" not in extra:
            item["element"] = name
        item.update(extra)
        items.append(item)

    for name, sla in slas:
        fresh = sla.get("freshness")
        if isinstance(fresh, Mapping):
            value, unit = _duration_to(parse_duration(fresh["max_delay"]))
            add(name, "latency", value, unit, element=f"{name}.{fresh['field']}")
        volume = sla.get("volume")
        if isinstance(volume, Mapping):
            value, unit = _duration_to(parse_duration(volume["window"]))
            counts = {k: volume[k] for k in ("min", "max") if k in volume}
            extra = {} if counts == {"min": 1} else {"customProperties": [_cp("volume", counts)]}
            add(name, "frequency", value, unit, **extra)
        if "retention" in sla:
            value, unit = _duration_to(parse_duration(sla["retention"]))
            add(name, "retention", value, unit)
        if "availability" in sla:
            add(name, "availability", _num(sla["availability"] * 100), "%")
        if "max_breach_rate" in sla:
            add(name, "errorRate", _num(sla["max_breach_rate"] * 100), "%")
    return items


# -- owner --------------------------------------------------------------------------------


def _owner_from(team: Any, support: Any) -> dict[str, Any]:
    """Accord owner (document form) from ODCS team and support."""
    members: list[Any] = []
    name: Any = None
    if isinstance(team, Mapping):
        name = team.get("name") or team.get("id")
        members = list(team.get("members") or [])
    elif isinstance(team, list):
        members = team
    contacts: list[dict[str, Any]] = []
    for m in members:
        if not isinstance(m, Mapping):
            continue
        username = m.get("username")
        contact: dict[str, Any] = {}
        email = isinstance(username, str) and "@" in username
        display = m.get("name") or (None if email else username)
        if display:
            contact["name"] = display
        if email:
            contact["email"] = username
        if m.get("role"):
            contact["role"] = m["role"]
        if contact:
            contacts.append(contact)
    for s in support or ():
        if not isinstance(s, Mapping) or not isinstance(s.get("channel"), str):
            continue
        channel, url, tool = s["channel"], s.get("url"), s.get("tool")
        if tool == "slack" or (tool is None and channel.startswith("#")):
            contacts.append({"slack": channel})
        elif isinstance(url, str) and url.startswith("mailto:"):
            contacts.append({"email": url[len("mailto:") :]})
        elif tool == "email" and "@" in channel:
            contacts.append({"email": channel})
    owner: dict[str, Any] = {"team": _identifier(str(name)) if name else "unknown"}
    if contacts:
        owner["contacts"] = contacts
    return owner


def _team_from(owner: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """ODCS team and support for an Accord owner (document form)."""
    members: list[dict[str, Any]] = []
    support: list[dict[str, Any]] = []
    for c in owner.get("contacts", ()):
        if c.get("email") or c.get("name") or (c.get("role") and not c.get("slack")):
            member: dict[str, Any] = {
                "username": c.get("email") or c.get("name") or c.get("role") or ""
            }
            if c.get("name"):
                member["name"] = c["name"]
            if c.get("role"):
                member["role"] = c["role"]
            members.append(member)
        if c.get("slack"):
            support.append({"channel": c["slack"], "tool": "slack"})
    team: dict[str, Any] = {"name": owner["team"]}
    if members:
        team["members"] = members
    return team, support


# -- import -------------------------------------------------------------------------------

_STATUS_ALIASES = {
    "proposed": "draft",
    "development": "draft",
    "dev": "draft",
    "test": "draft",
    "testing": "draft",
    "current": "active",
    "released": "active",
    "production": "active",
    "obsolete": "deprecated",
}
_DOC_KEPT = (
    "id",
    "version",
    "tenant",
    "domain",
    "dataProduct",
    "servers",
    "description",
    "price",
    "roles",
    "authoritativeDefinitions",
    "context",
    "contractCreatedTs",
    "slaDefaultElement",
)
_OBJECT_MAPPED = ("name", "description", "tags", "properties", "quality", "customProperties")
_NODE_CHILDREN = ("name", "properties", "items", "map", "quality", "customProperties")
_TYPE_KEYS = ("logicalType", "logicalTypeOptions", "enum", "deprecated")
_ODCS_DEFAULTS: dict[str, Any] = {
    "required": False,
    "unique": False,
    "primaryKey": False,
    "partitioned": False,
    "criticalDataElement": False,
    "deprecated": False,
    "primaryKeyPosition": -1,
    "partitionKeyPosition": -1,
    "semanticType": "column",
}


_DEFAULT_VERSION = "1.0.0"


def _default_id(names: Sequence[str]) -> str:
    """A stable id for a document Accord writes: the same schema objects, the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "accord:" + ",".join(names)))


def _status_of(value: Any) -> tuple[str, bool]:
    """(Accord status, whether the ODCS spelling said exactly that)."""
    if not isinstance(value, str):
        return Status.ACTIVE.value, value is None
    low = value.strip().lower()
    if low in {s.value for s in Status}:
        return low, low == value
    return _STATUS_ALIASES.get(low, Status.DRAFT.value), False


@dataclass
class _Contract:
    """What one schema object's import gathers."""

    semantics: dict[str, dict[str, Any]] = field(default_factory=dict)
    quality: list[dict[str, Any]] = field(default_factory=list)
    check_names: set[str] = field(default_factory=set)  # Accord's must be unique

    def unique_name(self, name: str) -> str:
        """`name`, or if a check has it already, the first free ``name_2``, ``name_3``..."""
        n = 1
        unique = name
        while unique in self.check_names:
            n += 1
            suffix = f"_{n}"
            unique = name[: 200 - len(suffix)] + suffix
        self.check_names.add(unique)
        return unique


class _Importer:
    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.warnings: list[ConversionWarning] = []

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(ConversionWarning(path, message))

    def kept(self, path: str, keys: Sequence[str], where: str) -> None:
        if keys:
            self.warn(path, f"no Accord equivalent, kept in {where}: {', '.join(keys)}")

    # -- the document --------------------------------------------------------------------

    def run(self) -> ImportResult:
        doc = self.doc
        objects = [o for o in doc.get("schema") or () if isinstance(o, Mapping)]
        if not objects:
            raise OdcsError([Problem("/schema", "no schema objects: nothing to import", "empty")])
        names: list[str] = []
        for obj in objects:
            name = _contract_name(str(obj.get("name", "")))
            base, n = name, 2
            while name in names:
                name, n = f"{base}_{n}", n + 1
            names.append(name)
        ext: dict[str, Any] = {k: doc[k] for k in _DOC_KEPT if k in doc}
        # The export's own defaults are not worth keeping: it writes them again.
        if ext.get("version") == _DEFAULT_VERSION:
            del ext["version"]
        if ext.get("id") == _default_id([str(o.get("name")) for o in objects]):
            del ext["id"]
        self.kept("", list(ext), "extensions.odcs")
        if doc.get("apiVersion") not in (None, API_VERSION):
            self.warn("/apiVersion", f"read {doc['apiVersion']}; export writes {API_VERSION}")
        _, others = _split_cps(doc)
        if others:
            ext["customProperties"] = others
            self.kept("/customProperties", ["customProperties"], "extensions.odcs")
        doc_name = doc.get("name")
        if doc_name is not None and (len(objects) > 1 or doc_name != names[0]):
            ext["name"] = doc_name
        elif "name" not in doc and len(objects) == 1:
            ext["name"] = None  # absent: the export writes none either
        status, exact = _status_of(doc.get("status"))
        if "status" not in doc:
            ext["status"] = None  # absent: the export writes none either
        elif not exact:
            ext["status"] = doc["status"]
            if doc["status"].strip().lower() not in {s.value for s in Status}:
                self.warn("/status", f"{doc['status']!r} read as {status!r}; kept in extensions")
        tags = [t for t in doc.get("tags") or () if isinstance(t, str) and _TAG.match(t)]
        odd_tags = [t for t in doc.get("tags") or () if t not in tags]
        if odd_tags:
            ext["tags"] = odd_tags
            self.warn("/tags", f"not valid Accord tags, kept in extensions.odcs: {odd_tags}")
        elif doc.get("tags") == []:
            ext["tags"] = []  # an empty list, written again

        owner = _owner_from(doc.get("team"), doc.get("support"))
        if owner["team"] == "unknown":
            self.warn("/team", "no team name: owner.team set to 'unknown'")
        if "team" not in doc:
            ext["team"] = None  # absent: the export writes none either
        # The team Accord would write: from the first object's kept owner when it agrees.
        written: Mapping[str, Any] = owner
        first_owner = _split_cps(objects[0])[0].get("owner")
        if isinstance(first_owner, Mapping) and _same(_owner_from(*_team_from(first_owner)), owner):
            written = first_owner
        team, support = _team_from(written)
        if not _same(team, doc.get("team", team)) or not _same(support, doc.get("support", [])):
            for key in ("team", "support"):
                if key in doc:
                    ext[key] = doc[key]
            self.warn_team(doc, owner)

        # Schema objects first: SLA freshness needs their record schemas.
        contracts = []
        for i, obj in enumerate(objects):
            contracts.append(self.import_object(i, obj, names[i], status, tags, owner))
        targets = [
            _Target(str(o.get("name")), c["schema"])
            for o, c in zip(objects, contracts, strict=True)
        ]
        items = list(doc.get("slaProperties") or ())
        slas, mapped = _sla_from_items(items, targets, doc.get("slaDefaultElement"))
        regenerated = _items_from_sla(
            [(t.odcs_name, s) for t, s in zip(targets, slas, strict=True)]
        )
        if not _same(regenerated, items):
            ext["slaProperties"] = items
            for j, item in enumerate(items):
                extra = sorted(set(item) - {"property", "value", "unit", "element"})
                extra = [k for k in extra if not (k == "customProperties" and mapped[j])]
                if not mapped[j]:
                    self.warn(
                        f"/slaProperties/{j}", "no Accord equivalent, kept in extensions.odcs"
                    )
                elif extra:
                    self.kept(f"/slaProperties/{j}", extra, "extensions.odcs")

        result = []
        for i, (obj, contract) in enumerate(zip(objects, contracts, strict=True)):
            ours, _ = _split_cps(obj)
            sla = slas[i]
            kept_sla = ours.get("sla")
            if isinstance(kept_sla, Mapping):
                mine = _items_from_sla([(targets[i].odcs_name, kept_sla)])
                again, _ = _sla_from_items(mine, [targets[i]])
                if _same(again[0], sla) or len(objects) > 1:
                    sla = dict(kept_sla)
            if sla:
                contract["sla"] = sla
            if ext:
                contract["extensions"] = {**contract.get("extensions", {}), EXTENSION: dict(ext)}
            result.append(self.load(i, contract))
        return ImportResult(result, self.warnings)

    def warn_team(self, doc: Mapping[str, Any], owner: Mapping[str, Any]) -> None:
        team = doc.get("team")
        extra: list[str] = []
        if isinstance(team, Mapping):
            extra += sorted(set(team) - {"name", "members"})
            for m in team.get("members") or ():
                if isinstance(m, Mapping):
                    extra += sorted(set(m) - {"username", "name", "role"})
        for s in doc.get("support") or ():
            if isinstance(s, Mapping):
                extra += sorted(set(s) - {"channel", "tool", "url"})
        extra = sorted(set(extra))
        if extra:
            self.kept("/team", extra, "extensions.odcs (team/support)")

    def load(self, i: int, contract: dict[str, Any]) -> Contract:
        contract = copy.deepcopy(contract)  # kept copies must not share objects
        problems = [
            p for p in check_document(SourceDocument(contract)) if p.severity.value == "error"
        ]
        if problems:
            raise OdcsError(
                [
                    Problem(
                        f"/schema/{i}",
                        f"converts to an invalid Accord contract: {p.path or '/'}: {p.message}",
                        p.code,
                    )
                    for p in problems
                ]
            )
        return Contract.from_document(contract)

    # -- one schema object -----------------------------------------------------------------

    def import_object(
        self,
        i: int,
        obj: Mapping[str, Any],
        name: str,
        status: str,
        doc_tags: list[str],
        owner: dict[str, Any],
    ) -> dict[str, Any]:
        ptr = f"/schema/{i}"
        ours, others = _split_cps(obj)
        acc = _Contract()
        root = self.build_node(obj, ptr, None, (), acc)
        checks, kept_quality = self.import_quality(obj.get("quality"), f"{ptr}/quality", None, acc)
        acc.quality[:0] = checks

        leftovers: dict[str, Any] = {}
        typed = _schema_to_type(root) if isinstance(root, Mapping) else {}
        regen = {k: v for k, v in typed.items() if k == "deprecated"}
        if isinstance(root, Mapping) and root.get("type") == "object":
            regen["logicalType"] = "object"
        for k, v in obj.items():
            if k not in _OBJECT_MAPPED and not _same(regen.get(k, _MISSING), v):
                leftovers[k] = v
        for k in regen:
            if k not in obj:
                leftovers[k] = None
        if obj.get("name") != name:
            leftovers["name"] = obj.get("name")
        self.kept(ptr, sorted(k for k in leftovers if k not in ("name", "logicalType")), X_ODCS)
        own_tags = [t for t in obj.get("tags") or () if isinstance(t, str) and _TAG.match(t)]
        odd = [t for t in obj.get("tags") or () if t not in own_tags]
        if odd:
            leftovers["tags"] = odd
            self.warn(f"{ptr}/tags", f"not valid Accord tags, kept in {X_ODCS}: {odd}")
        if kept_quality is not None:
            leftovers["quality"] = kept_quality
        if others:
            leftovers["customProperties"] = others
            self.kept(f"{ptr}/customProperties", ["customProperties"], X_ODCS)
        if leftovers and isinstance(root, dict):
            root[X_ODCS] = leftovers

        description = obj.get("description")
        if description is None and isinstance(self.doc.get("description"), Mapping):
            description = self.doc["description"].get("purpose")
        tags = doc_tags + [t for t in own_tags if t not in doc_tags]
        kept_tags = ours.get("tags")
        if isinstance(kept_tags, list) and sorted(map(str, kept_tags)) == sorted(tags):
            tags = kept_tags
        contract: dict[str, Any] = {"name": name}
        if isinstance(description, str):
            contract["description"] = description
        contract["owner"] = owner
        if isinstance(ours.get("owner"), Mapping):
            kept_owner = dict(ours["owner"])
            team, support = _team_from(kept_owner)
            if _same(_owner_from(team, support), owner) or len(self.doc["schema"]) > 1:
                contract["owner"] = kept_owner
        if tags:
            contract["tags"] = tags
        contract["status"] = ours["status"] if isinstance(ours.get("status"), str) else status
        contract["schema"] = root
        semantics = acc.semantics
        if isinstance(ours.get("semantics"), Mapping):
            semantics.update(ours["semantics"])
        if semantics:
            contract["semantics"] = semantics
        if isinstance(ours.get("rules"), list):
            contract["rules"] = ours["rules"]
        quality = acc.quality
        order = ours.get("qualityOrder")
        names = [q["name"] for q in quality]
        if isinstance(order, list) and sorted(map(str, order)) == sorted(names):
            position = {n: j for j, n in enumerate(order)}
            quality = sorted(quality, key=lambda q: position[q["name"]])
        if quality:
            contract["quality"] = quality
        if ours.get("compatibility") is not None:
            contract["compatibility"] = ours["compatibility"]
        if isinstance(ours.get("extensions"), Mapping):
            contract["extensions"] = dict(ours["extensions"])
        return contract

    # -- nodes -----------------------------------------------------------------------------

    def build_node(
        self,
        p: Mapping[str, Any],
        ptr: str,
        own: FieldPath | None,
        child: FieldPath | None,
        acc: _Contract,
    ) -> Any:
        """The JSON Schema of an ODCS property (or schema object, or item) and its subtree."""
        node = _type_to_schema(p)
        lt = p.get("logicalType")
        if isinstance(p.get("properties"), list):
            props: dict[str, Any] = {}
            required: list[str] = []
            for j, sub in enumerate(p["properties"]):
                if not isinstance(sub, Mapping) or not isinstance(sub.get("name"), str):
                    continue
                name = sub["name"]
                if name in props:
                    raise OdcsError(
                        [
                            Problem(
                                f"{ptr}/properties/{j}/name", f"duplicate property {name!r}", "dup"
                            )
                        ]
                    )
                sub_path = (*child, name) if child is not None else None
                props[name] = self.import_property(sub, f"{ptr}/properties/{j}", sub_path, acc)
                if sub.get("required") is True:
                    required.append(name)
            opts = p.get("logicalTypeOptions")
            listed = opts.get("required") if isinstance(opts, Mapping) else None
            if isinstance(listed, list):
                required += [r for r in listed if r not in required]
            node["properties"] = props
            if required:
                node["required"] = required
        if isinstance(p.get("items"), Mapping):
            node["items"] = self.import_property(p["items"], f"{ptr}/items", None, acc, child)
        if lt == "map" and isinstance(p.get("map"), Mapping):
            m = p["map"]
            if isinstance(m.get("value"), Mapping):
                value = self.import_property(m["value"], f"{ptr}/map/value", None, acc, None)
                node["additionalProperties"] = value
            if isinstance(m.get("key"), Mapping):
                key = self.import_property(m["key"], f"{ptr}/map/key", None, acc, None)
                if not _same(key, {"type": "string"}):
                    node["propertyNames"] = key
        if lt == "vector":
            node["items"] = {"type": "number"}
        ours, _ = _split_cps(p)
        kept = ours.get("jsonSchema")
        if isinstance(kept, Mapping):
            return self.apply_schema_kept(node, kept, ptr)
        return node

    def apply_schema_kept(self, node: dict[str, Any], kept: Mapping[str, Any], ptr: str) -> Any:
        if "replace" in kept:
            return kept["replace"]
        raw_keywords, raw_absent = kept.get("keywords"), kept.get("absent")
        keywords: Mapping[str, Any] = raw_keywords if isinstance(raw_keywords, Mapping) else {}
        absent: list[Any] = raw_absent if isinstance(raw_absent, list) else []
        target = _schema_to_type(node)
        out = dict(node)
        stale: list[str] = []
        for k in absent:
            trial = {key: v for key, v in out.items() if key != k}
            if _same(_schema_to_type(trial), target):
                out = trial
            else:
                stale.append(str(k))
        for k, v in keywords.items():
            if k == "required":
                found = out.get("properties")
                props: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
                if isinstance(v, list) and {r for r in v if r in props} == set(
                    out.get("required", [])
                ):
                    out[k] = v
                else:
                    stale.append(k)
                continue
            if k in ("properties", "items", "additionalProperties", "propertyNames") and k in out:
                continue
            trial = {**out, k: v}
            if _same(_schema_to_type(trial), target):
                out = trial
            else:
                stale.append(k)
        if stale:
            self.warn(
                ptr,
                "the JSON Schema kept in customProperties (vendor accord) no longer agrees "
                f"with the ODCS property; not applied: {', '.join(stale)}",
            )
        return out

    def import_property(
        self,
        p: Mapping[str, Any],
        ptr: str,
        path: FieldPath | None,
        acc: _Contract,
        child: FieldPath | None = _MISSING,
    ) -> Any:
        """One property: its schema (with ``x-odcs``), semantics and quality checks."""
        child = path if child is _MISSING else child
        node = self.build_node(p, ptr, path, child, acc)
        ours, others = _split_cps(p)
        schema_description = node.get("description") if isinstance(node, Mapping) else None
        sem: dict[str, Any] = {}
        kept_quality: Any = None
        if path is not None:
            sem = _sem_from_fields(p, schema_description)
            kept_sem = ours.get("semantics")
            key = _path_key(path)
            if isinstance(kept_sem, Mapping):
                kept_key = kept_sem.get("key", key)
                value = {k: v for k, v in kept_sem.items() if k != "key"}
                plain = {k: v for k, v in p.items() if k not in _SEM_KEYS}
                if _projection({**plain, **_sem_fields(value, schema_description)}) == _projection(
                    p
                ):
                    sem, key = value, str(kept_key)
                else:
                    self.warn(ptr, "semantics kept in customProperties are stale; not applied")
            if sem:
                acc.semantics[key] = sem
            checks, kept_quality = self.import_quality(
                p.get("quality"), f"{ptr}/quality", path, acc
            )
            acc.quality += checks
        jsonschema_kept = ours.get("jsonSchema")
        replaced = isinstance(jsonschema_kept, Mapping) and "replace" in jsonschema_kept
        regen = _schema_to_type(node) if isinstance(node, Mapping) and not replaced else {}
        if replaced:  # the type fields were derived from the reference, for readers
            regen.update({k: p[k] for k in _TYPE_KEYS if k in p})
        if path is not None:
            regen.update(_sem_fields(sem, schema_description))
        if p.get("required") is True:
            regen["required"] = True
        leftovers: dict[str, Any] = {}
        for k, v in p.items():
            if k not in _NODE_CHILDREN and not _same(regen.get(k, _MISSING), v):
                leftovers[k] = v
                mine = regen.get(k)
                if (
                    k == "logicalTypeOptions"
                    and isinstance(v, Mapping)
                    and isinstance(mine, Mapping)
                ):
                    # Options merge into the generated ones: keep only those that differ.
                    sub = {sk: sv for sk, sv in v.items() if not _same(mine.get(sk, _MISSING), sv)}
                    leftovers[k] = {**sub, **{sk: None for sk in mine if sk not in v}}
        for k in regen:
            if k not in p and k not in _NODE_CHILDREN:
                leftovers[k] = None
        if p.get("logicalType") == "vector" and "items" not in p:
            leftovers["items"] = None
        no_equivalent = [
            k
            for k, v in leftovers.items()
            if v is not None
            and k not in regen
            and not (k in _ODCS_DEFAULTS and _same(v, _ODCS_DEFAULTS[k]))
        ]
        options = p.get("logicalTypeOptions")
        if isinstance(options, Mapping):
            mapped = regen.get("logicalTypeOptions") or {}
            no_equivalent += [f"logicalTypeOptions.{k}" for k in options if k not in mapped]
            no_equivalent = [k for k in no_equivalent if k != "logicalTypeOptions"]
        if p.get("logicalType") == "vector":
            no_equivalent.append("logicalType vector (read as an array of numbers)")
        if path is None and p.get("quality"):
            leftovers["quality"] = p["quality"]
            no_equivalent.append("quality")
        elif kept_quality is not None:
            leftovers["quality"] = kept_quality
        if others:
            leftovers["customProperties"] = others
            no_equivalent.append("customProperties")
        self.kept(ptr, no_equivalent, X_ODCS)
        if leftovers and isinstance(node, dict):
            node[X_ODCS] = leftovers
        return node

    def import_quality(
        self, items: Any, ptr: str, path: FieldPath | None, acc: _Contract
    ) -> tuple[list[dict[str, Any]], list[Any] | None]:
        """Accord checks of the quality items at one node, and the items verbatim when the
        checks do not export back to them.

        ODCS does not ask for unique names (two unnamed ``nullValues`` checks of a property,
        a warning and an error, are common); Accord does, so a name already taken in the
        contract gets a suffix, and the items are then kept verbatim for the export.
        """
        if not isinstance(items, list) or not items:
            return [], None
        checks: list[dict[str, Any]] = []
        regen: list[dict[str, Any]] = []
        for j, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            check = _check_from_item(item, path)
            name = acc.unique_name(check["name"])
            if name != check["name"]:
                self.warn(f"{ptr}/{j}", f"a check is named {check['name']!r} already: {name!r}")
                check = {**check, "name": name}
            checks.append(check)
            again = _export_check(check, path)
            regen.append(again)
            if check["type"] == "custom":
                engine = check.get("engine")
                what = "kept verbatim" if engine == "odcs" else f"engine {engine!r}"
                self.warn(f"{ptr}/{j}", f"quality check not enforced by Accord (custom, {what})")
            # type, unit and severity are read (a unit, say, into a rate): not leftovers
            extra = sorted(
                set(item) - set(again) - {"customProperties", "type", "unit", "severity"}
            )
            if check.get("engine") != "odcs":
                self.kept(f"{ptr}/{j}", extra, X_ODCS)
        return checks, (None if _same(regen, list(items)) else list(items))


def import_odcs(doc: Mapping[str, Any]) -> ImportResult:
    """Accord contracts, one per schema object of an ODCS v3 document.

    Raises `OdcsError` when `doc` is not valid ODCS v3 (against the official JSON Schema) or
    converts to an invalid contract. What has no Accord equivalent is kept (see the module
    docstring) and listed in `ImportResult.warnings`.
    """
    if not isinstance(doc, Mapping):
        raise OdcsError([Problem("", "an ODCS document is a mapping", "odcs-schema")])
    problems = validate_odcs(doc)
    if problems:
        raise OdcsError(problems)
    return _Importer(copy.deepcopy(doc)).run()


# -- export -------------------------------------------------------------------------------


class _Exporter:
    def __init__(self, contracts: Sequence[Contract], version: str | None) -> None:
        self.contracts = list(contracts)
        self.version = version
        self.warnings: list[ConversionWarning] = []
        self.doc_owner: dict[str, Any] = {}

    def warn(self, contract: Contract, path: str, message: str) -> None:
        self.warnings.append(ConversionWarning(path, f"{contract.name}: {message}"))

    def run(self) -> ExportResult:
        cs = self.contracts
        docs = [c.to_document() for c in cs]
        first = cs[0]
        ext: dict[str, Any] = dict(first.extensions.get(EXTENSION) or {})
        for c in cs[1:]:
            if not _same(dict(c.extensions.get(EXTENSION) or {}), ext):
                self.warn(
                    c, "/extensions/odcs", f"differs from {first.name}'s; {first.name}'s used"
                )
        names = [self.object_name(c) for c in cs]
        if len(set(names)) != len(names):
            raise ValueError("two contracts export to the same schema object name")

        out: dict[str, Any] = {
            "version": ext.get("version") or self.version or _DEFAULT_VERSION,
            "kind": "DataContract",
            "apiVersion": API_VERSION,
            "id": ext.get("id") or _default_id(names),
        }
        name = ext.get("name", names[0] if len(cs) == 1 else None)
        if name is not None:
            out["name"] = name
        for key in ("tenant", "domain", "dataProduct"):
            if key in ext:
                out[key] = ext[key]
        status = self.status(first, ext)
        if status is not None:
            out["status"] = status
        common = [t for t in first.tags if all(t in c.tags for c in cs)]
        tags = common + [t for t in ext.get("tags") or () if t not in common]
        if tags or "tags" in ext:
            out["tags"] = tags
        for key in ("servers", "description"):
            if key in ext:
                out[key] = ext[key]
        team, support = self.team(first, docs[0]["owner"], ext)
        self.doc_owner = _owner_from(team, support if support else [])
        out["schema"] = [
            self.export_object(c, d, n, common, docs[0], status, ext)
            for c, d, n in zip(cs, docs, names, strict=True)
        ]
        if support:
            out["support"] = support
        for key in ("price",):
            if key in ext:
                out[key] = ext[key]
        if team is not None:
            out["team"] = team
        for key in ("roles", "slaDefaultElement"):
            if key in ext:
                out[key] = ext[key]
        sla = self.sla(cs, docs, names, ext, out)
        if sla:
            out["slaProperties"] = sla
        for key in ("authoritativeDefinitions", "customProperties", "context", "contractCreatedTs"):
            if key in ext:
                out[key] = ext[key]
        return ExportResult(out, self.warnings)

    def object_name(self, c: Contract) -> str:
        kept = c.schema.get(X_ODCS) if isinstance(c.schema, Mapping) else None
        original = kept.get("name") if isinstance(kept, Mapping) else None
        if isinstance(original, str) and _contract_name(original) == c.name:
            return original
        return c.name

    def status(self, c: Contract, ext: Mapping[str, Any]) -> str | None:
        kept = ext.get("status", _MISSING)
        if (kept is None and c.status is Status.ACTIVE) or (
            isinstance(kept, str) and _status_of(kept)[0] == c.status.value
        ):
            return kept
        return c.status.value

    def team(
        self, c: Contract, owner: Mapping[str, Any], ext: Mapping[str, Any]
    ) -> tuple[Any, list[Any]]:
        team, support = _team_from(owner)
        if "team" not in ext and "support" not in ext:
            return team, support
        kept_team, kept_support = ext.get("team", team), ext.get("support", [])
        if _same(_owner_from(kept_team, kept_support), owner):
            return kept_team, list(kept_support)
        self.warn(c, "/owner", "changed since the ODCS import: team and support regenerated")
        if isinstance(kept_team, Mapping):
            team = {**{k: v for k, v in kept_team.items() if k != "members"}, **team}
        mapped = {json.dumps(s, sort_keys=True) for s in support}
        for s in kept_support:
            if (
                not _owner_from(None, [s]).get("contacts")
                and json.dumps(s, sort_keys=True) not in mapped
            ):
                support.append(s)
        return team, support

    def sla(
        self,
        cs: Sequence[Contract],
        docs: Sequence[Mapping[str, Any]],
        names: Sequence[str],
        ext: Mapping[str, Any],
        out: Mapping[str, Any],
    ) -> list[Any]:
        slas = [(n, d.get("sla") or {}) for n, d in zip(names, docs, strict=True)]
        generated = _items_from_sla(slas)
        kept = ext.get("slaProperties")
        targets = [_Target(n, c.schema) for n, c in zip(names, cs, strict=True)]
        if isinstance(kept, list):
            again, _ = _sla_from_items(kept, targets, ext.get("slaDefaultElement"))
            if _same(again, [s for _, s in slas]):
                return list(kept)
            self.warn(cs[0], "/sla", "changed since the ODCS import: slaProperties regenerated")
            _, mapped = _sla_from_items(kept, targets, ext.get("slaDefaultElement"))
            generated += [item for item, m in zip(kept, mapped, strict=True) if not m]
        return generated

    def export_object(
        self,
        c: Contract,
        doc: Mapping[str, Any],
        name: str,
        common_tags: list[str],
        first: Mapping[str, Any],
        status: str | None,
        ext: Mapping[str, Any],
    ) -> dict[str, Any]:
        schema = c.schema
        root = schema if isinstance(schema, Mapping) else {}
        state = _ExportState(c, dict(doc.get("semantics") or {}), list(doc.get("quality") or ()))
        obj = self.export_node(name, schema, root, False, None, (), False, (), state, top=True)
        kept = root.get(X_ODCS) if isinstance(root, Mapping) else None
        kept = dict(kept) if isinstance(kept, Mapping) else {}
        kept.pop("name", None)
        obj = {"name": name, **{k: v for k, v in obj.items() if k != "name"}}
        purpose = (
            ext.get("description", {}).get("purpose")
            if isinstance(ext.get("description"), Mapping)
            else None
        )
        if c.description is not None and c.description != purpose:
            obj["description"] = c.description
        own_tags = [t for t in c.tags if t not in common_tags]
        own_tags += [t for t in kept.pop("tags", None) or () if t not in own_tags]
        if own_tags:
            obj["tags"] = own_tags
        for k, v in kept.items():
            if k in ("quality", "customProperties"):
                continue
            if v is None:
                obj.pop(k, None)
            elif k not in obj:
                obj[k] = v
        # The object-level quality: the checks not placed at a property.
        placed = state.object_checks()
        quality = self.node_quality(c, None, placed, kept.get("quality"))
        if quality:
            obj["quality"] = quality
        cps: list[Any] = list(kept.get("customProperties") or [])
        cps += obj.pop("customProperties", [])
        cps += self.contract_cps(c, doc, first, status, state, obj)
        if cps:
            obj["customProperties"] = cps
        return _order(
            obj,
            (
                "id",
                "name",
                "physicalName",
                "physicalType",
                "businessName",
                "description",
                "logicalType",
                "tags",
            ),
        )

    def contract_cps(
        self,
        c: Contract,
        doc: Mapping[str, Any],
        first: Mapping[str, Any],
        status: str | None,
        state: _ExportState,
        obj: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        cps: list[dict[str, Any]] = []
        owner = doc["owner"]
        if not _same(self.doc_owner, owner):
            cps.append(_cp("owner", owner))
        if doc.get("status", "active") != _status_of(status)[0]:  # the document's is another
            cps.append(_cp("status", doc.get("status", "active")))
        doc_tags = [t for t in first.get("tags", ()) if all(t in x.tags for x in self.contracts)]
        own = [t for t in obj.get("tags", ()) if _TAG.match(t)]
        if list(c.tags) != doc_tags + [t for t in own if t not in doc_tags]:
            cps.append(_cp("tags", list(c.tags)))
        if state.semantics:
            cps.append(_cp("semantics", state.semantics))
        if doc.get("rules"):
            cps.append(_cp("rules", doc["rules"]))
        order = [q["name"] for q in state.walk_order]
        if order != [q["name"] for q in doc.get("quality", ())]:
            cps.append(_cp("qualityOrder", [q["name"] for q in doc.get("quality", ())]))
        if c.compatibility != CompatibilityConfig():
            cps.append(_cp("compatibility", doc["compatibility"]))
        others = {k: v for k, v in c.extensions.items() if k != EXTENSION}
        if others:
            cps.append(_cp("extensions", others))
        # An SLA the slaProperties cannot say exactly (a JSON pointer field, say) is kept whole.
        sla = doc.get("sla")
        if sla:
            name = self.object_name(c)
            again, _ = _sla_from_items(_items_from_sla([(name, sla)]), [_Target(name, c.schema)])
            if not _same(again[0], sla):
                cps.append(_cp("sla", sla))
        return cps

    def node_quality(
        self,
        c: Contract,
        path: FieldPath | None,
        checks: list[dict[str, Any]],
        kept: Any,
    ) -> list[Any]:
        if isinstance(kept, list):
            again = [_check_from_item(item, path) for item in kept if isinstance(item, Mapping)]
            if len(again) == len(checks) and all(map(_same_but_suffix, again, checks)):
                return list(kept)
            where = _path_key(path) if path else "the schema object"
            self.warn(
                c, "/quality", f"checks at {where} changed since the ODCS import: regenerated"
            )
        return [_export_check(q, path) for q in checks]

    def export_node(
        self,
        name: str | None,
        node: Any,
        root: Mapping[str, Any],
        required: bool,
        own: FieldPath | None,
        child: FieldPath | None,
        inline: bool,
        refs: tuple[str, ...],
        state: _ExportState,
        top: bool = False,
    ) -> dict[str, Any]:
        """The ODCS property of a JSON Schema node (the schema object when `top`)."""
        view, refs, _cycle = _deref(node, root, refs)
        replaced = not isinstance(node, Mapping) or "$ref" in node
        prop: dict[str, Any] = {} if name is None else {"name": name}
        fields = _schema_to_type(view)
        if top:
            fields = {k: v for k, v in fields.items() if k == "deprecated"}
            if view.get("type") == "object":
                fields["logicalType"] = "object"
        prop.update(fields)
        lt = fields.get("logicalType")
        structural: set[str] = set()
        props = view.get("properties")
        if (lt == "object" or top) and isinstance(props, Mapping) and props:
            found = view.get("required")
            listed: list[Any] = found if isinstance(found, list) else []
            prop["properties"] = [
                self.export_node(
                    k,
                    v,
                    root,
                    k in listed,
                    (*child, k) if child is not None else None,
                    (*child, k) if child is not None else None,
                    inline or replaced,
                    refs,
                    state,
                )
                for k, v in props.items()
            ]
            structural |= {"properties", "required"}
            regen_required = [k for k in props if k in listed]
            if not _same(view.get("required", []), regen_required) or (
                "required" in view and not regen_required
            ):
                structural.discard("required")
        if lt == "map":
            key_node = view.get("propertyNames", {"type": "string"})
            map_key = self.export_node(
                None, key_node, root, False, None, None, inline or replaced, refs, state
            )
            map_value = self.export_node(
                None,
                view["additionalProperties"],
                root,
                False,
                None,
                None,
                inline or replaced,
                refs,
                state,
            )
            prop["map"] = {"key": map_key, "value": map_value}
            structural.add("additionalProperties")
            if "propertyNames" in view and not _same(key_node, {"type": "string"}):
                structural.add("propertyNames")
        if lt == "array" and isinstance(view.get("items"), Mapping):
            prop["items"] = self.export_node(
                None, view["items"], root, False, None, child, inline or replaced, refs, state
            )
            structural.add("items")
        if required:
            prop["required"] = True
        # What the import will see as the node's own description: a node inside a
        # referenced (inlined) subtree comes back as the reference, so it has none.
        schema_description = (
            None if inline or not isinstance(node, Mapping) else node.get("description")
        )
        if own is not None:
            key, sem = state.take_semantics(own)
            prop.update(_sem_fields(sem, schema_description))
            again = _sem_from_fields(prop, schema_description)
            if key != _path_key(own) or not _same(again, sem):
                prop.setdefault("customProperties", []).append(
                    _cp("semantics", {**sem, **({"key": key} if key != _path_key(own) else {})})
                )
        found_kept = view.get(X_ODCS)
        kept: Mapping[str, Any] = found_kept if isinstance(found_kept, Mapping) else {}
        if own is not None:
            checks = state.take_checks(own)
            quality = self.node_quality(state.contract, own, checks, kept.get("quality"))
            if quality:
                prop["quality"] = quality
        elif not top and isinstance(kept.get("quality"), list):
            prop["quality"] = kept["quality"]
        if not inline:
            leftover = self.schema_leftovers(node, prop, structural, replaced)
            if leftover:
                prop.setdefault("customProperties", []).append(_cp("jsonSchema", leftover))
        if kept and not top:
            merged, rejected = _merge_kept(prop, kept)
            if rejected:
                self.warn(
                    state.contract,
                    "/schema",
                    f"{_path_key(own) if own else name}: ODCS values kept at import no longer "
                    f"match the contract, the contract's exported: {', '.join(rejected)}",
                )
            prop = merged
            if isinstance(kept.get("customProperties"), list):
                prop["customProperties"] = [
                    *kept["customProperties"],
                    *prop.get("customProperties", []),
                ]
        if lt == "array" and prop.get("logicalType") == "vector":
            prop.pop("items", None)
        return _order(prop, _PROPERTY_ORDER)

    def schema_leftovers(
        self, node: Any, prop: Mapping[str, Any], structural: set[str], replaced: bool
    ) -> dict[str, Any] | None:
        """What the import of `prop` would not give back of `node`."""
        if replaced:
            return {"replace": node}
        regen = _type_to_schema(prop)
        if prop.get("logicalType") == "vector":
            regen["items"] = {"type": "number"}
        keywords = {
            k: v
            for k, v in node.items()
            if k != X_ODCS and k not in structural and not _same(regen.get(k, _MISSING), v)
        }
        absent = [k for k in regen if k not in node]
        out: dict[str, Any] = {}
        if keywords:
            out["keywords"] = keywords
        if absent:
            out["absent"] = absent
        return out or None


class _ExportState:
    """Semantics and quality checks of one contract, taken as their fields are placed."""

    def __init__(
        self, contract: Contract, semantics: dict[str, Any], quality: list[dict[str, Any]]
    ) -> None:
        self.contract = contract
        self.semantics = semantics
        self.quality = quality
        self.placed: set[int] = set()
        self.walk_order: list[dict[str, Any]] = []
        self._object: list[dict[str, Any]] | None = None

    def take_semantics(self, path: FieldPath) -> tuple[str, dict[str, Any]]:
        for key in list(self.semantics):
            if parse_path(key) == path:
                return key, self.semantics.pop(key)
        return _path_key(path), {}

    def take_checks(self, path: FieldPath) -> list[dict[str, Any]]:
        key = _path_key(path)
        found = []
        for i, q in enumerate(self.quality):
            if i in self.placed:
                continue
            fieldname = q.get("field")
            if isinstance(fieldname, str) and (fieldname == key or parse_path(fieldname) == path):
                if q.get("type") in ("row_count",) or q.get("fields"):
                    continue
                self.placed.add(i)
                found.append(q)
        self.walk_order += found
        return found

    def object_checks(self) -> list[dict[str, Any]]:
        rest = [q for i, q in enumerate(self.quality) if i not in self.placed]
        self.walk_order[:0] = rest
        return rest


def export_odcs(
    contracts: Contract | Sequence[Contract], *, version: str | None = None
) -> ExportResult:
    """One ODCS v3.2.0 document with a schema object per contract.

    `version` is the ODCS ``version`` when the contracts do not carry one from an import
    (default ``1.0.0``). What ODCS cannot say is kept in ``customProperties`` with
    ``vendor: accord``; warnings say what was regenerated because it changed since import.
    """
    cs = [contracts] if isinstance(contracts, Contract) else list(contracts)
    if not cs:
        raise ValueError("nothing to export: no contracts")
    result = _Exporter(cs, version).run()
    # Nothing in the document may alias the contracts' (immutable) schemas.
    return ExportResult(copy.deepcopy(result.document), result.warnings)
