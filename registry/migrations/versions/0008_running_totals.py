"""Running totals of breaches and validated records, for /metrics.

A scrape summed every breach and observation ever reported: 2 s per scrape after a year of
reports (2.6M rows). The totals are now kept with each report stored; this revision creates
them from the reports stored so far. Upgrade with no older registry process still taking
reports: what one stores after this revision ran would never be added to the totals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "breach_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_breach_totals"),
        sa.UniqueConstraint(
            "contract",
            "version",
            "source",
            "kind",
            "rule",
            name="uq_breach_totals_contract_version_source_kind_rule",
        ),
    )
    op.create_table(
        "observation_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract", sa.String(255), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("valid", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_observation_totals"),
        sa.UniqueConstraint("contract", "source", name="uq_observation_totals_contract_source"),
    )
    op.execute(
        "INSERT INTO breach_totals (contract, version, source, kind, rule, count) "
        "SELECT contract, COALESCE(version, 0), source, kind, rule, SUM(count) FROM breaches "
        "GROUP BY contract, COALESCE(version, 0), source, kind, rule"
    )
    op.execute(
        "INSERT INTO observation_totals (contract, source, valid, invalid) "
        "SELECT contract, source, SUM(valid), SUM(invalid) FROM observations "
        "GROUP BY contract, source"
    )


def downgrade() -> None:
    op.drop_table("observation_totals")
    op.drop_table("breach_totals")
