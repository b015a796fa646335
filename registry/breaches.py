"""The breach store: idempotent intake of enforcers' reports, and queries over them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry.api_models import BreachBatch
from registry.errors import IdempotencyConflict
from registry.tables import BreachRow, BreachTotalRow, ObservationRow, ObservationTotalRow

__all__ = ["BreachFilters", "BreachStore", "BreachSummary", "add_to_totals"]


@dataclass(frozen=True, slots=True)
class BreachFilters:
    contract: str | None = None
    version: int | None = None
    source: str | None = None
    rule: str | None = None
    kind: str | None = None
    since: datetime | None = None  # window_start >= since
    until: datetime | None = None  # window_start < until


@dataclass(frozen=True, slots=True)
class BreachSummary:
    rows: list[BreachRow]
    total: int
    breaches: int
    by_rule: list[tuple[str, str, str, int]]  # contract, kind, rule, count
    buckets: list[tuple[datetime, int]]


def _insert(dialect: str, table: type[BreachRow] | type[ObservationRow]) -> Any:
    """INSERT ... ON CONFLICT (report_id) DO NOTHING RETURNING id, for either database."""
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=["report_id"])
        .returning(table.id)
    )


def add_to_totals(
    session: Session,
    breaches: Iterable[tuple[str, int | None, str, str, str, int]] = (),
    observations: Iterable[tuple[str, str, int, int]] = (),
) -> None:
    """Add newly stored reports to the running totals, in the caller's transaction.

    `breaches`: (contract, version, source, kind, rule, count); `observations`: (contract,
    source, valid, invalid). Each key is written once, in sorted order, so that transactions
    adding to the same keys lock them in one order and never wait on each other in a cycle.
    """
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    by_rule: dict[tuple[str, int, str, str, str], int] = defaultdict(int)
    for contract, version, source, kind, rule, count in breaches:
        by_rule[contract, version or 0, source, kind, rule] += count
    for (contract, version, source, kind, rule), count in sorted(by_rule.items()):
        insert = module.insert(BreachTotalRow).values(
            contract=contract, version=version, source=source, kind=kind, rule=rule, count=count
        )
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["contract", "version", "source", "kind", "rule"],
                set_={"count": BreachTotalRow.count + insert.excluded.count},
            )
        )
    by_source: dict[tuple[str, str], tuple[int, int]] = {}
    for contract, source, valid, invalid in observations:
        was_valid, was_invalid = by_source.get((contract, source), (0, 0))
        by_source[contract, source] = (was_valid + valid, was_invalid + invalid)
    for (contract, source), (valid, invalid) in sorted(by_source.items()):
        insert = module.insert(ObservationTotalRow).values(
            contract=contract, source=source, valid=valid, invalid=invalid
        )
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["contract", "source"],
                set_={
                    "valid": ObservationTotalRow.valid + insert.excluded.valid,
                    "invalid": ObservationTotalRow.invalid + insert.excluded.invalid,
                },
            )
        )


# An event time ahead of the registry's clock by more than this is stored as this far ahead:
# one record dated 2099 (or a producer's clock running fast) would otherwise keep the
# source's newest event time in the future, and its freshness SLA from ever breaching.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _no_later_than(moment: datetime | None, received: datetime) -> datetime | None:
    return None if moment is None else min(moment, received + MAX_CLOCK_SKEW)


def _floor(moment: datetime, interval: timedelta) -> datetime:
    seconds = interval.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


class BreachStore:
    """Breaches and observations in one Session (the caller owns the transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def ingest(self, batch: BreachBatch) -> tuple[int, int]:
        """Store a batch; (accepted, duplicates). Resent aggregates are stored once.

        IdempotencyConflict if an id was stored before with other content: that is an id
        reused for something else, whose counts would otherwise be dropped unseen.
        """
        received = datetime.now(UTC)
        items: list[tuple[type[BreachRow] | type[ObservationRow], str, Any]] = [
            *((BreachRow, f"breaches[{i}]", b) for i, b in enumerate(batch.breaches)),
            *((ObservationRow, f"observations[{i}]", o) for i, o in enumerate(batch.observations)),
        ]
        accepted = duplicates = 0
        breaches: list[tuple[str, int | None, str, str, str, int]] = []
        observations: list[tuple[str, str, int, int]] = []
        for table, where, item in items:
            values = item.model_dump(exclude={"id"})
            if table is BreachRow:
                values["samples"] = [s.model_dump() for s in item.samples]
            else:
                values["max_event_time"] = _no_later_than(values["max_event_time"], received)
            inserted = self._insert(table, item.id, batch.source, values, received)
            if inserted is None:
                self._check_resent(table, item.id, batch.source, values, where)
                duplicates += 1
                continue
            accepted += 1
            if table is BreachRow:
                v, source = values, batch.source
                breaches.append(
                    (v["contract"], v["version"], source, v["kind"], v["rule"], v["count"])
                )
            else:
                observations.append(
                    (values["contract"], batch.source, values["valid"], values["invalid"])
                )
        add_to_totals(self.session, breaches, observations)
        return accepted, duplicates

    def _insert(
        self,
        table: type[BreachRow] | type[ObservationRow],
        report_id: str,
        source: str,
        values: dict[str, Any],
        received: datetime,
    ) -> Any:
        """The new row's id, or None if `report_id` was stored before."""
        row = {**values, "report_id": report_id, "source": source, "received_at": received}
        return self.session.execute(_insert(self.dialect, table), row).first()

    def _check_resent(
        self,
        table: type[BreachRow] | type[ObservationRow],
        report_id: str,
        source: str,
        values: dict[str, Any],
        where: str,
    ) -> None:
        """IdempotencyConflict unless the stored row under `report_id` counts the same."""
        stored = self.session.execute(
            sa.select(table).where(table.report_id == report_id)
        ).scalar_one_or_none()
        if stored is None:  # retention deleted it since the insert found it: an old resend
            return
        if isinstance(stored, ObservationRow):  # clamped as when it was stored
            values = values | {
                "max_event_time": _no_later_than(values["max_event_time"], stored.received_at)
            }
        # Samples are examples, not counts: only what is counted must match.
        for name, value in {"source": source, **values}.items():
            if name != "samples" and getattr(stored, name) != value:
                raise IdempotencyConflict(
                    f"{where}.id {report_id!r} was stored before with another {name} "
                    f"({getattr(stored, name)!r}, not {value!r}): use a new id for new counts",
                    [{"field": f"body.{where}.id"}],
                )

    def _where(self, filters: BreachFilters) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (BreachRow.contract, filters.contract),
            (BreachRow.version, filters.version),
            (BreachRow.source, filters.source),
            (BreachRow.rule, filters.rule),
            (BreachRow.kind, filters.kind),
        ):
            if value is not None:
                conditions.append(column == value)
        if filters.since is not None:
            conditions.append(BreachRow.window_start >= filters.since)
        if filters.until is not None:
            conditions.append(BreachRow.window_start < filters.until)
        return conditions

    def summary(
        self, filters: BreachFilters, *, limit: int, offset: int, interval: timedelta
    ) -> BreachSummary:
        """The newest aggregates matching `filters`, their totals, and counts per interval."""
        where = self._where(filters)
        total, breaches = self.session.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(BreachRow.count), 0)).where(
                *where
            )
        ).one()
        rows = list(
            self.session.scalars(
                sa.select(BreachRow)
                .where(*where)
                .order_by(BreachRow.window_start.desc(), BreachRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        by_rule = [
            (contract, kind, rule, int(count))
            for contract, kind, rule, count in self.session.execute(
                sa.select(
                    BreachRow.contract, BreachRow.kind, BreachRow.rule, sa.func.sum(BreachRow.count)
                )
                .where(*where)
                .group_by(BreachRow.contract, BreachRow.kind, BreachRow.rule)
                .order_by(sa.func.sum(BreachRow.count).desc(), BreachRow.rule)
            )
        ]
        # Bucketing by time is dialect-specific in SQL; the per-window rows are few enough
        # (one per rule, source and window) to sum here.
        counts: dict[datetime, int] = defaultdict(int)
        for start, count in self.session.execute(
            sa.select(BreachRow.window_start, BreachRow.count).where(*where)
        ):
            counts[_floor(start, interval)] += count
        return BreachSummary(rows, int(total), int(breaches), by_rule, sorted(counts.items()))

    def observations(
        self, contract: str, since: datetime | None = None
    ) -> Sequence[ObservationRow]:
        query = sa.select(ObservationRow).where(ObservationRow.contract == contract)
        if since is not None:
            query = query.where(ObservationRow.window_start >= since)
        return list(self.session.scalars(query.order_by(ObservationRow.window_start)))
