"""Events for webhooks: built once, put in the outbox of every webhook that wants them.

An event is enqueued in the transaction that made it happen (an SLA status change, a
breach episode starting or ending) or right after it (a refused publish), with an id that
is the same however often it is enqueued: (webhook, event id) is unique in the outbox, so
an event reaches each webhook once even when two registry processes both see it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.monitoring.common import iso, upsert_ignore
from registry.tables import ContractRow, WebhookDeliveryRow, WebhookRow

__all__ = [
    "BREACH_EPISODE_ENDED",
    "BREACH_EPISODE_STARTED",
    "EVENT_TYPES",
    "PUBLISH_REFUSED",
    "SLA_STATUS_CHANGED",
    "enqueue",
]

log = logging.getLogger("registry")

BREACH_EPISODE_STARTED = "breach.episode_started"
BREACH_EPISODE_ENDED = "breach.episode_ended"
SLA_STATUS_CHANGED = "sla.status_changed"
PUBLISH_REFUSED = "contract.publish_refused"
EVENT_TYPES = (BREACH_EPISODE_STARTED, BREACH_EPISODE_ENDED, SLA_STATUS_CHANGED, PUBLISH_REFUSED)


def owner_team(session: Session, contract: str) -> str | None:
    team: str | None = session.scalar(
        sa.select(ContractRow.owner_team).where(ContractRow.name == contract)
    )
    return team


def enqueue(
    session: Session,
    event_type: str,
    event_id: str,
    contract: str,
    data: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> int:
    """Put the event in the outbox of each matching webhook; how many were new."""
    at = at or datetime.now(UTC)
    team = owner_team(session, contract)
    hooks = session.execute(
        sa.select(WebhookRow.id, WebhookRow.events).where(
            sa.or_(WebhookRow.contract.is_(None), WebhookRow.contract == contract),
            sa.or_(WebhookRow.team.is_(None), WebhookRow.team == team),
        )
    ).all()
    wanted = [hook_id for hook_id, events in hooks if not events or event_type in events]
    if not wanted:
        return 0
    body = orjson.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created_at": iso(at),
            "contract": contract,
            "team": team,
            "data": data,
        }
    ).decode()
    added = 0
    queued = datetime.now(UTC)  # due at once, whatever moment the event is dated
    statement = upsert_ignore(session, WebhookDeliveryRow, ["webhook_id", "event_id"])
    for hook_id in wanted:
        inserted = session.execute(
            statement.returning(WebhookDeliveryRow.id).values(
                webhook_id=hook_id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                state="pending",
                attempts=0,
                next_attempt_at=queued,
                created_at=queued,
            )
        ).first()
        added += inserted is not None
    if added:
        log.info("event %s (%s) queued for %d webhook(s)", event_id, event_type, added)
    return added
