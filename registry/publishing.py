"""Publishing a version and dry-running a check: the two operations that judge a candidate.

A publish runs in one write transaction that first locks the contract row, so concurrent
publishes of one contract are judged one after the other, each against the history the
previous one left; `Database.write` retries the rare collision (two first publishes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from contracts import CompatibilityMode, Policy
from registry import compatibility
from registry.db import Database
from registry.errors import Incompatible, VersionDeleted
from registry.intake import Candidate
from registry.monitoring import metrics, notify
from registry.store import ContractReader, ContractStore
from registry.tables import VersionRow

__all__ = ["Published", "dry_run", "publish"]


@dataclass(frozen=True, slots=True)
class Published:
    name: str
    version: VersionRow
    created: bool  # False: identical content was already a version


def publish(db: Database, candidate: Candidate) -> Published:
    try:
        return db.write(lambda session: _publish(ContractStore(session), candidate))
    except Incompatible as refused:  # tell the contract's webhooks (after the rollback)
        notify.publish_refused(db, candidate.contract.name, candidate.fingerprint, refused.details)
        raise


def _publish(store: ContractStore, candidate: Candidate) -> Published:
    contract = candidate.contract
    config = contract.compatibility
    row = store.find(contract.name, lock=True)
    if row is None:
        row = store.create(contract.name, config.mode, config.policy)
    elif row.purged_at is not None:
        store.revive(row, config.mode, config.policy)
    existing = store.by_fingerprint(row, candidate.fingerprint)
    if existing is not None:
        if existing.deleted_at is not None:
            raise VersionDeleted(
                f"identical content is version {existing.version} of {contract.name!r}, "
                "which is deleted: delete it permanently to publish it again",
                {"name": contract.name, "version": existing.version},
            )
        return Published(contract.name, existing, created=False)
    assert row.mode is not None and row.policy is not None
    report = compatibility.Check(
        contract,
        candidate.fingerprint,
        store.history(row),
        CompatibilityMode(row.mode),
        Policy(row.policy),
        tuple(compatibility.to_consumer(c) for c in store.consumers(row)),
    ).run()
    if not report["compatible"]:
        raise Incompatible(compatibility.summary(report, contract.name), report)
    store.revive(row, config.mode, config.policy)
    version = store.add_version(
        row, candidate.fingerprint, candidate.document, contract.status.value
    )
    return Published(contract.name, version, created=True)


async def dry_run(
    db: Database,
    candidate: Candidate,
    mode: CompatibilityMode | None,
    policy: Policy | None,
) -> dict[str, Any]:
    """The report a publish of `candidate` would be judged by (a new contract: no history).

    The registry's config decides, unless `mode`/`policy` override it. A check not seen
    before runs on a worker thread: it can take a while, and the event loop must not wait.
    """
    name = candidate.contract.name
    inputs = await db.read(lambda c: ContractReader(c).check_inputs(name))
    config = candidate.contract.compatibility
    check = compatibility.Check(
        candidate.contract,
        candidate.fingerprint,
        inputs.history if inputs else [],
        mode or (inputs.mode if inputs else config.mode),
        policy or (inputs.policy if inputs else config.policy),
        tuple(inputs.consumers) if inputs else (),
    )
    report = check.cached()
    if report is None:
        report = await anyio.to_thread.run_sync(check.run)
    metrics.check_done(report)
    return report
