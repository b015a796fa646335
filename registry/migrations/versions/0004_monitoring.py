"""Monitoring: SLA status and history, breach episodes, leases, webhooks and their outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sla_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        _timestamp("since"),
        _timestamp("evaluated_at"),
        sa.Column("measured", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sla_status"),
        sa.UniqueConstraint(
            "contract", "source", "rule", name="uq_sla_status_contract_source_rule"
        ),
    )
    op.create_table(
        "sla_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("previous", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("measured", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sla_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sla_events_contract_at", "sla_events", ["contract", "at"])
    op.create_table(
        "breach_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _timestamp("started_at"),
        _timestamp("last_received_at"),
        _timestamp("ended_at", nullable=True),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_breach_episodes"),
        sa.UniqueConstraint(
            "contract", "kind", "rule", "number", name="uq_breach_episodes_contract_kind_rule_number"
        ),
    )
    op.create_index("ix_breach_episodes_ended_at", "breach_episodes", ["ended_at"])
    op.create_table(
        "monitor_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        _timestamp("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_monitor_leases"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(255), nullable=False),
        sa.Column("contract", sa.String(255), nullable=True),
        sa.Column("team", sa.String(255), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhooks_contract", "webhooks", ["contract"])
    op.create_index("ix_webhooks_team", "webhooks", ["team"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("next_attempt_at"),
        _timestamp("locked_until", nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_deliveries_webhook_id_webhooks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "webhook_id", "event_id", name="uq_webhook_deliveries_webhook_id_event_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_team", table_name="webhooks")
    op.drop_index("ix_webhooks_contract", table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_table("monitor_leases")
    op.drop_index("ix_breach_episodes_ended_at", table_name="breach_episodes")
    op.drop_table("breach_episodes")
    op.drop_index("ix_sla_events_contract_at", table_name="sla_events")
    op.drop_table("sla_events")
    op.drop_table("sla_status")
