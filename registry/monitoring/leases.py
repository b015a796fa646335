"""Leases on periodic jobs: one registry process at a time evaluates SLAs; one prunes, hourly.

A lease is a row (job name, holder, expiry). A process takes it when it is free, expired
or already its own, by a conditional UPDATE (or the first INSERT), so the database decides
between processes. A holder renews it on every run; a holder that died loses it at expiry.
The lease only saves work: everything the jobs write is idempotent anyway.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.db import Database
from registry.monitoring.common import upsert_ignore
from registry.tables import MonitorLeaseRow

__all__ = ["acquire", "release"]


def acquire(
    db: Database,
    name: str,
    holder: str,
    ttl: timedelta,
    now: datetime | None = None,
    *,
    renew: bool = True,
) -> bool:
    """Take or renew the lease `name` for `ttl`; False when another holder has it.

    `renew=False`: take it only when free or expired, even from its own holder. Such a lease
    paces a job (at most once per `ttl`, across processes and restarts), rather than
    electing the one process that runs it.
    """
    now = now or datetime.now(UTC)
    lease = MonitorLeaseRow
    free = lease.expires_at < now
    ours_or_free = sa.or_(lease.holder == holder, free) if renew else free

    def work(session: Session) -> bool:
        taken = session.execute(
            sa.update(lease)
            .where(lease.name == name, ours_or_free)
            .values(holder=holder, expires_at=now + ttl)
        )
        if getattr(taken, "rowcount", 0):
            return True
        # RETURNING tells whether the row went in (rowcount is -1 through the ORM).
        inserted = session.execute(
            upsert_ignore(session, lease, ["name"])
            .values(name=name, holder=holder, expires_at=now + ttl)
            .returning(lease.name)
        ).first()
        return inserted is not None

    return db.write(work)


def release(db: Database, name: str, holder: str) -> None:
    lease = MonitorLeaseRow
    db.write(
        lambda s: s.execute(sa.delete(lease).where(lease.name == name, lease.holder == holder))
    )
