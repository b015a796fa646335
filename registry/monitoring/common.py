"""Small helpers the monitoring modules share."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["floor_time", "iso", "key", "upsert_ignore"]


def key(prefix: str, *parts: object, limit: int = 128) -> str:
    """A readable idempotency key, hashed when it would be longer than `limit`."""
    text = ":".join([prefix, *(str(p) for p in parts)])
    if len(text) <= limit:
        return text
    return f"{prefix}:{hashlib.sha256(text.encode()).hexdigest()}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def floor_time(moment: datetime, interval: timedelta) -> datetime:
    """The start of the epoch-aligned interval holding `moment`."""
    seconds = interval.total_seconds()
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def upsert_ignore(session: Session, table: Any, elements: list[str]) -> Any:
    """INSERT ... ON CONFLICT (`elements`) DO NOTHING for the session's database."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=elements)
