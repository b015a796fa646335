"""The contract as a table: which columns, of what kind, with which column checks.

This is the *what* of batch validation, independent of any dataframe library: a contract's
JSON Schema becomes one `ColumnSpec` per leaf field (nested objects flattened to dotted
column names, ``customer.email``), each with the checks its keywords ask for. Backends
(`enforcers.batch.backends`) turn a spec into pandera checks and column expressions.

What a flat table cannot express is never silently dropped: it becomes a `NotChecked`
note in the report, or, with ``unmappable="error"``, an `UnmappableField` exception that
names the field and why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any, Literal

import jsonschema_rs
import numpy as np
import numpy.typing as npt

from contracts import Classification, Contract, parse_path

__all__ = [
    "FORMAT_PATTERNS",
    "ColumnCheck",
    "ColumnSpec",
    "Kind",
    "NotChecked",
    "TableSpec",
    "UnmappableField",
    "judged_kind",
    "table_spec",
]

Kind = Literal["string", "integer", "number", "boolean", "array", "object", "any"]
Unmappable = Literal["note", "error"]

# Formats as patterns, which Spark checks (calendar validity, e.g. 2024-02-30, is not in
# them, and they take a@b for no email). pandas and polars ask `format_failures` about each
# distinct value instead, which judges as the per-record validator does.
FORMAT_PATTERNS: dict[str, str] = {
    "date-time": (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
        r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
    ),
    "date": r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    "time": r"^[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$",
    "hostname": (
        r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
        r"[A-Za-z0-9])?)*$"
    ),
    "ipv4": (
        r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}"
        r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$"
    ),
}
# Patterns that match valid values only (the common shapes), with the longest value they
# vouch for: what one matches is valid, vectorized; the rest (a day past the 28th, a leap
# second, an address with unusual characters) is judged by `format_failures`.
# A DNS label of at most 63 characters, no "--" (which marks an IDN A-label: "xn--").
_LABEL = r"[A-Za-z](-?[A-Za-z0-9]){0,31}"
_HOUR_MINUTE = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_TIME = rf"{_HOUR_MINUTE}:[0-5][0-9](\.[0-9]{{1,9}})?([Zz]|[+-]{_HOUR_MINUTE})"
_DATE = r"[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
FORMAT_QUICK: dict[str, tuple[str, int | None]] = {
    "date-time": (f"^{_DATE}[Tt]{_TIME}$", None),
    "date": (f"^{_DATE}$", None),
    "time": (f"^{_TIME}$", None),
    "email": (rf"^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@{_LABEL}(\.{_LABEL})+$", 64),
    "uuid": (FORMAT_PATTERNS["uuid"], None),
    "hostname": (rf"^{_LABEL}(\.{_LABEL})*$", 253),
    "ipv4": (FORMAT_PATTERNS["ipv4"], None),
}
# Formats a typed column satisfies by its dtype (a datetime column is a valid date-time).
TEMPORAL_FORMATS = ("date-time", "date")


@cache
def _formats_validator(fmt: str) -> Any:
    return jsonschema_rs.validator_for({"items": {"format": fmt}}, validate_formats=True)


def format_failures(values: Iterable[Any], fmt: str) -> list[str]:
    """The strings among `values` (distinct ones, ideally) that are not valid `fmt`, as
    the per-record validator (jsonschema-rs) judges them: one call for them all."""
    strings = [v for v in values if isinstance(v, str)]
    return [strings[e.instance_path[0]] for e in _formats_validator(fmt).iter_errors(strings)]


def exact_number(number: int | float) -> Fraction:
    """A number as the per-record validator reads it: an int exactly, a float as its
    shortest decimal (its repr, the JSON text of it)."""
    return Fraction(number) if isinstance(number, int) else Fraction(repr(float(number)))


def is_multiple(value: int | float, multiple: int | float) -> bool:
    """`value` divided by `multiple` is an integer, as the per-record validator judges it:
    exactly, of the numbers as `exact_number` reads them (0.07 is a multiple of 0.01)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return (exact_number(value) / exact_number(multiple)).denominator == 1


def integer_step(multiple: int | float) -> int:
    """The integers that are multiples of `multiple` are the multiples of this: of p/q in
    lowest terms, p (q divides no more of an integer than 1 does)."""
    return exact_number(multiple).numerator


def float_multiples(
    values: npt.NDArray[np.float64], multiple: int | float
) -> npt.NDArray[np.bool_]:
    """Per value (NaN, a null, passes): `is_multiple`, vectorized where doubles decide it.

    With `multiple` = M / 10**k (k its decimals), a value is a multiple if its decimal is
    some N / 10**k with N a multiple of M. Below |value| * 10**k = 1e14 a value's rounding
    interval is under a tenth of 10**-k wide, so the one candidate is the integer nearest
    value * 10**k, and it is the value's shortest decimal exactly when N / 10**k (both
    exact in doubles, the quotient correctly rounded) gives the value back; N / M is then
    an integer exactly when its double is. Larger values (and infinities) are judged once
    per distinct value.
    """
    decimals, whole = decimal_multiple(multiple)
    ok = np.ones(len(values), dtype=bool)
    rest = ~np.isnan(values)
    if decimals <= 22:  # 10**22 is the last power of ten a double holds exactly
        scale = 10.0**decimals
        with np.errstate(all="ignore"):
            scaled = values * scale
            decided = np.abs(scaled) < 1e14
            n = np.floor(scaled + 0.5)
            ok = ~decided | (n / scale == values)
            if whole != 1:
                quotient = n / float(whole)
                ok &= ~decided | (quotient == np.floor(quotient))
        rest &= ~decided
    if rest.any():
        undecided = values[rest]
        bad = [v for v in np.unique(undecided) if not is_multiple(float(v), multiple)]
        ok[rest] = ~np.isin(undecided, bad)
    return ok


def decimal_multiple(multiple: int | float) -> tuple[int, int]:
    """(k, M): `multiple` is M / 10**k with M an integer, k as small as can be."""
    exact = exact_number(multiple)
    decimals = 0
    while (exact * 10**decimals).denominator != 1:
        decimals += 1
    return decimals, int(exact * 10**decimals)


class UnmappableField(ValueError):
    """A contract field that batch validation cannot check (``unmappable="error"``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"field {field or '(root)'!r} cannot be checked in a table: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True, slots=True)
class NotChecked:
    """A part of the contract the batch validator does not check, and why."""

    field: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


_APPLIES_TO: dict[str, Kind] = {
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), "number"
    ),
    **dict.fromkeys(("minLength", "maxLength", "pattern", "format"), "string"),
    **dict.fromkeys(("minItems", "maxItems", "items"), "array"),
}


@dataclass(frozen=True, slots=True)
class ColumnCheck:
    """One value-level check of a column; nulls always pass (nullability is separate).

    kind: ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (arg: number),
    ``multipleOf`` (number), ``enum`` (tuple of values), ``minLength``/``maxLength`` (int),
    ``pattern`` (regex, searched), ``format`` (name; `pattern` holds its regex),
    ``minItems``/``maxItems`` (int), ``items`` (element schema, checked row-wise).
    """

    kind: str
    arg: Any
    pattern: str | None = None
    # The n-th check of its kind on the column (a pattern in a $ref and another beside it,
    # both of which apply): its name is numbered, as check names must be unique.
    nth: int = 1

    @property
    def name(self) -> str:
        base = f"format:{self.arg}" if self.kind == "format" else self.kind
        return base if self.nth == 1 else f"{base}#{self.nth}"

    @property
    def applies_to(self) -> Kind | None:
        """The JSON type of the values this check judges (None: every value); JSON Schema
        passes values of any other type (``maxLength`` says nothing of a number)."""
        return _APPLIES_TO.get(self.kind)

    def describe(self) -> str:
        if self.kind == "format":
            return f"format {self.arg}"
        if self.kind == "enum":
            return "one of " + ", ".join(repr(v) for v in self.arg)
        if self.kind == "items":
            return "array items match the element schema"
        return f"{self.kind} {self.arg}"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: a leaf field of the record, by its dotted path."""

    name: str  # the column name: the field's dotted path
    kind: Kind
    required: bool  # the column must exist (the field is required all the way up)
    nullable: bool  # a null (absent) value is allowed
    checks: tuple[ColumnCheck, ...] = ()
    formats: tuple[str, ...] = ()  # declared formats (date-time columns may be datetimes)
    unique: bool = False
    # Required below an optional object: the value must be there when the object is
    # (any sibling column under `present_with` is non-null).
    present_with: str | None = None
    element_schema: Mapping[str, Any] | None = None  # arrays: checked row-wise if present
    element_root: Mapping[str, Any] | None = None  # the root's $defs, for the element's $refs
    # An object with declared properties: they are columns of their own, so a table holds
    # this column only for values that are not objects ("customer": "C2"), which its type
    # check fails.
    split: bool = False

    @property
    def container(self) -> bool:
        """Arrays and free-form objects: a flat table need not hold them."""
        return self.kind in ("array", "object") and not self.split

    @property
    def temporal(self) -> str | None:
        """``date-time`` or ``date`` when a datetime/date column satisfies the type."""
        for f in self.formats:
            if f in TEMPORAL_FORMATS:
                return f
        return None


def judged_kind(c: ColumnSpec, check: ColumnCheck) -> Kind:
    """The type of `c`'s values that `check` judges: the column's, but in a field of no
    one type (untyped, a union) the check's own (JSON Schema passes the other values)."""
    return check.applies_to if c.kind == "any" and check.applies_to is not None else c.kind


@dataclass(frozen=True, slots=True)
class TableSpec:
    contract: str
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    not_checked: tuple[NotChecked, ...] = ()
    # Object paths ("" is the root) that forbid undeclared keys, with their declared names.
    closed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    pii: tuple[str, ...] = ()  # columns (or column prefixes) whose values are redacted

    def column(self, name: str) -> ColumnSpec | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def whole(self) -> list[str]:
        """Declared columns a frame keeps as they are: not split into dotted columns."""
        return [c.name for c in self.columns if not c.split]

    @property
    def split(self) -> list[str]:
        """Declared objects with properties: a frame holds their fields as dotted columns.

        Rules do not see a column of such a name: it holds only values that are not objects,
        which fail their type check (and the record validator runs no rules on them).
        """
        return [c.name for c in self.columns if c.split]

    @property
    def integers(self) -> frozenset[str]:
        """Columns the contract types integer."""
        return frozenset(c.name for c in self.columns if c.kind == "integer")

    def is_pii(self, column: str) -> bool:
        return any(column == p or column.startswith(p + ".") for p in self.pii)

    def undeclared(self, columns: list[str]) -> dict[str, str]:
        """Columns an object with ``additionalProperties: false`` forbids: {column: object}."""
        found: dict[str, str] = {}
        declared = set(self.whole)
        for name in columns:
            if name in declared or any(name.startswith(d + ".") for d in declared):
                continue
            parts = name.split(".")
            for depth in range(len(parts) - 1, -1, -1):
                parent = ".".join(parts[:depth])
                if parent in self.closed:
                    if parts[depth] not in self.closed[parent]:
                        found[name] = parent
                    break
        return found


# -- building a spec -------------------------------------------------------------------------

_KEYWORDS_MAPPED = {
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "prefixItems",
    "$ref",
    "allOf",
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentMediaType",
    "contentEncoding",
    "unevaluatedProperties",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
    "minProperties",
    "maxProperties",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "$anchor",
}
# Keywords whose constraints the column mapping does not express (noted when present).
_NOT_MAPPED = (
    "anyOf",
    "oneOf",
    "not",
    "if",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
)


def table_spec(contract: Contract, *, unmappable: Unmappable = "note") -> TableSpec:
    """The contract's schema as columns (cached per contract content)."""
    return _table_spec(contract.fingerprint, contract, unmappable)


_SPECS: dict[tuple[str, str], TableSpec] = {}


def _table_spec(fingerprint: str, contract: Contract, unmappable: Unmappable) -> TableSpec:
    key = (fingerprint, unmappable)
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) > 256:
            _SPECS.clear()
        spec = _SPECS[key] = _Builder(contract, unmappable).build()
    return spec


class _Builder:
    def __init__(self, contract: Contract, unmappable: Unmappable) -> None:
        self.contract = contract
        self.unmappable = unmappable
        self.root: Mapping[str, Any] = (
            contract.schema if isinstance(contract.schema, Mapping) else {}
        )
        self.columns: list[ColumnSpec] = []
        self.notes: list[NotChecked] = []
        self.closed: dict[str, frozenset[str]] = {}

    def note(self, path: str, reason: str) -> None:
        if self.unmappable == "error":
            raise UnmappableField(path, reason)
        self.notes.append(NotChecked(path, reason))

    def build(self) -> TableSpec:
        schema = self.contract.schema
        if schema is False:
            self.note("", "the schema is `false`: no record is valid")
        elif isinstance(schema, Mapping):
            nodes = list(self.resolve(schema, ""))
            types = _types(nodes)
            if types and "object" not in types:
                raise UnmappableField("", "a table needs an object schema at the root")
            self.walk(nodes, (), required_chain=True, optional_parent=None)
        keys = {".".join(parse_path(k)): s for k, s in self.contract.semantics.items()}
        unique = {k for k, s in keys.items() if s.unique}
        primary = tuple(k for k, s in keys.items() if s.primary_key)
        columns = []
        for c in self.columns:
            if c.name in primary:
                # A primary key is present and non-null on every record.
                c = _replace(c, required=True, nullable=False, present_with=None)
            if (len(primary) == 1 and c.name in primary) or c.name in unique:
                c = _replace(c, unique=True)
            columns.append(c)
        pii = tuple(
            ".".join(parse_path(k))
            for k, s in self.contract.semantics.items()
            if s.classification in (Classification.PII, Classification.SENSITIVE)
        )
        return TableSpec(
            contract=self.contract.name,
            columns=tuple(columns),
            primary_key=primary,
            not_checked=tuple(self.notes),
            closed=self.closed,
            pii=pii,
        )

    def resolve(self, node: Any, path: str, depth: int = 0) -> Iterator[Mapping[str, Any]]:
        """`node` with `$ref` followed and `allOf` branches (all of which apply) expanded."""
        if depth > 32 or not isinstance(node, Mapping):
            if node is False:
                self.note(path, "the schema is `false` here")
            return
        if isinstance(node.get("$ref"), str):
            target = _pointer(self.root, node["$ref"])
            if target is None:
                self.note(path, f"$ref {node['$ref']!r} is not a local reference")
            else:
                yield from self.resolve(target, path, depth + 1)
        yield node
        for branch in node.get("allOf", ()):
            yield from self.resolve(branch, path, depth + 1)

    def walk(
        self,
        nodes: list[Mapping[str, Any]],
        prefix: tuple[str, ...],
        required_chain: bool,
        optional_parent: str | None,
    ) -> None:
        here = ".".join(prefix)
        props: dict[str, list[Any]] = {}
        required: set[str] = set()
        closed = False
        for node in nodes:
            for name, sub in (node.get("properties") or {}).items():
                props.setdefault(name, []).append(sub)
            required.update(node.get("required") or ())
            if node.get("additionalProperties") is False:
                closed = True
            for keyword in _NOT_MAPPED:
                if keyword in node:
                    self.note(here, f"`{keyword}` is not checked on tables")
        if closed:
            self.closed[here] = frozenset(props)
        for name, subs in props.items():
            path = (*prefix, name)
            dotted = ".".join(path)
            child_nodes = [n for s in subs for n in self.resolve(s, dotted)]
            is_required = name in required
            types = _types(child_nodes)
            if "object" in types or (not types and any("properties" in n for n in child_nodes)):
                if types - {"object", "null"}:
                    self.note(dotted, "a field that is an object or a scalar cannot be a column")
                    continue
                if any(n.get("properties") for n in child_nodes):
                    self.columns.append(ColumnSpec(dotted, "object", False, True, split=True))
                    self.walk(
                        child_nodes,
                        path,
                        required_chain and is_required and "null" not in types,
                        optional_parent if (is_required and "null" not in types) else dotted,
                    )
                    continue
                # A free-form object: one column, holding maps; only presence is checked.
            self.columns.append(
                self.leaf(dotted, child_nodes, types, is_required, required_chain, optional_parent)
            )

    def leaf(
        self,
        name: str,
        nodes: list[Mapping[str, Any]],
        types: set[str],
        is_required: bool,
        required_chain: bool,
        optional_parent: str | None,
    ) -> ColumnSpec:
        enum_values: list[Any] | None = None
        formats: list[str] = []
        checks: list[ColumnCheck] = []
        element: Mapping[str, Any] | None = None
        for node in nodes:
            values = node.get("enum")
            if "const" in node:
                values = [node["const"]]
            if isinstance(values, list):
                enum_values = (
                    values if enum_values is None else [v for v in enum_values if v in values]
                )
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                value = node.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    checks.append(ColumnCheck(key, value))
            step = node.get("multipleOf")
            if isinstance(step, int | float) and not isinstance(step, bool):
                if step > 0 and math.isfinite(step):
                    checks.append(ColumnCheck("multipleOf", step))
                else:  # the per-record validator refuses the schema
                    self.note(name, f"multipleOf {step!r} is not a positive number")
            for key in ("minLength", "maxLength", "minItems", "maxItems"):
                if isinstance(node.get(key), int):
                    checks.append(ColumnCheck(key, node[key]))
            if isinstance(node.get("pattern"), str):
                pattern = node["pattern"]
                try:
                    re.compile(pattern)
                except re.error:
                    self.note(name, f"pattern {pattern!r} is not a regular expression here")
                else:
                    checks.append(ColumnCheck("pattern", pattern, pattern))
            fmt = node.get("format")
            if isinstance(fmt, str):
                formats.append(fmt)
                if fmt in FORMAT_PATTERNS:
                    checks.append(ColumnCheck("format", fmt, FORMAT_PATTERNS[fmt]))
                else:
                    self.note(name, f"format {fmt!r} is not checked")
            if "items" in node or "prefixItems" in node:
                element = {k: v for k, v in node.items() if k in ("items", "prefixItems")}
            for keyword in ("uniqueItems", "contains"):
                if keyword in node:
                    self.note(name, f"`{keyword}` is not checked on tables")
            for keyword in _NOT_MAPPED:
                if keyword in node:
                    self.note(name, f"`{keyword}` is not checked on tables")
        scalar = types - {"null"}
        if enum_values is not None:
            non_null = tuple(v for v in enum_values if v is not None)
            checks.insert(0, ColumnCheck("enum", non_null))
            if not types:
                scalar = {_json_type(v) for v in non_null}
        if {"integer", "number"} <= scalar or scalar == {"number"}:
            scalar = (scalar - {"integer"}) | {"number"}
        kind: Kind = "any"
        only = next(iter(scalar)) if len(scalar) == 1 else None
        if only == "string":
            kind = "string"
        elif only == "integer":
            kind = "integer"
        elif only == "number":
            kind = "number"
        elif only == "boolean":
            kind = "boolean"
        elif scalar in ({"array"}, {"object"}):
            kind = "array" if scalar == {"array"} else "object"
        elif len(scalar) > 1:
            self.note(name, f"type union {sorted(scalar)} is not checked (only nullability)")
        if kind == "array" and element is not None:
            checks.append(ColumnCheck("items", element))
        if kind != "any":  # the checks of another type than the column's judge no value
            own = "number" if kind == "integer" else kind
            checks = [k for k in checks if k.applies_to in (None, own)]
        checks = _merged(checks)
        # A null cell is an absent field, or a JSON null where the schema allows one.
        null_value = ("null" in types if types else True) and (
            None in enum_values if enum_values is not None else True
        )
        typed = bool(types) or enum_values is not None
        null_allowed = null_value and typed
        required = required_chain and is_required
        present_with = (
            optional_parent if (is_required and not required_chain and not null_allowed) else None
        )
        nullable = not is_required or null_allowed or present_with is not None
        return ColumnSpec(
            name=name,
            kind=kind,
            required=required,
            nullable=bool(nullable),
            checks=tuple(checks),
            formats=tuple(formats),
            present_with=present_with,
            element_schema=element,
            element_root={k: v for k, v in self.root.items() if k in ("$defs", "definitions")}
            if element is not None
            else None,
        )


# Bounds declared more than once (a $ref's and a local one, allOf branches): all apply,
# which is the strictest of them.
_STRICTEST: dict[str, Callable[[Any, Any], Any]] = {
    **dict.fromkeys(("minimum", "exclusiveMinimum", "minLength", "minItems"), max),
    **dict.fromkeys(("maximum", "exclusiveMaximum", "maxLength", "maxItems"), min),
}


def _merged(checks: list[ColumnCheck]) -> list[ColumnCheck]:
    """`checks` with one check per name, so that a report (and counts added up across the
    chunks of a file) has one entry per check: repeated bounds merged into the strictest,
    repeats dropped, and other checks of one kind (two patterns, two steps) numbered."""
    out: list[ColumnCheck] = []
    for check in checks:
        same = [i for i, k in enumerate(out) if k.kind == check.kind]
        if check.kind in _STRICTEST and same:
            i = same[0]
            out[i] = _replace_check(out[i], arg=_STRICTEST[check.kind](out[i].arg, check.arg))
        elif not any(out[i].arg == check.arg for i in same):
            # Formats are named by format: only a repeat of one shares a name.
            nth = 1 if check.kind == "format" else len(same) + 1
            out.append(_replace_check(check, nth=nth))
    return out


def _replace_check(k: ColumnCheck, **changes: Any) -> ColumnCheck:
    from dataclasses import replace

    return replace(k, **changes)


def _replace(c: ColumnSpec, **changes: Any) -> ColumnSpec:
    from dataclasses import replace

    return replace(c, **changes)


def _types(nodes: list[Mapping[str, Any]]) -> set[str]:
    """The JSON types every conjunct allows (``number`` admits integers); empty: untyped."""
    found: set[str] | None = None
    for node in nodes:
        declared = set(_as_list(node.get("type")))
        if not declared:
            continue
        if "number" in declared:
            declared.add("integer")
        found = declared if found is None else found & declared
    return found or set()


def _as_list(t: Any) -> list[str]:
    if t is None:
        return []
    return [t] if isinstance(t, str) else list(t)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if math.isfinite(value) and value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in ref[1:].split("/")[1:] if ref[1:] else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and (key.isascii() and key.isdigit()) and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node
