"""Breach episodes: notify when a contract's rule starts breaching, not on every record.

An episode of (contract, kind, rule) starts with the first breach the registry receives
after a quiet spell (or ever) and ends once no breach of it arrived for the quiet period
(`ACCORD_EPISODE_QUIET`). Episodes are numbered per (contract, kind, rule); the numbers
make the webhook event ids, so an episode is announced once however many processes look.
SLA breaches (kind `sla`) are not counted here: SLA status changes are their own events.

Detection reads the breaches received in a recent look-back (the quiet period plus a
margin), so it costs the same however long the registry has been running.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.db import Database
from registry.monitoring import events
from registry.monitoring.common import iso, key
from registry.tables import BreachEpisodeRow, BreachRow

__all__ = ["EpisodeChange", "detect"]

log = logging.getLogger("registry")
MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class EpisodeChange:
    contract: str
    kind: str
    rule: str
    number: int
    started: bool  # False: it ended


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _latest(session: Session, contract: str, kind: str, rule: str) -> BreachEpisodeRow | None:
    e = BreachEpisodeRow
    query = (
        sa.select(e)
        .where(e.contract == contract, e.kind == kind, e.rule == rule)
        .order_by(e.number.desc())
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def _received_after(
    session: Session, contract: str, kind: str, rule: str, after: datetime | None
) -> tuple[datetime | None, datetime | None, int]:
    b = BreachRow
    query = sa.select(
        sa.func.min(b.received_at), sa.func.max(b.received_at), sa.func.sum(b.count)
    ).where(b.contract == contract, b.kind == kind, b.rule == rule)
    if after is not None:
        query = query.where(b.received_at > after)
    first, last, count = session.execute(query).one()
    return (
        _utc(first) if first is not None else None,
        _utc(last) if last is not None else None,
        int(count or 0),
    )


def _details(session: Session, contract: str, kind: str, rule: str, since: datetime) -> Any:
    b = BreachRow
    rows = session.execute(
        sa.select(b.source, b.version, b.samples)
        .where(b.contract == contract, b.kind == kind, b.rule == rule, b.received_at >= since)
        .order_by(b.received_at.desc(), b.id.desc())
        .limit(100)
    ).all()
    samples: list[Any] = []
    for _source, _version, row_samples in rows:
        samples.extend(row_samples[: 3 - len(samples)])
        if len(samples) >= 3:
            break
    return {
        "sources": sorted({source for source, _, _ in rows}),
        "versions": sorted({version for _, version, _ in rows if version is not None}),
        "samples": samples,
    }


def _event_id(episode: BreachEpisodeRow, what: str) -> str:
    return key(
        "episode", episode.contract, episode.kind, episode.rule, episode.number, what, limit=255
    )


def _payload(episode: BreachEpisodeRow, quiet: timedelta) -> dict[str, Any]:
    return {
        "kind": episode.kind,
        "rule": episode.rule,
        "episode": episode.number,
        "started_at": iso(episode.started_at),
        "last_breach_received_at": iso(episode.last_received_at),
        "ended_at": iso(episode.ended_at),
        "breaches": episode.breaches,
        "quiet_period_seconds": quiet.total_seconds(),
    }


def _one(
    session: Session,
    contract: str,
    kind: str,
    rule: str,
    now: datetime,
    quiet: timedelta,
    since: datetime,
) -> list[EpisodeChange]:
    changes: list[EpisodeChange] = []
    latest = _latest(session, contract, kind, rule)
    if latest is not None and latest.ended_at is None:
        _first, last, count = _received_after(
            session, contract, kind, rule, latest.last_received_at
        )
        if last is not None:
            latest.last_received_at = last
            latest.breaches += count
        if now - latest.last_received_at >= quiet:
            latest.ended_at = now
            session.flush()
            changes.append(EpisodeChange(contract, kind, rule, latest.number, started=False))
            events.enqueue(
                session,
                events.BREACH_EPISODE_ENDED,
                _event_id(latest, "ended"),
                contract,
                _payload(latest, quiet),
                at=now,
            )
        return changes
    after = since if latest is None or latest.ended_at is None else max(since, latest.ended_at)
    first, last, count = _received_after(session, contract, kind, rule, after)
    if first is None or last is None:
        return changes
    if now - last >= quiet:
        return changes  # breaches that arrived and fell quiet between two looks: history
    episode = BreachEpisodeRow(
        contract=contract,
        kind=kind,
        rule=rule,
        number=(latest.number if latest is not None else 0) + 1,
        started_at=first,
        last_received_at=last,
        breaches=count,
    )
    session.add(episode)
    session.flush()  # a concurrent start of the same episode fails here (and is retried)
    changes.append(EpisodeChange(contract, kind, rule, episode.number, started=True))
    log.info("breach episode %d of %s %s/%s started", episode.number, contract, kind, rule)
    events.enqueue(
        session,
        events.BREACH_EPISODE_STARTED,
        _event_id(episode, "started"),
        contract,
        _payload(episode, quiet) | _details(session, contract, kind, rule, first),
        at=now,
    )
    return changes


def detect(db: Database, quiet: timedelta, now: datetime | None = None) -> list[EpisodeChange]:
    """Start and end breach episodes from the breaches received lately."""
    now = now or datetime.now(UTC)
    since = now - quiet - MARGIN
    b, e = BreachRow, BreachEpisodeRow
    with db.reads() as session:
        recent = {
            tuple(row)
            for row in session.execute(
                sa.select(b.contract, b.kind, b.rule)
                .where(b.received_at >= since, b.kind != "sla")
                .distinct()
            )
        }
        open_ = {
            tuple(row)
            for row in session.execute(
                sa.select(e.contract, e.kind, e.rule).where(e.ended_at.is_(None))
            )
        }
    changes: list[EpisodeChange] = []
    for contract, kind, rule in sorted(recent | open_):
        work = partial(
            _one, contract=contract, kind=kind, rule=rule, now=now, quiet=quiet, since=since
        )
        changes += db.write(work)
    return changes
