"""One verdict from both layers: is a candidate compatible with its history, and who cares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from contracts.compatibility.contract_diff import diff_contracts
from contracts.compatibility.report import (
    AffectedConsumer,
    Breaks,
    Change,
    CompatibilityReport,
    Layer,
    breaks_mode,
)
from contracts.compatibility.schema_diff import diff_schemas, load_schema
from contracts.compatibility.schema_diff_model import Node
from contracts.consumers import Consumer
from contracts.model import CompatibilityMode, Contract, Policy

__all__ = ["check_compatibility", "check_schemas", "contract_changes", "schema_changes"]

Versioned = tuple[int, Contract]
FieldPath = tuple[str, ...]
Located = tuple[Change, tuple[FieldPath, ...]]  # a change and the record fields it is on

# Keywords whose next segment names a property of the object the pointer is at.
_NAMING = {"properties", "required", "dependencies", "dependentRequired", "dependentSchemas"}
_TRANSPARENT = {"items", "additionalItems", "prefixItems", "unevaluatedItems", "contains"}


def _field_of(confluent_path: str) -> FieldPath | None:
    """The record field a schema change sits on; None when it is not one field's (``$defs``)."""
    segments = [s for s in confluent_path.removeprefix("#").split("/") if s]
    path: list[str] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        if seg in _NAMING and i + 1 < len(segments):
            path.append(segments[i + 1].replace("~1", "/").replace("~0", "~"))
            i += 2
        elif seg in _TRANSPARENT or (seg.isascii() and seg.isdigit()):
            i += 1
        elif seg in ("$defs", "definitions"):
            return None
        else:
            break
    return tuple(path)


def _pointer(prefix: str, confluent_path: str) -> str:
    rest = confluent_path.removeprefix("#").rstrip("/")
    return prefix + rest if prefix or rest else ""


SchemaLike = Mapping[str, Any] | bool | Node


def schema_changes(
    old: SchemaLike, new: SchemaLike, policy: Policy, prefix: str = ""
) -> list[Located]:
    """Schema-layer changes from `old` to `new`, each with which side it breaks.

    Reading old data with the new schema finds what breaks producers; reading new data with
    the old schema (the reverse diff) finds what breaks consumers. A change found both ways,
    at the same place, breaks both.
    """
    forward = diff_schemas(old, new)
    breaks: dict[tuple[str, str], Breaks] = {
        (c.type.value, c.path): Breaks.NONE if c.is_compatible(policy) else Breaks.PRODUCERS
        for c in forward
    }
    at_path = {c.path: (c.type.value, c.path) for c in forward}
    for c in diff_schemas(new, old):
        if not c.is_compatible(policy):
            key = at_path.get(c.path, (c.type.value, c.path))
            breaks[key] = breaks.get(key, Breaks.NONE) | Breaks.CONSUMERS
    seen_forward = set(at_path.values())
    out: list[Located] = []
    for (kind, path), side in breaks.items():
        field = _field_of(path)
        message = (
            f"{kind.replace('_', ' ').lower()} at {'.'.join(field) if field else 'the schema'}"
        )
        if (kind, path) not in seen_forward:
            message += " (found reading new data with the old schema)"
        change = Change(kind, _pointer(prefix, path), Layer.SCHEMA, side, message)
        out.append((change, (field,) if field is not None else ()))
    return out


def contract_changes(old: Contract, new: Contract) -> list[Located]:
    return [
        (Change(c.type.value, c.path, Layer.CONTRACT, c.breaks, c.message), c.fields)
        for c in diff_contracts(old, new)
    ]


def _judge(
    located: list[Located],
    mode: CompatibilityMode,
    version: int | None,
    consumers: Sequence[Consumer],
) -> list[Change]:
    """Decide each change under `mode` and name the consumers a breaking one reaches."""
    judged = []
    for change, fields in located:
        compatible = not breaks_mode(change.breaks, mode)
        reached = () if compatible else _affected(consumers, fields, version)
        message = change.message
        if not compatible and consumers and not reached:
            message += "; no registered consumer reads this field"
        judged.append(
            replace(
                change,
                message=message,
                compatible=compatible,
                against_version=version,
                consumers=reached,
            )
        )
    return judged


def _affected(
    consumers: Sequence[Consumer], fields: tuple[FieldPath, ...], version: int | None
) -> tuple[str, ...]:
    return tuple(
        c.name
        for c in consumers
        if (version is None or c.reads_version(version))
        and (not fields or any(c.reads(f) for f in fields))
    )


class _Models:
    """Each contract's schema loaded for diffing once per check, however often compared."""

    def __init__(self) -> None:
        # Keyed by identity: the contracts outlive the check, and hashing content would
        # cost as much as the diff it saves.
        self._by_contract: dict[int, Node] = {}

    def __call__(self, contract: Contract) -> Node:
        key = id(contract)
        if key not in self._by_contract:
            self._by_contract[key] = load_schema(contract.schema)
        return self._by_contract[key]


def _against(
    old: Contract,
    version: int,
    new: Contract,
    mode: CompatibilityMode,
    policy: Policy,
    consumers: Sequence[Consumer],
    models: _Models,
) -> list[Change]:
    located = schema_changes(models(old), models(new), policy, "/schema")
    located += contract_changes(old, new)
    return _judge(located, mode, version, consumers)


def check_compatibility(
    candidate: Contract,
    history: Sequence[Versioned],
    *,
    mode: CompatibilityMode | None = None,
    policy: Policy | None = None,
    consumers: Sequence[Consumer] = (),
) -> CompatibilityReport:
    """Check `candidate` against `history` ((version, contract) pairs, oldest first).

    Every change against the latest version is listed (compatible ones too, so a reviewer
    sees the whole diff); transitive modes add the breaking changes against older versions.
    `mode` and `policy` default to the latest version's: a change cannot relax the check
    it is judged by (the registry passes the contract's configured ones).
    """
    governing = history[-1][1] if history else candidate
    mode = mode or governing.compatibility.mode
    policy = policy or governing.compatibility.policy
    if not history:
        return _report([], mode, policy, consumers, ())
    models = _Models()
    latest_version, latest = history[-1]
    changes = _against(latest, latest_version, candidate, mode, policy, consumers, models)
    compared: Sequence[Versioned] = ()
    if mode is not CompatibilityMode.NONE:
        compared = history if mode.transitive else history[-1:]
    # Breaking changes already listed against the latest version are not listed again; a
    # change compatible there may still break an older version, and is listed then.
    seen = {(c.type, c.path) for c in changes if not c.compatible}
    for version, old in compared[:-1]:
        for change in _against(old, version, candidate, mode, policy, consumers, models):
            if not change.compatible and (change.type, change.path) not in seen:
                seen.add((change.type, change.path))
                changes.append(change)
    return _report(changes, mode, policy, consumers, tuple(v for v, _ in compared))


def check_schemas(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    *,
    mode: CompatibilityMode = CompatibilityMode.BACKWARD,
    policy: Policy = Policy.STRICT,
) -> CompatibilityReport:
    """Schema layer only, for bare JSON Schema files."""
    changes = _judge(schema_changes(old, new, policy), mode, None, ())
    return _report(changes, mode, policy, (), ())


def _report(
    changes: list[Change],
    mode: CompatibilityMode,
    policy: Policy,
    consumers: Sequence[Consumer],
    versions: tuple[int, ...],
) -> CompatibilityReport:
    by_consumer: dict[str, list[str]] = {}
    for change in changes:
        for name in change.consumers:
            by_consumer.setdefault(name, []).append(f"{change.type} {change.path}")
    affected = tuple(
        AffectedConsumer(c.name, c.team, c.contact, tuple(by_consumer[c.name]))
        for c in consumers
        if c.name in by_consumer
    )
    return CompatibilityReport(
        compatible=all(c.compatible for c in changes),
        mode=mode,
        policy=policy,
        changes=tuple(changes),
        affected_consumers=affected,
        checked_versions=versions,
        consumers_registered=len(consumers),
    )
