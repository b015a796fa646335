"""Breach aggregates and observations reported by enforcers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _reported(table: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        _timestamp("window_start"),
        _timestamp("window_end"),
        *columns,
        _timestamp("received_at"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.UniqueConstraint("report_id", name=f"uq_{table}_report_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(f"ix_{table}_contract_window", table, ["contract", "window_start"])


def upgrade() -> None:
    _reported(
        "breaches",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _timestamp("first_seen"),
        _timestamp("last_seen"),
        sa.Column("samples", sa.JSON(), nullable=False),
    )
    _reported(
        "observations",
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        _timestamp("max_event_time", nullable=True),
    )


def downgrade() -> None:
    op.drop_index("ix_observations_contract_window", table_name="observations")
    op.drop_table("observations")
    op.drop_index("ix_breaches_contract_window", table_name="breaches")
    op.drop_table("breaches")
