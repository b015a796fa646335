"""The audit log: every state-changing request, who made it, from where, and what came of it.

`SecurityMiddleware` opens an `AuditEntry` for each request whose route changes state. A
write transaction of that request that changes something records the entry in the same
transaction (`registry.auth.guard`), outcome ``ok``, with a summary of what changed (rows
per table: a breach batch is one entry). A request that changed nothing it was asked to —
refused, invalid, denied, failed — is recorded afterwards with its status. Requests refused
before their body was read (413, 429) are not recorded (metrics count them). No entry ever
holds a token, a request body or a webhook secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from registry.api_models import UtcDatetime
from registry.auth.principal import Principal
from registry.http_errors import error_responses
from registry.routes.common import Db
from registry.tables import AuditRow, now

__all__ = [
    "AuditEntry",
    "AuditPage",
    "current_entry",
    "outcome_of",
    "record",
    "router",
    "set_entry",
]

_SECRET_WORDS = ("token", "secret", "password", "key", "auth", "signature")


def _redacted(query: Mapping[str, str]) -> dict[str, str]:
    return {
        k: "<redacted>" if any(w in k.lower() for w in _SECRET_WORDS) else v[:200]
        for k, v in list(query.items())[:20]
    }


@dataclass
class AuditEntry:
    """What one request is about to do, filled in as it happens."""

    principal: Principal | None
    action: str
    target: str | None
    method: str
    path: str
    client: str | None
    query: dict[str, str] = field(default_factory=dict)
    recorded: bool = False  # a change of this request committed with its audit row
    unchanged: bool = False  # a write transaction of this request committed, changing nothing

    @classmethod
    def open(
        cls,
        principal: Principal | None,
        action: str,
        params: Mapping[str, Any],
        method: str,
        path: str,
        client: str | None,
        query: Mapping[str, str],
    ) -> AuditEntry:
        target = "/".join(str(v) for k, v in params.items() if k != "rest") or None
        return cls(principal, action, target, method, path[:2048], client, _redacted(query))

    def row(self, outcome: str, status: int | None, details: Mapping[str, Any]) -> AuditRow:
        p = self.principal
        return AuditRow(
            at=now(),
            actor=p.subject if p else "anonymous",
            actor_kind=p.kind if p else "none",
            teams=sorted(p.teams) if p else [],
            role=p.role_label if p else None,
            action=self.action,
            target=self.target[:512] if self.target else None,
            outcome=outcome,
            status=status,
            method=self.method,
            path=self.path,
            client=self.client,
            details={**({"query": self.query} if self.query else {}), **details},
        )


_ENTRY: ContextVar[AuditEntry | None] = ContextVar("accord_audit_entry", default=None)


def current_entry() -> AuditEntry | None:
    return _ENTRY.get()


def set_entry(entry: AuditEntry | None) -> None:
    _ENTRY.set(entry)


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status == 404:
        return "not_found"
    if status == 409:
        return "refused"
    if status < 500:
        return "invalid"
    return "error"


def record(
    session: Session,
    *,
    actor: str,
    actor_kind: str,
    action: str,
    target: str | None,
    outcome: str = "ok",
    teams: list[str] | None = None,
    role: str | None = None,
    client: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Record an action done outside a request (the CLI), in the caller's transaction."""
    session.add(
        AuditRow(
            at=now(),
            actor=actor,
            actor_kind=actor_kind,
            teams=teams or [],
            role=role,
            action=action,
            target=target,
            outcome=outcome,
            client=client,
            details=dict(details or {}),
        )
    )


# -- GET /audit ------------------------------------------------------------------------------


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="Token id, 'oidc:<subject>', 'anonymous', or 'cli:<user>'.")
    actor_kind: str = Field(description="token, oidc, anonymous, cli, or none (auth off).")
    teams: list[str]
    role: str | None
    action: str = Field(examples=["contract.publish"])
    target: str | None = Field(description="The path's parameters: contract, version...")
    outcome: str = Field(description="ok, denied, refused, invalid, not_found, error.")
    status: int | None = Field(description="HTTP status (absent when recorded in the change).")
    method: str | None
    path: str | None
    client: str | None = Field(description="The client's address.")
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


router = APIRouter(tags=["security"])


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="Read the audit log (admin)",
    responses=error_responses(401, 403, 422),
)
def read_audit(
    db: Db,
    actor: str | None = Query(None, max_length=255, description="Token id or OIDC subject."),
    team: str | None = Query(None, max_length=255, description="A team of the actor."),
    action: str | None = Query(None, max_length=64, description="e.g. contract.publish"),
    target: str | None = Query(None, max_length=512, description="e.g. orders.created"),
    outcome: str | None = Query(None, max_length=16),
    since: UtcDatetime | None = Query(None, description="At or after this time."),
    until: UtcDatetime | None = Query(None, description="Before this time."),
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    """Audit entries, newest first, a page at a time."""
    where: list[sa.ColumnElement[bool]] = []
    for column, value in (
        (AuditRow.actor, actor),
        (AuditRow.action, action),
        (AuditRow.target, target),
        (AuditRow.outcome, outcome),
    ):
        if value is not None:
            where.append(column == value)
    if since is not None:
        where.append(AuditRow.at >= since)
    if until is not None:
        where.append(AuditRow.at < until)
    if team is not None:  # teams is a JSON list of strings: its text holds "team"
        where.append(sa.cast(AuditRow.teams, sa.Text).contains(json.dumps(team), autoescape=True))
    with db.reads() as session:
        query = sa.select(AuditRow).where(*where).order_by(AuditRow.id.desc())
        total = session.scalar(sa.select(sa.func.count()).select_from(AuditRow).where(*where))
        rows = list(session.scalars(query.limit(limit).offset(offset)))
        items = [AuditOut.model_validate(r, from_attributes=True) for r in rows]
    return AuditPage(items=items, total=total or 0, limit=limit, offset=offset)
