"""Reads the API and the web UI share: SLA status of a contract, health of many."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.tables import BreachRow, SlaEventRow, SlaStatusRow

__all__ = ["Health", "contract_health", "overall", "sla_rows"]


def sla_rows(
    session: Session, name: str, history: int = 50
) -> tuple[list[SlaStatusRow], list[SlaEventRow]]:
    checks = list(
        session.scalars(
            sa.select(SlaStatusRow)
            .where(SlaStatusRow.contract == name)
            .order_by(SlaStatusRow.source, SlaStatusRow.rule)
        )
    )
    events = list(
        session.scalars(
            sa.select(SlaEventRow)
            .where(SlaEventRow.contract == name)
            .order_by(SlaEventRow.at.desc(), SlaEventRow.id.desc())
            .limit(history)
        )
    )
    return checks, events


def overall(statuses: Sequence[str], has_sla: bool) -> str:
    """A contract's SLA status from its checks' statuses."""
    if not has_sla:
        return "none"
    live = [s for s in statuses if s != "inactive"]
    if "breached" in live:
        return "breached"
    if "ok" in live:
        return "ok"
    return "unknown"


def sla_document(document: str) -> dict[str, Any] | None:
    sla: dict[str, Any] | None = orjson.loads(document).get("sla")
    return sla


@dataclass(frozen=True, slots=True)
class Health:
    sla: str  # ok, breached, unknown, none
    breaches_24h: int

    @property
    def badge(self) -> str:
        """healthy, breached, warning (breaches but SLA holds), no-data, or no-sla."""
        if self.sla == "breached":
            return "breached"
        if self.breaches_24h:
            return "warning"
        return {"ok": "healthy", "unknown": "no-data"}.get(self.sla, "no-sla")


def contract_health(
    session: Session, names: Sequence[str], has_sla: dict[str, bool], now: datetime | None = None
) -> dict[str, Health]:
    """SLA status and breach count of the last 24 hours of each of `names`."""
    if not names:
        return {}
    now = now or datetime.now(UTC)
    statuses: dict[str, list[str]] = {n: [] for n in names}
    for contract, status in session.execute(
        sa.select(SlaStatusRow.contract, SlaStatusRow.status).where(
            SlaStatusRow.contract.in_(names)
        )
    ):
        statuses[contract].append(status)
    # (Not dict(result): a Result has keys(), so dict() would take it for a mapping.)
    counts = {
        contract: count
        for contract, count in session.execute(
            sa.select(BreachRow.contract, sa.func.sum(BreachRow.count))
            .where(
                BreachRow.contract.in_(names),
                BreachRow.window_start >= now - timedelta(hours=24),
            )
            .group_by(BreachRow.contract)
        )
    }
    return {
        n: Health(overall(statuses[n], has_sla.get(n, False)), int(counts.get(n) or 0))
        for n in names
    }
