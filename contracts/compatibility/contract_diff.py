"""Changes a schema registry cannot see: semantics, rules, quality, SLAs, ownership.

Each change says which side must act (see `Breaks`): a tightened promise is a new duty for
producers; a loosened one takes something away from consumers. Where the direction cannot
be known (a rule rewritten, a unit changed) both sides must act.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from contracts.compatibility.report import Breaks
from contracts.durations import format_duration
from contracts.model import (
    SLA,
    Classification,
    Contract,
    FieldSemantics,
    QualityCheck,
    Rule,
    Severity,
    Status,
    Threshold,
)
from contracts.paths import parse_path, pointer_segment

__all__ = ["ContractChange", "ContractChangeType", "diff_contracts"]


class ContractChangeType(enum.StrEnum):
    FIELD_UNIT_CHANGED = "FIELD_UNIT_CHANGED"
    FIELD_CLASSIFICATION_ESCALATED = "FIELD_CLASSIFICATION_ESCALATED"
    FIELD_CLASSIFICATION_RELAXED = "FIELD_CLASSIFICATION_RELAXED"
    FIELD_PRIMARY_KEY_CHANGED = "FIELD_PRIMARY_KEY_CHANGED"
    FIELD_UNIQUE_ADDED = "FIELD_UNIQUE_ADDED"
    FIELD_UNIQUE_REMOVED = "FIELD_UNIQUE_REMOVED"
    FIELD_DESCRIPTION_CHANGED = "FIELD_DESCRIPTION_CHANGED"
    FIELD_EXAMPLES_CHANGED = "FIELD_EXAMPLES_CHANGED"
    RULE_ADDED = "RULE_ADDED"
    RULE_REMOVED = "RULE_REMOVED"
    RULE_CHANGED = "RULE_CHANGED"
    RULE_SEVERITY_RAISED = "RULE_SEVERITY_RAISED"
    RULE_SEVERITY_LOWERED = "RULE_SEVERITY_LOWERED"
    QUALITY_CHECK_ADDED = "QUALITY_CHECK_ADDED"
    QUALITY_CHECK_REMOVED = "QUALITY_CHECK_REMOVED"
    QUALITY_CHECK_CHANGED = "QUALITY_CHECK_CHANGED"
    QUALITY_THRESHOLD_TIGHTENED = "QUALITY_THRESHOLD_TIGHTENED"
    QUALITY_THRESHOLD_LOOSENED = "QUALITY_THRESHOLD_LOOSENED"
    SLA_ADDED = "SLA_ADDED"
    SLA_REMOVED = "SLA_REMOVED"
    SLA_TIGHTENED = "SLA_TIGHTENED"
    SLA_LOOSENED = "SLA_LOOSENED"
    SLA_CHANGED = "SLA_CHANGED"
    OWNER_CHANGED = "OWNER_CHANGED"
    CONTACTS_CHANGED = "CONTACTS_CHANGED"
    STATUS_CHANGED = "STATUS_CHANGED"
    DESCRIPTION_CHANGED = "DESCRIPTION_CHANGED"
    TAGS_CHANGED = "TAGS_CHANGED"
    COMPATIBILITY_CHANGED = "COMPATIBILITY_CHANGED"


T = ContractChangeType


@dataclass(frozen=True, slots=True)
class ContractChange:
    type: ContractChangeType
    path: str  # JSON pointer into the contract document
    breaks: Breaks
    message: str
    fields: tuple[tuple[str, ...], ...] = ()  # record fields concerned; empty = the dataset


def diff_contracts(old: Contract, new: Contract) -> list[ContractChange]:
    """Every contract-layer change from `old` to `new` (the schema is diffed elsewhere)."""
    return [
        *_metadata(old, new),
        *_semantics(old.semantics, new.semantics),
        *_rules(old.rules, new.rules),
        *_quality(old.quality, new.quality),
        *_sla(old.sla or SLA(), new.sla or SLA()),
    ]


# -- metadata -----------------------------------------------------------------------------


def _metadata(old: Contract, new: Contract) -> Iterator[ContractChange]:
    if old.owner.team != new.owner.team:
        yield ContractChange(
            T.OWNER_CHANGED,
            "/owner/team",
            Breaks.NONE,
            f"owner team {old.owner.team!r} -> {new.owner.team!r}: breach alerts and "
            "approvals move to the new team",
        )
    if old.owner.contacts != new.owner.contacts:
        yield ContractChange(T.CONTACTS_CHANGED, "/owner/contacts", Breaks.NONE, "contacts changed")
    if old.status != new.status:
        retiring = new.status in (Status.DEPRECATED, Status.RETIRED)
        yield ContractChange(
            T.STATUS_CHANGED,
            "/status",
            Breaks.NONE,
            f"status {old.status.value} -> {new.status.value}"
            + ("; consumers should plan to migrate" if retiring else ""),
        )
    if old.description != new.description:
        yield ContractChange(
            T.DESCRIPTION_CHANGED, "/description", Breaks.NONE, "description changed"
        )
    if set(old.tags) != set(new.tags):
        added, removed = set(new.tags) - set(old.tags), set(old.tags) - set(new.tags)
        yield ContractChange(
            T.TAGS_CHANGED,
            "/tags",
            Breaks.NONE,
            f"tags added {sorted(added)}, removed {sorted(removed)}",
        )
    if old.compatibility != new.compatibility:
        yield ContractChange(
            T.COMPATIBILITY_CHANGED,
            "/compatibility",
            Breaks.NONE,
            f"compatibility {old.compatibility.mode.value}/{old.compatibility.policy.value} -> "
            f"{new.compatibility.mode.value}/{new.compatibility.policy.value}",
        )


# -- semantics ----------------------------------------------------------------------------

_CLASSIFICATION_RANK = {
    None: 0,
    Classification.PUBLIC: 0,
    Classification.INTERNAL: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.RESTRICTED: 3,
    Classification.SENSITIVE: 4,
    Classification.PII: 4,
}


def _by_field(
    semantics: Mapping[str, FieldSemantics],
) -> dict[tuple[str, ...], tuple[str, FieldSemantics]]:
    return {parse_path(key): (key, value) for key, value in semantics.items()}


def _semantics(
    old: Mapping[str, FieldSemantics], new: Mapping[str, FieldSemantics]
) -> Iterator[ContractChange]:
    before, after = _by_field(old), _by_field(new)
    empty = FieldSemantics()
    for path in sorted(before.keys() | after.keys()):
        key, a = before.get(path, (None, empty))
        new_key, b = after.get(path, (None, empty))
        pointer = f"/semantics/{pointer_segment(new_key or key or '')}"
        name = ".".join(path)
        fields = (path,)
        if a.unit != b.unit:
            yield ContractChange(
                T.FIELD_UNIT_CHANGED,
                f"{pointer}/unit",
                Breaks.BOTH,
                f"unit of {name} {a.unit!r} -> {b.unit!r}: the same numbers now mean something "
                "else to readers and writers alike",
                fields,
            )
        rank_a, rank_b = (
            _CLASSIFICATION_RANK[a.classification],
            _CLASSIFICATION_RANK[b.classification],
        )
        if a.classification != b.classification:
            label_a = a.classification.value if a.classification else "unclassified"
            label_b = b.classification.value if b.classification else "unclassified"
            if rank_b > rank_a or (rank_b == rank_a and b.classification is Classification.PII):
                yield ContractChange(
                    T.FIELD_CLASSIFICATION_ESCALATED,
                    f"{pointer}/classification",
                    Breaks.CONSUMERS,
                    f"{name} is now {label_b} (was {label_a}): consumers that store or share it "
                    "must handle it as such",
                    fields,
                )
            else:
                yield ContractChange(
                    T.FIELD_CLASSIFICATION_RELAXED,
                    f"{pointer}/classification",
                    Breaks.NONE,
                    f"{name} is now {label_b} (was {label_a})",
                    fields,
                )
        if a.primary_key != b.primary_key:
            yield ContractChange(
                T.FIELD_PRIMARY_KEY_CHANGED,
                f"{pointer}/primary_key",
                Breaks.BOTH,
                f"{name} {'became' if b.primary_key else 'is no longer'} part of the primary key: "
                "deduplication and joins change",
                fields,
            )
        if a.unique != b.unique:
            yield ContractChange(
                T.FIELD_UNIQUE_ADDED if b.unique else T.FIELD_UNIQUE_REMOVED,
                f"{pointer}/unique",
                Breaks.PRODUCERS if b.unique else Breaks.CONSUMERS,
                f"{name} {'must now be' if b.unique else 'is no longer promised to be'} unique",
                fields,
            )
        if a.description != b.description:
            yield ContractChange(
                T.FIELD_DESCRIPTION_CHANGED,
                f"{pointer}/description",
                Breaks.NONE,
                f"description of {name} changed",
                fields,
            )
        if a.examples != b.examples:
            yield ContractChange(
                T.FIELD_EXAMPLES_CHANGED,
                f"{pointer}/examples",
                Breaks.NONE,
                f"examples of {name} changed",
                fields,
            )


# -- rules --------------------------------------------------------------------------------


def _rule_fields(*rules: Rule) -> tuple[tuple[str, ...], ...]:
    from contracts.rules import RuleSyntaxError, compile_rule

    found: set[tuple[str, ...]] = set()
    for rule in rules:
        try:
            found |= compile_rule(rule.expression).fields
        except RuleSyntaxError:
            continue
    return tuple(sorted(found))


def _rules(old: tuple[Rule, ...], new: tuple[Rule, ...]) -> Iterator[ContractChange]:
    before = {r.name: (i, r) for i, r in enumerate(old)}
    after = {r.name: (i, r) for i, r in enumerate(new)}
    for name in sorted(before.keys() - after.keys()):
        i, rule = before[name]
        yield ContractChange(
            T.RULE_REMOVED,
            f"/rules/{i}",
            # A dropped warning never stopped data, so nobody relied on it being enforced.
            Breaks.CONSUMERS if rule.severity is Severity.ERROR else Breaks.NONE,
            f"rule {name!r} removed: consumers lose the guarantee `{rule.expression}`",
            _rule_fields(rule),
        )
    for name in sorted(after.keys() - before.keys()):
        i, rule = after[name]
        yield ContractChange(
            T.RULE_ADDED,
            f"/rules/{i}",
            Breaks.PRODUCERS if rule.severity is Severity.ERROR else Breaks.NONE,
            f"rule {name!r} added: existing data may fail `{rule.expression}`",
            _rule_fields(rule),
        )
    for name in sorted(before.keys() & after.keys()):
        (_, a), (i, b) = before[name], after[name]
        if a.expression != b.expression:
            yield ContractChange(
                T.RULE_CHANGED,
                f"/rules/{i}/expression",
                Breaks.BOTH if Severity.ERROR in (a.severity, b.severity) else Breaks.NONE,
                f"rule {name!r} changed from `{a.expression}` to `{b.expression}`",
                _rule_fields(a, b),
            )
        if a.severity != b.severity:
            raised = b.severity is Severity.ERROR
            yield ContractChange(
                T.RULE_SEVERITY_RAISED if raised else T.RULE_SEVERITY_LOWERED,
                f"/rules/{i}/severity",
                Breaks.PRODUCERS if raised else Breaks.CONSUMERS,
                f"rule {name!r} severity {a.severity.value} -> {b.severity.value}",
                _rule_fields(b),
            )


# -- thresholds as intervals ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Interval:
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    inverted: bool = False  # must_not_be / must_not_be_between: the complement

    def within(self, other: _Interval) -> bool:
        """Whether every value this interval accepts, `other` accepts too."""
        if self.inverted or other.inverted:
            return self == other
        low_ok = self.low > other.low or (
            self.low == other.low and (self.low_open or not other.low_open)
        )
        high_ok = self.high < other.high or (
            self.high == other.high and (self.high_open or not other.high_open)
        )
        return low_ok and high_ok


def _interval(t: Threshold) -> _Interval:
    v = t.value
    inf = math.inf
    match t.operator:
        case "must_be":
            return _Interval(float(v), float(v))  # type: ignore[arg-type]
        case "must_not_be":
            return _Interval(float(v), float(v), inverted=True)  # type: ignore[arg-type]
        case "must_be_greater_than":
            return _Interval(float(v), inf, low_open=True)  # type: ignore[arg-type]
        case "must_be_greater_or_equal_to":
            return _Interval(float(v), inf)  # type: ignore[arg-type]
        case "must_be_less_than":
            return _Interval(-inf, float(v), high_open=True)  # type: ignore[arg-type]
        case "must_be_less_or_equal_to":
            return _Interval(-inf, float(v))  # type: ignore[arg-type]
        case "must_be_between":
            low, high = v  # type: ignore[misc]
            return _Interval(float(low), float(high))
        case _:
            low, high = v  # type: ignore[misc]
            return _Interval(float(low), float(high), inverted=True)


def _quality(
    old: tuple[QualityCheck, ...], new: tuple[QualityCheck, ...]
) -> Iterator[ContractChange]:
    before = {q.name: (i, q) for i, q in enumerate(old)}
    after = {q.name: (i, q) for i, q in enumerate(new)}

    def fields(q: QualityCheck) -> tuple[tuple[str, ...], ...]:
        return tuple(parse_path(c) for c in q.columns)

    def enforced_error(q: QualityCheck) -> bool:
        return q.enforced and q.severity is Severity.ERROR

    for name in sorted(before.keys() - after.keys()):
        i, q = before[name]
        yield ContractChange(
            T.QUALITY_CHECK_REMOVED,
            f"/quality/{i}",
            Breaks.CONSUMERS if enforced_error(q) else Breaks.NONE,
            f"quality check {name!r} removed",
            fields(q),
        )
    for name in sorted(after.keys() - before.keys()):
        i, q = after[name]
        yield ContractChange(
            T.QUALITY_CHECK_ADDED,
            f"/quality/{i}",
            Breaks.PRODUCERS if enforced_error(q) else Breaks.NONE,
            f"quality check {name!r} added ({q.type.value}"
            + (f" {q.threshold.describe()})" if q.threshold else ")"),
            fields(q),
        )
    for name in sorted(before.keys() & after.keys()):
        (_, a), (i, b) = before[name], after[name]
        matters = enforced_error(a) or enforced_error(b)
        if (a.type, a.columns, a.values, a.engine, a.implementation) != (
            b.type,
            b.columns,
            b.values,
            b.engine,
            b.implementation,
        ):
            yield ContractChange(
                T.QUALITY_CHECK_CHANGED,
                f"/quality/{i}",
                Breaks.BOTH if matters else Breaks.NONE,
                f"quality check {name!r} now measures something else",
                fields(a) + fields(b),
            )
            continue
        if a.threshold != b.threshold and a.threshold and b.threshold:
            yield _bound_change(
                f"/quality/{i}",
                f"quality check {name!r}: {a.threshold.describe()} -> {b.threshold.describe()}",
                _interval(a.threshold),
                _interval(b.threshold),
                (
                    T.QUALITY_THRESHOLD_TIGHTENED,
                    T.QUALITY_THRESHOLD_LOOSENED,
                    T.QUALITY_CHECK_CHANGED,
                ),
                fields(b),
                matters,
            )
        if a.severity != b.severity:
            raised = b.severity is Severity.ERROR
            yield ContractChange(
                T.QUALITY_THRESHOLD_TIGHTENED if raised else T.QUALITY_THRESHOLD_LOOSENED,
                f"/quality/{i}/severity",
                Breaks.PRODUCERS if raised else Breaks.CONSUMERS,
                f"quality check {name!r} severity {a.severity.value} -> {b.severity.value}",
                fields(b),
            )


def _bound_change(
    path: str,
    message: str,
    old: _Interval,
    new: _Interval,
    types: tuple[ContractChangeType, ContractChangeType, ContractChangeType],
    fields: tuple[tuple[str, ...], ...] = (),
    matters: bool = True,
) -> ContractChange:
    tightened, loosened, changed = types
    if new.within(old):
        kind, breaks = tightened, Breaks.PRODUCERS
    elif old.within(new):
        kind, breaks = loosened, Breaks.CONSUMERS
    else:
        kind, breaks = changed, Breaks.BOTH
    return ContractChange(kind, path, breaks if matters else Breaks.NONE, message, fields)


# -- SLAs ---------------------------------------------------------------------------------


def _at_most(value: float) -> _Interval:
    return _Interval(-math.inf, value)


def _at_least(value: float) -> _Interval:
    return _Interval(value, math.inf)


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


_SLA_TYPES = (T.SLA_TIGHTENED, T.SLA_LOOSENED, T.SLA_CHANGED)


def _sla(old: SLA, new: SLA) -> Iterator[ContractChange]:
    yield from _presence("/sla/freshness", "freshness SLA", old.freshness, new.freshness)
    if old.freshness and new.freshness:
        a, b = old.freshness, new.freshness
        if a.field != b.field:
            yield ContractChange(
                T.SLA_CHANGED,
                "/sla/freshness/field",
                Breaks.BOTH,
                f"freshness is now measured on {b.field} (was {a.field})",
                (parse_path(a.field), parse_path(b.field)),
            )
        if a.max_delay != b.max_delay:
            yield _bound_change(
                "/sla/freshness/max_delay",
                f"freshness max delay {format_duration(a.max_delay)} -> "
                f"{format_duration(b.max_delay)}",
                _at_most(_seconds(a.max_delay)),
                _at_most(_seconds(b.max_delay)),
                _SLA_TYPES,
            )
    yield from _presence("/sla/volume", "volume SLA", old.volume, new.volume)
    if old.volume and new.volume:
        a_vol, b_vol = old.volume, new.volume
        if a_vol.window != b_vol.window:
            yield ContractChange(
                T.SLA_CHANGED,
                "/sla/volume/window",
                Breaks.BOTH,
                f"volume window {format_duration(a_vol.window)} -> "
                f"{format_duration(b_vol.window)}: bounds no longer compare",
            )
        elif (a_vol.min, a_vol.max) != (b_vol.min, b_vol.max):
            yield _bound_change(
                "/sla/volume",
                f"volume per {format_duration(b_vol.window)}: "
                f"[{a_vol.min}, {a_vol.max}] -> [{b_vol.min}, {b_vol.max}]",
                _Interval(a_vol.min or 0, math.inf if a_vol.max is None else a_vol.max),
                _Interval(b_vol.min or 0, math.inf if b_vol.max is None else b_vol.max),
                _SLA_TYPES,
            )
    yield from _scalar_sla(
        "/sla/max_breach_rate",
        "max breach rate",
        old.max_breach_rate,
        new.max_breach_rate,
        _at_most,
    )
    yield from _scalar_sla(
        "/sla/availability", "availability", old.availability, new.availability, _at_least
    )
    yield from _scalar_sla(
        "/sla/retention",
        "retention",
        _seconds(old.retention) if old.retention else None,
        _seconds(new.retention) if new.retention else None,
        _at_least,
    )


def _presence(path: str, what: str, old: Any, new: Any) -> Iterator[ContractChange]:
    if old is None and new is not None:
        yield ContractChange(
            T.SLA_ADDED, path, Breaks.PRODUCERS, f"{what} added: a new duty for producers"
        )
    elif old is not None and new is None:
        yield ContractChange(
            T.SLA_REMOVED, path, Breaks.CONSUMERS, f"{what} removed: consumers lose it"
        )


def _scalar_sla(
    path: str, what: str, old: float | None, new: float | None, accepted: Any
) -> Iterator[ContractChange]:
    yield from _presence(path, what, old, new)
    if old is not None and new is not None and old != new:
        yield _bound_change(
            path, f"{what} {old:g} -> {new:g}", accepted(old), accepted(new), _SLA_TYPES
        )
