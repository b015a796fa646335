"""The registry's tables (SQLAlchemy 2). Alembic migrations create them; nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "BreachRow",
    "ConsumerRow",
    "ContractRow",
    "ContractTagRow",
    "ObservationRow",
    "UtcDateTime",
    "VersionRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, also on SQLite (which stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


class ContractRow(Base):
    """A contract name, its registry config, and a summary of its latest live version.

    A permanently deleted contract keeps this row (`purged_at` set, everything else gone)
    so that `last_version` goes on counting: a version number is never handed out twice.
    """

    __tablename__ = "contracts"
    # AUTOINCREMENT: SQLite would otherwise reuse the id of a deleted last row.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    owner_team: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    status: Mapped[str | None] = mapped_column(sa.String(16))
    latest_version: Mapped[int | None]
    last_version: Mapped[int] = mapped_column(default=0)
    mode: Mapped[str | None] = mapped_column(sa.String(32))
    policy: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    deleted_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]


class ContractTagRow(Base):
    """Tags of a contract's latest live version (for filtering)."""

    __tablename__ = "contract_tags"

    contract_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)


class VersionRow(Base):
    """One immutable published version: canonical document JSON and its fingerprint.

    `id` is the global id of the version across contracts; only `status` (lifecycle) and
    `deleted_at` (soft delete) ever change.
    """

    __tablename__ = "contract_versions"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "version"),
        sa.UniqueConstraint("contract_id", "fingerprint"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"))
    version: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    document: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=now)
    deleted_at: Mapped[datetime | None]


class ConsumerRow(Base):
    """A registered consumer of a contract (unique by name within the contract)."""

    __tablename__ = "consumers"
    __table_args__ = (sa.UniqueConstraint("contract_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(255))
    team: Mapped[str] = mapped_column(sa.String(255))
    contact: Mapped[str | None] = mapped_column(sa.String(255))
    min_version: Mapped[int] = mapped_column(default=1)
    max_version: Mapped[int | None]
    fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class _Reported:
    """Columns every row an enforcer reports has: who, for what, which window, once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # The enforcer's idempotency key: a resent item is stored once.
    report_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    source: Mapped[str] = mapped_column(sa.String(255))
    # By name, as enforcers name it: the rows outlive versions (and may precede them).
    contract: Mapped[str] = mapped_column(sa.String(255))
    version: Mapped[int | None]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=now)


class BreachRow(_Reported, Base):
    """One aggregate of failures an enforcer reported: a rule, a source, a window."""

    __tablename__ = "breaches"
    __table_args__ = (
        sa.Index("ix_breaches_contract_window", "contract", "window_start"),
        {"sqlite_autoincrement": True},
    )

    kind: Mapped[str] = mapped_column(sa.String(16))
    rule: Mapped[str] = mapped_column(sa.String(255))
    severity: Mapped[str] = mapped_column(sa.String(16))
    count: Mapped[int]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    samples: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class ObservationRow(_Reported, Base):
    """Records an enforcer saw in one window: the input of SLA evaluation."""

    __tablename__ = "observations"
    __table_args__ = (
        sa.Index("ix_observations_contract_window", "contract", "window_start"),
        {"sqlite_autoincrement": True},
    )

    records: Mapped[int]
    valid: Mapped[int]
    invalid: Mapped[int]
    max_event_time: Mapped[datetime | None]
