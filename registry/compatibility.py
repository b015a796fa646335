"""The compatibility engine applied to stored history, memoised where the work is pure.

A version's content is identified by its fingerprint, and a check is a pure function of
the candidate, the compared versions, mode, policy and consumers: both are safe to cache
across requests (and across databases) without invalidation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from contracts import CompatibilityMode, Contract, Policy
from contracts.compatibility import check_compatibility
from contracts.consumers import Consumer
from registry.cache import LruCache
from registry.tables import ConsumerRow

__all__ = ["Check", "summary", "to_consumer"]

_contracts: LruCache[str, Contract] = LruCache(1024)
_reports: LruCache[tuple[Any, ...], dict[str, Any]] = LruCache(512)


def _stored(fingerprint: str, document: str) -> Contract:
    """A stored version as a Contract; stored documents were validated when published."""
    contract = _contracts.get(fingerprint)
    if contract is None:
        contract = Contract.from_document(orjson.loads(document))
        _contracts.put(fingerprint, contract)
    return contract


def to_consumer(row: ConsumerRow) -> Consumer:
    return Consumer(
        name=row.name,
        team=row.team,
        contact=row.contact,
        min_version=row.min_version,
        max_version=row.max_version,
        fields=tuple(row.fields),
    )


@dataclass(frozen=True, slots=True)
class Check:
    """`candidate` against stored `history` ((version, fingerprint, document JSON) of the
    live versions, oldest first) under `mode` and `policy`, naming `consumers`."""

    candidate: Contract
    fingerprint: str
    history: Sequence[tuple[int, str, str]]
    mode: CompatibilityMode
    policy: Policy
    consumers: tuple[Consumer, ...] = ()

    @property
    def key(self) -> tuple[Any, ...]:
        versions = tuple((version, fingerprint) for version, fingerprint, _ in self.history)
        return (self.fingerprint, versions, self.mode, self.policy, self.consumers)

    def cached(self) -> dict[str, Any] | None:
        """The report if this check ran before (in this process), else None."""
        return _reports.get(self.key)

    def run(self) -> dict[str, Any]:
        """The report, as a JSON-ready dict (shared: do not modify it)."""
        report = self.cached()
        if report is None:
            versions = [(v, _stored(f, d)) for v, f, d in self.history]
            report = check_compatibility(
                self.candidate,
                versions,
                mode=self.mode,
                policy=self.policy,
                consumers=self.consumers,
            ).to_dict()
            _reports.put(self.key, report)
        return report


def summary(report: dict[str, Any], name: str) -> str:
    """One line for an error message: what broke and against which versions."""
    breaking = [c for c in report["changes"] if not c["compatible"]]
    against = ", ".join(f"v{v}" for v in report["checked_versions"])
    first = breaking[0] if breaking else None
    detail = f": {first['message']} at {first['path'] or '/'}" if first else ""
    more = f" (and {len(breaking) - 1} more)" if len(breaking) > 1 else ""
    return (
        f"{name}: incompatible under {report['mode']} ({report['policy']}) "
        f"against {against}{detail}{more}"
    )
