"""Retention: what the registry stores per report and per event is deleted once it is old.

Once `retention` has passed, these go:

- breach reports and observations, stored and with their window ended that long ago. A
  contract whose SLA looks further back (`sla.horizon`) keeps its observations for as long
  as it looks; an SLA breach that is still going on keeps its report (its window grows);
- SLA status changes (`GET /contracts/{name}/sla`'s history);
- webhook deliveries that were delivered or given up.

What outlives them: the running totals ``/metrics`` exports, the SLA checks' status, breach
episodes, and the audit log. A report resent after its first copy was deleted would be
counted again; reporters resend only what the registry did not acknowledge, within minutes.

Rows go in chunks, each its own short transaction, so that intake never waits long on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.db import Database
from registry.monitoring import sla
from registry.tables import BreachRow, ObservationRow, SlaEventRow, WebhookDeliveryRow

__all__ = ["EVERY", "Pruned", "prune"]

EVERY = timedelta(hours=1)  # how often the monitor prunes
CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one pass deleted, per table."""

    breaches: int = 0
    observations: int = 0
    sla_events: int = 0
    webhook_deliveries: int = 0

    @property
    def total(self) -> int:
        return self.breaches + self.observations + self.sla_events + self.webhook_deliveries


def _delete(db: Database, table: Any, *where: sa.ColumnElement[bool]) -> int:
    """Delete the rows of `table` matching `where`, a chunk per transaction; how many."""
    chosen = sa.select(table.id).where(*where).limit(CHUNK)

    def work(session: Session) -> int:
        result = session.execute(sa.delete(table).where(table.id.in_(chosen)))
        return int(getattr(result, "rowcount", 0))

    deleted = 0
    while True:
        count = db.write(work)
        deleted += count
        if count < CHUNK:
            return deleted


def prune(db: Database, retention: timedelta, now: datetime | None = None) -> Pruned:
    """Delete what is older than `retention` (see the module)."""
    now = now or datetime.now(UTC)
    cutoff = now - retention
    b, o, d = BreachRow, ObservationRow, WebhookDeliveryRow
    breaches = _delete(db, b, b.received_at < cutoff, b.window_end < cutoff)
    looks_back = {name: max(retention, span) for name, span in sla.horizons(db).items()}
    with db.reads() as session:
        contracts = list(session.scalars(sa.select(o.contract).distinct().order_by(o.contract)))
    observations = 0
    for contract in contracts:
        since = now - looks_back.get(contract, retention)
        observations += _delete(
            db, o, o.contract == contract, o.window_end < since, o.received_at < since
        )
    events = _delete(db, SlaEventRow, SlaEventRow.at < cutoff)
    # A delivery that is done was last tried soon after its last `next_attempt_at` (indexed).
    deliveries = _delete(db, d, d.state.in_(("delivered", "failed")), d.next_attempt_at < cutoff)
    return Pruned(breaches, observations, events, deliveries)
