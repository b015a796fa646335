"""The compatibility report: typed changes, the verdict per mode, and who is affected."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.model import CompatibilityMode, Policy

__all__ = ["AffectedConsumer", "Breaks", "Change", "CompatibilityReport", "Layer", "breaks_mode"]


class Layer(enum.StrEnum):
    SCHEMA = "schema"
    CONTRACT = "contract"


class Breaks(enum.StrEnum):
    """Which side must act for a change.

    PRODUCERS: the new contract asks more than data made under the old one gives (a new
    rule, a narrower type): found reading old data with the new contract, so BACKWARD
    modes refuse it. CONSUMERS: the new contract promises less or allows more than old
    readers expect (a looser SLA, a wider type): found reading new data with the old
    contract, so FORWARD modes refuse it. BOTH: either reading fails; NONE: harmless.
    """

    PRODUCERS = "producers"
    CONSUMERS = "consumers"
    BOTH = "both"
    NONE = "none"

    def __or__(self, other: object) -> Breaks:
        if not isinstance(other, Breaks):
            return NotImplemented
        sides = {self, other} - {Breaks.NONE}
        if not sides:
            return Breaks.NONE
        if Breaks.BOTH in sides or sides == {Breaks.PRODUCERS, Breaks.CONSUMERS}:
            return Breaks.BOTH
        return sides.pop()


def breaks_mode(breaks: Breaks, mode: CompatibilityMode) -> bool:
    """Whether a change that breaks `breaks` is refused under `mode`."""
    if breaks is Breaks.NONE or mode is CompatibilityMode.NONE:
        return False
    if breaks is Breaks.BOTH:
        return True
    return mode.backward if breaks is Breaks.PRODUCERS else mode.forward


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two contract versions."""

    type: str
    path: str  # JSON pointer into the contract document (schema changes under /schema)
    layer: Layer
    breaks: Breaks
    message: str
    compatible: bool = True
    against_version: int | None = None
    consumers: tuple[str, ...] = ()  # registered consumers this change reaches

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "path": self.path,
            "layer": self.layer.value,
            "breaks": self.breaks.value,
            "compatible": self.compatible,
            "message": self.message,
            "against_version": self.against_version,
            "consumers": list(self.consumers),
        }


@dataclass(frozen=True, slots=True)
class AffectedConsumer:
    name: str
    team: str
    contact: str | None
    changes: tuple[str, ...]  # "TYPE path" of the breaking changes that reach it

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "team": self.team,
            "contact": self.contact,
            "changes": list(self.changes),
        }


@dataclass(frozen=True, slots=True)
class CompatibilityReport:
    """Verdict of one candidate against the versions its mode compares it with."""

    compatible: bool
    mode: CompatibilityMode
    policy: Policy
    changes: tuple[Change, ...] = ()
    affected_consumers: tuple[AffectedConsumer, ...] = ()
    checked_versions: tuple[int, ...] = ()
    consumers_registered: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def breaking(self) -> Sequence[Change]:
        return [c for c in self.changes if not c.compatible]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompatibilityReport:
        """Rebuild a report from `to_dict` output (e.g. a registry's JSON answer)."""
        return cls(
            compatible=data["compatible"],
            mode=CompatibilityMode(data["mode"]),
            policy=Policy(data["policy"]),
            changes=tuple(
                Change(
                    type=c["type"],
                    path=c["path"],
                    layer=Layer(c["layer"]),
                    breaks=Breaks(c["breaks"]),
                    message=c["message"],
                    compatible=c["compatible"],
                    against_version=c.get("against_version"),
                    consumers=tuple(c.get("consumers", ())),
                )
                for c in data.get("changes", ())
            ),
            affected_consumers=tuple(
                AffectedConsumer(a["name"], a["team"], a.get("contact"), tuple(a["changes"]))
                for a in data.get("affected_consumers", ())
            ),
            checked_versions=tuple(data.get("checked_versions", ())),
            consumers_registered=data.get("consumers_registered", 0),
            notes=tuple(data.get("notes", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "compatible": self.compatible,
            "mode": self.mode.value,
            "policy": self.policy.value,
            "checked_versions": list(self.checked_versions),
            "changes": [c.to_dict() for c in self.changes],
            "affected_consumers": [a.to_dict() for a in self.affected_consumers],
            "consumers_registered": self.consumers_registered,
            "notes": list(self.notes),
        }
