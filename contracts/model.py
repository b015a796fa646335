"""Typed model of a data contract.

`schemas/contract.schema.json` decides what a valid document is; these classes are the
validated document in typed form. Build them with `contracts.load_*` (which validates), not
by hand from untrusted input.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from contracts.durations import format_duration, parse_duration
from contracts.paths import FieldPath, parse_path

__all__ = [
    "SLA",
    "Classification",
    "CompatibilityConfig",
    "CompatibilityMode",
    "Contact",
    "Contract",
    "FieldSemantics",
    "Freshness",
    "Owner",
    "Policy",
    "QualityCheck",
    "QualityType",
    "Rule",
    "Severity",
    "Status",
    "Threshold",
    "Volume",
]


class Status(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Classification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"
    PII = "pii"
    SENSITIVE = "sensitive"


class CompatibilityMode(enum.StrEnum):
    NONE = "NONE"
    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def backward(self) -> bool:
        """New readers must read old data (consumers upgrade first)."""
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def forward(self) -> bool:
        """Old readers must read new data (producers upgrade first)."""
        return self.value.startswith(("FORWARD", "FULL"))


class Policy(enum.StrEnum):
    """How open content models are judged (Confluent's STRICT / LENIENT)."""

    STRICT = "STRICT"
    LENIENT = "LENIENT"


class QualityType(enum.StrEnum):
    NULL_RATE = "null_rate"
    DUPLICATE_RATE = "duplicate_rate"
    ROW_COUNT = "row_count"
    ALLOWED_VALUES = "allowed_values"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Contact:
    name: str | None = None
    email: str | None = None
    slack: str | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    team: str
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class FieldSemantics:
    description: str | None = None
    unit: str | None = None
    classification: Classification | None = None
    primary_key: bool = False
    unique: bool = False
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    expression: str
    severity: Severity = Severity.ERROR
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    """One ODCS-style operator and its operand, e.g. ``must_be_less_than 0.01``."""

    operator: str
    value: float | tuple[float, float]

    def holds(self, measured: float) -> bool:
        v = self.value
        match self.operator:
            case "must_be":
                return measured == v
            case "must_not_be":
                return measured != v
            case "must_be_greater_than":
                return measured > v  # type: ignore[operator]
            case "must_be_greater_or_equal_to":
                return measured >= v  # type: ignore[operator]
            case "must_be_less_than":
                return measured < v  # type: ignore[operator]
            case "must_be_less_or_equal_to":
                return measured <= v  # type: ignore[operator]
            case "must_be_between":
                low, high = v  # type: ignore[misc]
                return bool(low <= measured <= high)
            case "must_not_be_between":
                low, high = v  # type: ignore[misc]
                return not low <= measured <= high
        raise ValueError(f"unknown threshold operator {self.operator!r}")

    def describe(self) -> str:
        return f"{self.operator.replace('_', ' ')} {self.value}"


THRESHOLD_OPERATORS = (
    "must_be",
    "must_not_be",
    "must_be_greater_than",
    "must_be_greater_or_equal_to",
    "must_be_less_than",
    "must_be_less_or_equal_to",
    "must_be_between",
    "must_not_be_between",
)


@dataclass(frozen=True, slots=True)
class QualityCheck:
    name: str
    type: QualityType
    threshold: Threshold | None = None  # None only for custom checks
    field: str | None = None
    fields: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    severity: Severity = Severity.ERROR
    description: str | None = None
    engine: str | None = None
    implementation: Any = None

    @property
    def enforced(self) -> bool:
        """Custom checks are carried along for their engine; Accord does not run them."""
        return self.type is not QualityType.CUSTOM

    @property
    def columns(self) -> tuple[str, ...]:
        return self.fields or ((self.field,) if self.field else ())


@dataclass(frozen=True, slots=True)
class Freshness:
    field: str
    max_delay: timedelta


@dataclass(frozen=True, slots=True)
class Volume:
    window: timedelta
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True)
class SLA:
    freshness: Freshness | None = None
    volume: Volume | None = None
    max_breach_rate: float | None = None
    availability: float | None = None
    retention: timedelta | None = None


@dataclass(frozen=True, slots=True)
class CompatibilityConfig:
    mode: CompatibilityMode = CompatibilityMode.BACKWARD
    policy: Policy = Policy.STRICT


@dataclass(frozen=True, slots=True)
class Contract:
    """One version of a data contract."""

    name: str
    owner: Owner
    schema: Mapping[str, Any] | bool
    description: str | None = None
    tags: tuple[str, ...] = ()
    status: Status = Status.ACTIVE
    semantics: Mapping[str, FieldSemantics] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    quality: tuple[QualityCheck, ...] = ()
    sla: SLA | None = None
    compatibility: CompatibilityConfig = field(default_factory=CompatibilityConfig)
    # Vendor extensions kept verbatim, keyed by vendor (``odcs``: what an ODCS import could
    # not map). Accord does not interpret them.
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Contract:
        """Build from a document that already passed `schemas/contract.schema.json`."""
        return _from_document(doc)

    def to_document(self) -> dict[str, Any]:
        """The canonical document: defaults filled in, durations in ISO 8601."""
        return _to_document(self)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical document; equal content gives an equal fingerprint."""
        return hashlib.sha256(canonical_json(self.to_document()).encode()).hexdigest()

    def semantics_for(self, path: FieldPath) -> FieldSemantics | None:
        for key, value in self.semantics.items():
            if parse_path(key) == path:
                return value
        return None

    @property
    def pii_fields(self) -> tuple[FieldPath, ...]:
        return tuple(
            parse_path(k)
            for k, s in self.semantics.items()
            if s.classification in (Classification.PII, Classification.SENSITIVE)
        )


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace: the form fingerprints are taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _from_document(doc: Mapping[str, Any]) -> Contract:
    owner = doc["owner"]
    sla = doc.get("sla")
    compat = doc.get("compatibility", {})
    if isinstance(compat, str):
        compat = {"mode": compat}
    return Contract(
        name=doc["name"],
        description=doc.get("description"),
        owner=Owner(
            team=owner["team"],
            contacts=tuple(Contact(**c) for c in owner.get("contacts", ())),
        ),
        tags=tuple(doc.get("tags", ())),
        status=Status(doc.get("status", Status.ACTIVE)),
        schema=doc["schema"],
        semantics={
            key: FieldSemantics(
                description=s.get("description"),
                unit=s.get("unit"),
                classification=Classification(s["classification"])
                if "classification" in s
                else None,
                primary_key=s.get("primary_key", False),
                unique=s.get("unique", False),
                examples=tuple(s.get("examples", ())),
            )
            for key, s in (doc.get("semantics") or {}).items()
        },
        rules=tuple(
            Rule(
                name=r["name"],
                expression=r["expression"],
                severity=Severity(r.get("severity", Severity.ERROR)),
                description=r.get("description"),
            )
            for r in doc.get("rules", ())
        ),
        quality=tuple(_quality_from_document(q) for q in doc.get("quality", ())),
        sla=_sla_from_document(sla) if sla is not None else None,
        compatibility=CompatibilityConfig(
            mode=CompatibilityMode(compat.get("mode", CompatibilityMode.BACKWARD)),
            policy=Policy(compat.get("policy", Policy.STRICT)),
        ),
        extensions=dict(doc.get("extensions") or {}),
    )


def _quality_from_document(q: Mapping[str, Any]) -> QualityCheck:
    threshold = None
    for op in THRESHOLD_OPERATORS:
        if op in q:
            value = q[op]
            threshold = Threshold(op, tuple(value) if isinstance(value, list) else value)
    return QualityCheck(
        name=q["name"],
        type=QualityType(q["type"]),
        threshold=threshold,
        field=q.get("field"),
        fields=tuple(q.get("fields", ())),
        values=tuple(q.get("values", ())),
        severity=Severity(q.get("severity", Severity.ERROR)),
        description=q.get("description"),
        engine=q.get("engine"),
        implementation=q.get("implementation"),
    )


def _sla_from_document(s: Mapping[str, Any]) -> SLA:
    fresh, volume = s.get("freshness"), s.get("volume")
    return SLA(
        freshness=Freshness(fresh["field"], parse_duration(fresh["max_delay"])) if fresh else None,
        volume=Volume(parse_duration(volume["window"]), volume.get("min"), volume.get("max"))
        if volume
        else None,
        max_breach_rate=s.get("max_breach_rate"),
        availability=s.get("availability"),
        retention=parse_duration(s["retention"]) if "retention" in s else None,
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != () and v != [] and v != {}}


def _to_document(c: Contract) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": c.name,
        "description": c.description,
        "owner": _drop_none(
            {
                "team": c.owner.team,
                "contacts": [
                    _drop_none({"name": x.name, "email": x.email, "slack": x.slack, "role": x.role})
                    for x in c.owner.contacts
                ],
            }
        ),
        "tags": list(c.tags),
        "status": c.status.value,
        "schema": c.schema,
        "semantics": {
            key: _drop_none(
                {
                    "description": s.description,
                    "unit": s.unit,
                    "classification": s.classification.value if s.classification else None,
                    "primary_key": s.primary_key or None,
                    "unique": s.unique or None,
                    "examples": list(s.examples),
                }
            )
            for key, s in c.semantics.items()
        },
        "rules": [
            _drop_none(
                {
                    "name": r.name,
                    "expression": r.expression,
                    "severity": r.severity.value,
                    "description": r.description,
                }
            )
            for r in c.rules
        ],
        "quality": [_quality_to_document(q) for q in c.quality],
        "sla": _sla_to_document(c.sla) if c.sla else None,
        "compatibility": {
            "mode": c.compatibility.mode.value,
            "policy": c.compatibility.policy.value,
        },
        "extensions": dict(c.extensions),
    }
    # An empty schema ({} or true) is meaningful: it accepts every record.
    return {**_drop_none(doc), "schema": c.schema}


def _quality_to_document(q: QualityCheck) -> dict[str, Any]:
    doc = _drop_none(
        {
            "name": q.name,
            "description": q.description,
            "type": q.type.value,
            "field": q.field,
            "fields": list(q.fields),
            "values": list(q.values),
            "severity": q.severity.value,
            "engine": q.engine,
            "implementation": q.implementation,
        }
    )
    if q.threshold is not None:
        value = q.threshold.value
        doc[q.threshold.operator] = list(value) if isinstance(value, tuple) else value
    return doc


def _sla_to_document(s: SLA) -> dict[str, Any]:
    return _drop_none(
        {
            "freshness": {
                "field": s.freshness.field,
                "max_delay": format_duration(s.freshness.max_delay),
            }
            if s.freshness
            else None,
            "volume": _drop_none(
                {
                    "window": format_duration(s.volume.window),
                    "min": s.volume.min,
                    "max": s.volume.max,
                }
            )
            if s.volume
            else None,
            "max_breach_rate": s.max_breach_rate,
            "availability": s.availability,
            "retention": format_duration(s.retention) if s.retention else None,
        }
    )
