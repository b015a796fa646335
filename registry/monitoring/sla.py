"""SLA evaluation: freshness, volume and breach rate of each source of each contract.

The input is what enforcers report (`observations`: per source and window, records seen,
valid, invalid and the newest event time). Per live contract whose latest version declares
an SLA, and per source that reported within the horizon:

- **freshness**: the age of the newest event time the source reported (when it reported no
  event times: of its last report) against `sla.freshness.max_delay`. A source that goes
  silent ages past the limit and is breached: the dead man's switch.
- **volume**: records in the last complete `sla.volume.window` (aligned to the epoch, as the
  reporter aligns its windows) against `min`/`max`; not judged until the source has been
  reporting for a whole window.
- **breach_rate**: invalid / records over the trailing volume window (else one hour)
  against `sla.max_breach_rate`; unknown while there are no records.

A check's status is `ok`, `breached` or `unknown` (`inactive` once its source has been
silent past the horizon, at least 7 days, or the SLA no longer declares it). Going to
`breached` starts an episode: the episode number goes up, a breach of kind `sla` is stored
(rule = the check, source = the reporting source, report id
``sla:CONTRACT:SOURCE:RULE:EPISODE``) and kept up to date while the episode lasts. Every
change of status is kept as history (`sla_events`) and sent to webhooks
(`sla.status_changed`).

Each contract is evaluated in one write transaction that locks its status rows, so two
registry processes evaluating at once see each other's result and never count an episode
twice (and `Monitor` takes a lease so that usually only one evaluates at all).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts import Contract, format_duration
from contracts.model import SLA
from registry.breaches import MAX_CLOCK_SKEW, add_to_totals
from registry.cache import LruCache
from registry.db import Database
from registry.monitoring import events
from registry.monitoring.common import floor_time, iso, key, upsert_ignore
from registry.tables import (
    BreachRow,
    ContractRow,
    ObservationRow,
    SlaEventRow,
    SlaStatusRow,
    VersionRow,
)

__all__ = [
    "FRESHNESS",
    "RULES",
    "SourceStats",
    "Verdict",
    "evaluate_all",
    "evaluate_contract",
    "horizons",
    "judge",
    "sla_of",
]

log = logging.getLogger("registry")

FRESHNESS, VOLUME, BREACH_RATE = "freshness", "volume", "breach_rate"
RULES = (FRESHNESS, VOLUME, BREACH_RATE)
OK, BREACHED, UNKNOWN, INACTIVE = "ok", "breached", "unknown", "inactive"
DEFAULT_RATE_WINDOW = timedelta(hours=1)
MIN_HORIZON = timedelta(days=7)
# A volume window is judged this long after it ends: a reporter sends its last seconds with
# its next flush (every 5 s by default), and judging before they arrive would count short.
VOLUME_GRACE = timedelta(minutes=1)

_contracts: LruCache[str, Contract] = LruCache(256)


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What one source reported of one contract, as SLA evaluation needs it."""

    source: str
    first_window_start: datetime
    last_window_end: datetime
    newest_event: datetime | None
    window_records: int  # records in the last complete volume window
    recent_records: int  # records in the trailing breach-rate window
    recent_invalid: int


@dataclass(frozen=True, slots=True)
class Verdict:
    source: str
    rule: str
    status: str
    measured: float | None
    threshold: float | None
    message: str


def _human(seconds: float) -> str:
    return format_duration(timedelta(seconds=round(seconds)))


def rate_window(sla: SLA) -> timedelta:
    return sla.volume.window if sla.volume else DEFAULT_RATE_WINDOW


def volume_window(window: timedelta, now: datetime) -> tuple[datetime, datetime]:
    """(start, end) of the volume window judged at `now`: the last complete one that ended
    at least VOLUME_GRACE ago."""
    end = floor_time(now - VOLUME_GRACE, window)
    return end - window, end


def horizon(sla: SLA) -> timedelta:
    """Sources silent for longer than this are no longer evaluated."""
    spans = [MIN_HORIZON]
    if sla.freshness:
        spans.append(3 * sla.freshness.max_delay)
    if sla.volume:
        spans.append(3 * sla.volume.window)
    return max(spans)


def judge(sla: SLA, stats: SourceStats, now: datetime) -> list[Verdict]:
    """The verdicts on one source: a pure function of the SLA, what it reported, and now."""
    out: list[Verdict] = []
    source = stats.source
    if sla.freshness is not None:
        limit = sla.freshness.max_delay.total_seconds()
        if stats.newest_event is not None:
            age = (now - stats.newest_event).total_seconds()
            what = f"newest {sla.freshness.field} is {_human(max(age, 0))} old"
        else:
            age = (now - stats.last_window_end).total_seconds()
            what = f"no event times reported; last report {_human(max(age, 0))} ago"
        status = BREACHED if age > limit else OK
        verdict = "over" if status == BREACHED else "within"
        message = f"{what}, {verdict} the {_human(limit)} allowed"
        out.append(Verdict(source, FRESHNESS, status, age, limit, message))
    if sla.volume is not None and (sla.volume.min is not None or sla.volume.max is not None):
        window = sla.volume.window
        start, _end = volume_window(window, now)
        low, high = sla.volume.min, sla.volume.max
        count = stats.window_records
        span = f"{iso(start)}/{format_duration(window)}"
        if stats.first_window_start > start:
            out.append(
                Verdict(
                    source,
                    VOLUME,
                    UNKNOWN,
                    None,
                    low if low is not None else high,
                    f"not reporting for a whole window yet ({span})",
                )
            )
        elif low is not None and count < low:
            message = f"{count} records in {span}, fewer than the minimum {low}"
            out.append(Verdict(source, VOLUME, BREACHED, count, low, message))
        elif high is not None and count > high:
            message = f"{count} records in {span}, more than the maximum {high}"
            out.append(Verdict(source, VOLUME, BREACHED, count, high, message))
        else:
            bounds = " to ".join(str(b) for b in (low, high) if b is not None)
            message = f"{count} records in {span}, within {bounds}"
            out.append(
                Verdict(source, VOLUME, OK, count, low if low is not None else high, message)
            )
    if sla.max_breach_rate is not None:
        limit_rate = sla.max_breach_rate
        window_text = format_duration(rate_window(sla))
        if stats.recent_records == 0:
            message = f"no records in the last {window_text}"
            out.append(Verdict(source, BREACH_RATE, UNKNOWN, None, limit_rate, message))
        else:
            rate = stats.recent_invalid / stats.recent_records
            status = BREACHED if rate > limit_rate else OK
            verdict = "over" if status == BREACHED else "within"
            message = (
                f"{stats.recent_invalid} of {stats.recent_records} records invalid in the last "
                f"{window_text} ({rate:.4%}), {verdict} the {limit_rate:.4%} allowed"
            )
            out.append(Verdict(source, BREACH_RATE, status, rate, limit_rate, message))
    return out


# -- reading what enforcers reported --------------------------------------------------------


def sla_of(fingerprint: str, document: str) -> tuple[Contract, SLA | None]:
    contract = _contracts.get(fingerprint)
    if contract is None:
        contract = Contract.from_document(orjson.loads(document))
        _contracts.put(fingerprint, contract)
    sla = contract.sla
    if sla is None or (
        sla.freshness is None and sla.volume is None and sla.max_breach_rate is None
    ):
        return contract, None
    return contract, sla


def _source_stats(session: Session, name: str, sla: SLA, now: datetime) -> list[SourceStats]:
    o = ObservationRow
    recent = now - horizon(sla)
    # Windows within the horizon only (an index serves it): a round costs the same however
    # long the registry has run. The earliest such window is all the volume check asks of
    # the past: whether the source has reported for a whole window (the horizon spans three).
    rows = session.execute(
        sa.select(
            o.source,
            sa.func.min(o.window_start),
            sa.func.max(o.window_end),
            sa.func.max(o.max_event_time),
            sa.func.max(o.received_at),
        )
        .where(o.contract == name, o.window_end >= recent)
        .group_by(o.source)
    ).all()
    if not rows:
        return []
    window_counts: dict[str, int] = {}
    if sla.volume is not None:
        start, end = volume_window(sla.volume.window, now)
        window_counts = {
            source: int(records)
            for source, records in session.execute(
                sa.select(o.source, sa.func.sum(o.records))
                .where(o.contract == name, o.window_start >= start, o.window_start < end)
                .group_by(o.source)
            )
        }
    rates: dict[str, tuple[int, int]] = {}
    if sla.max_breach_rate is not None:
        since = now - rate_window(sla)
        rates = {
            source: (int(records), int(invalid))
            for source, records, invalid in session.execute(
                sa.select(o.source, sa.func.sum(o.records), sa.func.sum(o.invalid))
                .where(o.contract == name, o.window_end > since)
                .group_by(o.source)
            )
        }
    return [
        SourceStats(
            source=source,
            first_window_start=_utc(first),
            # A window cannot end much after it was reported: a clock running fast would
            # keep the source fresh for good (event times are clamped so on intake).
            last_window_end=min(_utc(last), _utc(received) + MAX_CLOCK_SKEW),
            newest_event=_utc(newest) if newest is not None else None,
            window_records=window_counts.get(source, 0),
            recent_records=rates.get(source, (0, 0))[0],
            recent_invalid=rates.get(source, (0, 0))[1],
        )
        for source, first, last, newest, received in rows
    ]


def _utc(moment: datetime) -> datetime:
    # Aggregates (min/max) bypass the column type on SQLite: naive values come back.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- applying verdicts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    contract: str
    source: str
    rule: str
    previous: str | None
    status: str
    episode: int


def _apply(
    session: Session,
    contract: str,
    version: int | None,
    verdicts: Iterable[Verdict],
    now: datetime,
) -> list[Change]:
    query = sa.select(SlaStatusRow).where(SlaStatusRow.contract == contract)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    current = {(r.source, r.rule): r for r in session.scalars(query)}
    verdicts = list(verdicts)
    judged = {(v.source, v.rule) for v in verdicts}
    # A source silent past the horizon, or a check the SLA no longer declares.
    verdicts += [
        Verdict(source, rule, INACTIVE, None, None, "no longer evaluated")
        for (source, rule), row in sorted(current.items())
        if (source, rule) not in judged and row.status != INACTIVE
    ]
    changes: list[Change] = []
    stored: list[tuple[str, int | None, str, str, str, int]] = []  # new breach episodes
    for verdict in verdicts:
        row = current.get((verdict.source, verdict.rule))
        previous = row.status if row is not None else None
        if row is None:
            row = SlaStatusRow(
                contract=contract,
                source=verdict.source,
                rule=verdict.rule,
                status=verdict.status,
                episode=0,
                since=now,
                evaluated_at=now,
                message="",
            )
            session.add(row)
        starts = verdict.status == BREACHED and previous != BREACHED
        if starts:
            row.episode += 1
        row.measured, row.threshold, row.message = (
            verdict.measured,
            verdict.threshold,
            verdict.message,
        )
        row.evaluated_at = now
        if verdict.status == BREACHED and _breach(
            session, contract, version, verdict, row, now, starts=starts
        ):
            stored.append((contract, version, verdict.source, "sla", verdict.rule, 1))
        if previous == verdict.status:
            continue
        row.status, row.since = verdict.status, now
        session.flush()  # a concurrent first insert of this row fails here (and is retried)
        event = SlaEventRow(
            contract=contract,
            source=verdict.source,
            rule=verdict.rule,
            previous=previous,
            status=verdict.status,
            episode=row.episode,
            at=now,
            measured=verdict.measured,
            threshold=verdict.threshold,
            message=verdict.message,
        )
        session.add(event)
        session.flush()
        change = Change(
            contract, verdict.source, verdict.rule, previous, verdict.status, row.episode
        )
        changes.append(change)
        log.info(
            "SLA %s of %s at %s: %s -> %s (%s)",
            verdict.rule,
            contract,
            verdict.source,
            previous,
            verdict.status,
            verdict.message,
        )
        # The first verdict on a check is news only when it is a breach.
        if previous is not None or verdict.status == BREACHED:
            events.enqueue(
                session,
                events.SLA_STATUS_CHANGED,
                f"sla:{event.id}",
                contract,
                {
                    "source": verdict.source,
                    "rule": verdict.rule,
                    "previous": previous,
                    "status": verdict.status,
                    "episode": row.episode,
                    "measured": verdict.measured,
                    "threshold": verdict.threshold,
                    "message": verdict.message,
                    "version": version,
                    "at": iso(now),
                },
                at=now,
            )
    add_to_totals(session, stored)
    return changes


def breach_report_id(contract: str, source: str, rule: str, episode: int) -> str:
    return key("sla", contract, source, rule, episode)


def _breach(
    session: Session,
    contract: str,
    version: int | None,
    verdict: Verdict,
    row: SlaStatusRow,
    now: datetime,
    *,
    starts: bool,
) -> bool:
    """Store the episode's breach (once), or bring it up to date while it lasts. True when
    this stored it."""
    report_id = breach_report_id(contract, verdict.source, verdict.rule, row.episode)
    sample: dict[str, Any] = {
        "path": f"/sla/{verdict.rule}",
        "message": verdict.message,
        "record": {"measured": verdict.measured, "threshold": verdict.threshold},
    }
    if starts:
        stored = session.execute(
            upsert_ignore(session, BreachRow, ["report_id"])
            .values(
                report_id=report_id,
                source=verdict.source,
                contract=contract,
                version=version,
                kind="sla",
                rule=verdict.rule,
                severity="error",
                window_start=now,
                window_end=now + timedelta(seconds=1),
                count=1,
                first_seen=now,
                last_seen=now,
                samples=[sample],
                received_at=now,
            )
            .returning(BreachRow.id)
        ).first()
        return stored is not None  # not already stored by another evaluator
    session.execute(
        sa.update(BreachRow)
        .where(BreachRow.report_id == report_id, BreachRow.window_start < now)
        .values(window_end=now, last_seen=now, samples=[sample])
    )
    return False


# -- the evaluation -------------------------------------------------------------------------


def _live_contracts(session: Session) -> list[tuple[str, int, str, str]]:
    """(name, latest version, fingerprint, document) of every live contract."""
    return [
        (name, version, fingerprint, document)
        for name, version, fingerprint, document in session.execute(
            sa.select(
                ContractRow.name, VersionRow.version, VersionRow.fingerprint, VersionRow.document
            )
            .join(VersionRow, VersionRow.contract_id == ContractRow.id)
            .where(
                ContractRow.deleted_at.is_(None),
                ContractRow.purged_at.is_(None),
                VersionRow.version == ContractRow.latest_version,
            )
            .order_by(ContractRow.name)
        )
    ]


def horizons(db: Database) -> dict[str, timedelta]:
    """How far back the SLA of each live contract that has one looks (`horizon`)."""
    with db.reads() as session:
        contracts = _live_contracts(session)
    spans = {}
    for name, _version, fingerprint, document in contracts:
        try:
            _contract, sla = sla_of(fingerprint, document)
        except Exception:  # as in `evaluate_all`: one unreadable document stops nothing
            continue
        if sla is not None:
            spans[name] = horizon(sla)
    return spans


def evaluate_contract(
    db: Database, name: str, version: int, sla: SLA, now: datetime
) -> list[Change]:
    """Judge every recently reporting source of one contract, in one transaction."""

    def work(session: Session) -> list[Change]:
        verdicts = [
            verdict
            for stats in _source_stats(session, name, sla, now)
            for verdict in judge(sla, stats, now)
        ]
        return _apply(session, name, version, verdicts, now)

    return db.write(work)


def evaluate_all(db: Database, now: datetime | None = None) -> list[Change]:
    """Evaluate the SLAs of every live contract; the status changes it made."""
    now = now or datetime.now(UTC)
    with db.reads() as session:
        contracts = _live_contracts(session)
    changes: list[Change] = []
    judged: set[str] = set()
    for name, version, fingerprint, document in contracts:
        try:
            _contract, sla = sla_of(fingerprint, document)
        except Exception:  # a stored document always loads; never let one stop the rest
            log.exception("SLA: cannot read version %d of %s", version, name)
            judged.add(name)  # its checks keep their state: this may pass
            continue
        if sla is None:
            continue
        judged.add(name)
        try:
            changes += evaluate_contract(db, name, version, sla, now)
        except Exception:
            # Say an SLA stored before durations were bounded: the other contracts (and the
            # breach episodes judged after them) must still be evaluated.
            log.exception("SLA: cannot evaluate version %d of %s", version, name)
    # Checks of contracts deleted since, or whose latest version has no SLA any more: no
    # longer evaluated, rather than breached for good (and alerting) with nothing to end it.
    with db.reads() as session:
        active = set(
            session.scalars(
                sa.select(SlaStatusRow.contract).where(SlaStatusRow.status != INACTIVE).distinct()
            )
        )
    for name in sorted(active - judged):
        changes += db.write(partial(_apply, contract=name, version=None, verdicts=(), now=now))
    return changes
