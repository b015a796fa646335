"""Confluent Schema Registry compatible API: global and per-subject config and mode.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "confluent_configs",
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("compatibility", sa.String(32), nullable=True),
        sa.Column("policy", sa.String(16), nullable=True),
        sa.Column("mode", sa.String(32), nullable=True),
        sa.Column("follows_global", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_confluent_configs"),
    )


def downgrade() -> None:
    op.drop_table("confluent_configs")
