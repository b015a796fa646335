"""The registry's tables (SQLAlchemy 2). Alembic migrations create them; nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiTokenRow",
    "AuditRow",
    "Base",
    "BreachEpisodeRow",
    "BreachRow",
    "BreachTotalRow",
    "ConfluentConfigRow",
    "ConsumerRow",
    "ContractRow",
    "ContractTagRow",
    "MonitorLeaseRow",
    "ObservationRow",
    "ObservationTotalRow",
    "SlaEventRow",
    "SlaStatusRow",
    "UtcDateTime",
    "VersionRow",
    "WebhookDeliveryRow",
    "WebhookRow",
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
        sa.Index("ix_breaches_received_at", "received_at"),  # episode detection
        {"sqlite_autoincrement": True},
    )

    kind: Mapped[str] = mapped_column(sa.String(16))
    rule: Mapped[str] = mapped_column(sa.String(255))
    severity: Mapped[str] = mapped_column(sa.String(16))
    count: Mapped[int] = mapped_column(sa.BigInteger)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    samples: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class ObservationRow(_Reported, Base):
    """Records an enforcer saw in one window: the input of SLA evaluation."""

    __tablename__ = "observations"
    __table_args__ = (
        sa.Index("ix_observations_contract_window", "contract", "window_start"),
        sa.Index("ix_observations_contract_end", "contract", "window_end"),  # SLA rounds
        {"sqlite_autoincrement": True},
    )

    records: Mapped[int] = mapped_column(sa.BigInteger)
    valid: Mapped[int] = mapped_column(sa.BigInteger)
    invalid: Mapped[int] = mapped_column(sa.BigInteger)
    max_event_time: Mapped[datetime | None]


class BreachTotalRow(Base):
    """Failures counted so far per (contract, version, source, kind, rule): what
    ``/metrics`` exports.

    Kept up with every breach stored (in its transaction), so that a scrape reads a row per
    rule and source instead of summing every report ever received. Per source, so that
    enforcers reporting at once seldom wait for each other's row.
    """

    __tablename__ = "breach_totals"
    __table_args__ = (sa.UniqueConstraint("contract", "version", "source", "kind", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(sa.String(255))
    # 0 when the reports named no version (a local contract file): versions start at 1, and
    # a NULL would make every such row distinct to the unique constraint.
    version: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(16))
    rule: Mapped[str] = mapped_column(sa.String(255))
    count: Mapped[int] = mapped_column(sa.BigInteger)


class ObservationTotalRow(Base):
    """Records validated so far per (contract, source), kept as `BreachTotalRow` is."""

    __tablename__ = "observation_totals"
    __table_args__ = (sa.UniqueConstraint("contract", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(sa.String(255))
    source: Mapped[str] = mapped_column(sa.String(255))
    valid: Mapped[int] = mapped_column(sa.BigInteger)
    invalid: Mapped[int] = mapped_column(sa.BigInteger)


class SlaStatusRow(Base):
    """The current state of one SLA check (freshness, volume, breach_rate) of one source.

    `episode` counts the breached episodes so far: the idempotency key of each breach the
    evaluator raises is built from it, so two evaluators never count one episode twice.
    """

    __tablename__ = "sla_status"
    __table_args__ = (sa.UniqueConstraint("contract", "source", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(sa.String(255))
    source: Mapped[str] = mapped_column(sa.String(255))
    rule: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    episode: Mapped[int] = mapped_column(default=0)
    since: Mapped[datetime]
    evaluated_at: Mapped[datetime]
    measured: Mapped[float | None]
    threshold: Mapped[float | None]
    message: Mapped[str] = mapped_column(sa.Text, default="")


class SlaEventRow(Base):
    """A change of an SLA check's status: the history `GET /contracts/{name}/sla` shows."""

    __tablename__ = "sla_events"
    __table_args__ = (
        sa.Index("ix_sla_events_contract_at", "contract", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(sa.String(255))
    source: Mapped[str] = mapped_column(sa.String(255))
    rule: Mapped[str] = mapped_column(sa.String(32))
    previous: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    episode: Mapped[int]
    at: Mapped[datetime]
    measured: Mapped[float | None]
    threshold: Mapped[float | None]
    message: Mapped[str] = mapped_column(sa.Text, default="")


class BreachEpisodeRow(Base):
    """A run of breaches of one contract and rule: from the first breach received after a
    quiet spell until no breach arrived for the quiet period (`ended_at` set then)."""

    __tablename__ = "breach_episodes"
    __table_args__ = (sa.UniqueConstraint("contract", "kind", "rule", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(16))
    rule: Mapped[str] = mapped_column(sa.String(255))
    number: Mapped[int]
    started_at: Mapped[datetime]
    last_received_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    breaches: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class MonitorLeaseRow(Base):
    """A lease on a periodic job, so that one registry process at a time runs it."""

    __tablename__ = "monitor_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime]


class WebhookRow(Base):
    """A registered webhook: a URL told about events of one contract, one team, or all."""

    __tablename__ = "webhooks"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    # As given, or sealed (`registry.monitoring.sealing`): a Fernet token of up to ~420
    # characters for a secret of 255.
    secret: Mapped[str] = mapped_column(sa.String(512))
    secret_sealed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    contract: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    team: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=now)


class WebhookDeliveryRow(Base):
    """The outbox: one event to deliver to one webhook, retried with backoff until done.

    (`webhook_id`, `event_id`) is unique, so an event enqueued twice is delivered once;
    `locked_until` is the claim of the process sending it.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id"),
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(255))
    event_type: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=now)
    delivered_at: Mapped[datetime | None]


class ConfluentConfigRow(Base):
    """Schema Registry API settings: the global row (subject ``""``) and per-subject rows.

    For a subject that is a live contract, the contract row holds the compatibility in force
    (`compatibility`/`policy` here are only kept for subjects not registered yet);
    `follows_global` marks a subject without subject-level compatibility, whose contract
    follows the global setting. `mode` is READWRITE, READONLY, READONLY_OVERRIDE or IMPORT.
    """

    __tablename__ = "confluent_configs"

    subject: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    compatibility: Mapped[str | None] = mapped_column(sa.String(32))
    policy: Mapped[str | None] = mapped_column(sa.String(16))
    mode: Mapped[str | None] = mapped_column(sa.String(32))
    follows_global: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=now)


# -- security: API tokens and the audit log -------------------------------------------------


class ApiTokenRow(Base):
    """An API token: only a salted HMAC-SHA256 of its secret is stored, never the secret.

    A token reads ``accord_<id>_<secret>``; `id` finds the row, and the secret must hash to
    `digest` under `salt`. `teams` are the teams it acts for; `role` one of admin,
    producer, consumer, reporter, reader.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    teams: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    role: Mapped[str] = mapped_column(sa.String(16))
    salt: Mapped[str] = mapped_column(sa.String(64))
    digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    created_by: Mapped[str | None] = mapped_column(sa.String(255))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditRow(Base):
    """One state-changing request (or CLI action): who, when, what, from where, outcome.

    Never holds a secret: no token, no request body, no webhook secret.
    """

    __tablename__ = "audit_log"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    actor: Mapped[str] = mapped_column(sa.String(255), index=True)
    actor_kind: Mapped[str] = mapped_column(sa.String(16))
    teams: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    role: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str | None] = mapped_column(sa.String(512), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[int | None]
    method: Mapped[str | None] = mapped_column(sa.String(8))
    path: Mapped[str | None] = mapped_column(sa.String(2048))
    client: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
