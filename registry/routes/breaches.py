"""``/breaches``: enforcers report breach aggregates and observations; anyone reads them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from contracts import parse_duration
from registry.api_models import (
    BatchReceipt,
    BreachBatch,
    BreachBucket,
    BreachOut,
    BreachPage,
    RuleTotal,
    UtcDatetime,
)
from registry.breaches import BreachFilters, BreachStore, BreachSummary
from registry.errors import InvalidRequest
from registry.http_errors import error_responses
from registry.routes.common import Db
from registry.store import ContractStore

__all__ = ["router"]

router = APIRouter(tags=["breaches"])

Limit = Annotated[int, Query(ge=1, le=500, description="Aggregates per page.")]
Offset = Annotated[int, Query(ge=0)]
Since = Annotated[
    UtcDatetime | None,
    Query(description="Windows starting at or after this (UTC when it has no time zone)."),
]
Until = Annotated[
    UtcDatetime | None,
    Query(description="Windows starting before this (UTC when it has no time zone)."),
]
Interval = Annotated[
    str, Query(description="Bucket size of the counts over time (ISO 8601 or 5m, 1h, 1d).")
]


def _interval(text: str) -> timedelta:
    try:
        interval = parse_duration(text)
    except ValueError as exc:
        raise InvalidRequest(f"interval: {exc}", [{"field": "query.interval"}]) from None
    if interval < timedelta(seconds=1):
        raise InvalidRequest("interval: at least 1s", [{"field": "query.interval"}])
    return interval


@router.post(
    "/breaches",
    response_model=BatchReceipt,
    summary="Report breaches and observations",
    responses=error_responses(409, 413, 422),
)
def report(batch: BreachBatch, db: Db) -> BatchReceipt:
    """Store a reporter's batch. Idempotent per aggregate id: a resent batch is counted once."""
    accepted, duplicates = db.write(lambda session: BreachStore(session).ingest(batch))
    return BatchReceipt(accepted=accepted, duplicates=duplicates)


def _page(summary: BreachSummary, interval: timedelta) -> BreachPage:
    return BreachPage(
        items=[BreachOut.model_validate(row, from_attributes=True) for row in summary.rows],
        total=summary.total,
        breaches=summary.breaches,
        by_rule=[RuleTotal(contract=c, kind=k, rule=r, count=n) for c, k, r, n in summary.by_rule],
        buckets=[BreachBucket(start=start, count=count) for start, count in summary.buckets],
        interval_seconds=int(interval.total_seconds()),
    )


@dataclass(frozen=True, slots=True)
class _Query:
    """The filters and paging both breach listings take."""

    filters: BreachFilters
    interval: timedelta
    limit: int
    offset: int

    def summary(self, session: Session) -> BreachSummary:
        store = BreachStore(session)
        return store.summary(
            self.filters, limit=self.limit, offset=self.offset, interval=self.interval
        )


def _query(
    version: Annotated[int | None, Query(ge=1)] = None,
    source: str | None = None,
    rule: str | None = None,
    kind: str | None = None,
    since: Since = None,
    until: Until = None,
    interval: Interval = "1h",
    limit: Limit = 50,
    offset: Offset = 0,
) -> _Query:
    filters = BreachFilters(None, version, source, rule, kind, since, until)
    return _Query(filters, _interval(interval), limit, offset)


BreachQuery = Annotated[_Query, Depends(_query)]


@router.get(
    "/breaches", response_model=BreachPage, summary="Query breaches", responses=error_responses()
)
def list_breaches(db: Db, query: BreachQuery, contract: str | None = None) -> BreachPage:
    """Breach aggregates across contracts, newest first, with totals and counts over time."""
    query = replace(query, filters=replace(query.filters, contract=contract))
    with db.reads() as session:
        return _page(query.summary(session), query.interval)


@router.get(
    "/contracts/{name}/breaches",
    response_model=BreachPage,
    summary="Query a contract's breaches",
    responses=error_responses(404),
)
def contract_breaches(name: str, db: Db, query: BreachQuery) -> BreachPage:
    """The breaches of one registered contract (404 if it is not registered)."""
    query = replace(query, filters=replace(query.filters, contract=name))
    with db.reads() as session:
        ContractStore(session).contract(name)
        return _page(query.summary(session), query.interval)
