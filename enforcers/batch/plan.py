"""What one validation runs, shared by every backend: row checks, rules, measures.

A backend evaluates a `Plan` over its frame and hands back an `Evaluation`: per row check
the failing rows (count, positions where the backend has them, samples), and the dataset
measures (counts) that quality and SLA checks are judged on. Counts, unlike rates, add up
across chunks, which is how `accord validate` streams a file and stays exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from contracts import Contract, QualityType, Severity
from enforcers.batch.cel_columns import CompiledColumns, compile_columns
from enforcers.batch.report import REDACTED, Category
from enforcers.batch.rowwise import plain_value
from enforcers.batch.spec import ColumnCheck, ColumnSpec, NotChecked, TableSpec, Unmappable

__all__ = [
    "Evaluation",
    "Measures",
    "Plan",
    "RowCheck",
    "RowOutcome",
    "field_columns",
    "make_plan",
]

Positions = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RowCheck:
    """One row-level check: a column check of the schema, or a CEL rule."""

    category: Category
    name: str
    check: str
    field: str | None
    severity: Severity
    message: str
    row_wise: bool = False


@dataclass(slots=True)
class RowOutcome:
    failed: int
    positions: Positions | None = None  # every failing row (None: the backend has no order)
    samples: list[dict[str, Any]] = field(default_factory=list)
    # A required column the frame lacks: a schema error whatever the row count (as pandera
    # has it), so the check fails even on an empty frame, where no row does.
    column_missing: bool = False

    @property
    def passed(self) -> bool:
        return self.failed == 0 and not self.column_missing


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    expression: str
    severity: Severity
    columns: CompiledColumns
    reads: frozenset[str]  # dotted paths the rule reads


@dataclass(frozen=True, slots=True)
class Plan:
    contract: Contract
    spec: TableSpec
    rules: tuple[RuleSpec, ...]
    null_columns: tuple[str, ...]
    repeat_keys: tuple[tuple[str, ...], ...]  # duplicate_rate keys (nulls compared as values)
    allowed: tuple[tuple[str, str, tuple[Any, ...]], ...]  # (check name, column, values)
    freshness: str | None  # event-time column
    samples: int = 5
    unmappable: Unmappable = "note"


@dataclass(slots=True)
class Measures:
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    repeats: dict[tuple[str, ...], int] = field(default_factory=dict)
    allowed: dict[str, tuple[int, int]] = field(default_factory=dict)  # (in values, non-null)
    max_time: datetime | None = None

    def add(self, other: Measures) -> None:
        self.rows += other.rows
        for k, v in other.nulls.items():
            self.nulls[k] = self.nulls.get(k, 0) + v
        for key, n in other.repeats.items():
            self.repeats[key] = self.repeats.get(key, 0) + n
        for name, (hits, total) in other.allowed.items():
            h, t = self.allowed.get(name, (0, 0))
            self.allowed[name] = (h + hits, t + total)
        if other.max_time is not None and (self.max_time is None or other.max_time > self.max_time):
            self.max_time = other.max_time


@dataclass(slots=True)
class Evaluation:
    rows: int
    outcomes: list[tuple[RowCheck, RowOutcome]]
    measures: Measures
    failing: Positions | None  # rows failing an error-level row check (None: unknown order)
    failed_rows: int
    notes: list[NotChecked] = field(default_factory=list)
    # Backend handle for splitting the frame (Spark: the failing condition).
    extra: Any = None


def make_plan(
    contract: Contract, spec: TableSpec, *, samples: int = 5, unmappable: Unmappable = "note"
) -> Plan:
    from contracts.rules import compile_rule

    rules = tuple(
        RuleSpec(
            rule.name,
            rule.expression,
            rule.severity,
            compile_columns(rule.expression),
            frozenset(".".join(p) for p in compile_rule(rule.expression).fields),
        )
        for rule in contract.rules
    )
    nulls: list[str] = []
    repeats: list[tuple[str, ...]] = []
    allowed: list[tuple[str, str, tuple[Any, ...]]] = []
    for q in contract.quality:
        cols = tuple(".".join(_path(c)) for c in q.columns)
        if q.type is QualityType.NULL_RATE and cols:
            nulls.append(cols[0])
        elif q.type is QualityType.DUPLICATE_RATE:
            repeats.append(cols)  # () : whole rows
        elif q.type is QualityType.ALLOWED_VALUES and cols:
            allowed.append((q.name, cols[0], tuple(q.values)))
    fresh = contract.sla.freshness if contract.sla else None
    return Plan(
        contract=contract,
        spec=spec,
        rules=rules,
        null_columns=tuple(dict.fromkeys(nulls)),
        repeat_keys=tuple(dict.fromkeys(repeats)),
        allowed=tuple(allowed),
        freshness=".".join(_path(fresh.field)) if fresh else None,
        samples=samples,
        unmappable=unmappable,
    )


def field_columns(spec: TableSpec, name: str, columns: Sequence[str]) -> list[str]:
    """The columns among `columns` that hold the field `name`, for quality measures. An
    object with declared properties is split into its dotted columns (and one of its name
    for values that are not objects): it is null where all of them are, and compared by
    all of them. Any other field is its own column."""
    if name not in spec.split:
        return [name] if name in columns else []
    return [c for c in columns if c == name or c.startswith(name + ".")]


def _path(text: str) -> tuple[str, ...]:
    from contracts import parse_path

    return parse_path(text)


# -- names and messages of schema checks (the same on every backend) ------------------------


def check_name(column: str, check: str) -> str:
    return f"{column}: {check}"


def type_check(c: ColumnSpec) -> RowCheck:
    kind = c.kind + (f" ({c.temporal} or a datetime)" if c.temporal else "")
    return RowCheck(
        "schema",
        check_name(c.name, "type"),
        "type",
        c.name,
        Severity.ERROR,
        f"value is not of type {kind}",
    )


def required_check(c: ColumnSpec) -> RowCheck:
    return RowCheck(
        "schema",
        check_name(c.name, "required"),
        "required",
        c.name,
        Severity.ERROR,
        "required field: the column is missing",
    )


def nullable_check(c: ColumnSpec) -> RowCheck:
    return RowCheck(
        "schema",
        check_name(c.name, "not_null"),
        "not_null",
        c.name,
        Severity.ERROR,
        "value is null (the field is required and not nullable)",
    )


def present_check(c: ColumnSpec) -> RowCheck:
    return RowCheck(
        "schema",
        check_name(c.name, "required"),
        "required",
        c.name,
        Severity.ERROR,
        f"required in {c.present_with!r}, which is present, but the value is null",
    )


def value_check(c: ColumnSpec, check: ColumnCheck) -> RowCheck:
    return RowCheck(
        "schema",
        check_name(c.name, check.name),
        check.name,
        c.name,
        Severity.ERROR,
        f"value is not {check.describe()}",
        row_wise=check.kind == "items",
    )


def unique_check(columns: Sequence[str]) -> RowCheck:
    label = columns[0] if len(columns) == 1 else "(" + ", ".join(columns) + ")"
    what = "primary key" if len(columns) > 1 else "unique field"
    return RowCheck(
        "schema",
        check_name(label, "unique"),
        "unique",
        ",".join(columns),
        Severity.ERROR,
        f"{what}: value repeats an earlier row",
    )


def undeclared_check(column: str, parent: str) -> RowCheck:
    where = f"object {parent!r}" if parent else "the record"
    return RowCheck(
        "schema",
        check_name(column, "additionalProperties"),
        "additionalProperties",
        column,
        Severity.ERROR,
        f"undeclared field: {where} allows no additional properties",
    )


def rule_check(rule: RuleSpec, row_wise: bool) -> RowCheck:
    return RowCheck(
        "rule",
        rule.name,
        "rule",
        None,
        rule.severity,
        f"rule is not true: {rule.expression}",
        row_wise=row_wise,
    )


def absent_container_note(c: ColumnSpec) -> NotChecked:
    what = "an array" if c.kind == "array" else "an object without declared properties"
    return NotChecked(c.name, f"{what}, and the table has no such column: not checked")


def unique_keys(spec: TableSpec) -> list[tuple[str, ...]]:
    """Row-level uniqueness: each unique column, and a composite primary key."""
    keys: list[tuple[str, ...]] = [(c.name,) for c in spec.columns if c.unique]
    if len(spec.primary_key) > 1:
        keys.append(tuple(spec.primary_key))
    return keys


def pii_redact(spec: TableSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` as a sample may show it: PII columns redacted, and PII fields inside a column's
    nested value (a list of objects, a struct), as the record validator's samples are."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if spec.is_pii(key):
            out[key] = REDACTED
            continue
        inner = [tuple(p[len(key) + 1 :].split(".")) for p in spec.pii if p.startswith(key + ".")]
        if inner:
            value = _redact_inside(plain_value(value, nulls=True), inner)  # numpy arrays too
        out[key] = value
    return out


def _redact_inside(value: Any, paths: list[tuple[str, ...]]) -> Any:
    """`value` with the fields at `paths` (below it) redacted. Only objects, and lists of
    objects, are looked into: a value of another shape on the way may quote those fields
    (a map cell as key-value pairs, JSON text), so it is redacted whole."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list) and all(v is None or isinstance(v, Mapping) for v in value):
        return [_redact_inside(v, paths) for v in value]
    if not isinstance(value, Mapping):
        return REDACTED
    out: dict[Any, Any] = {}
    for key, item in value.items():
        deeper = [p[1:] for p in paths if p[0] == key]
        if any(not p for p in deeper):
            out[key] = REDACTED
        else:
            out[key] = _redact_inside(item, deeper) if deeper else item
    return out
