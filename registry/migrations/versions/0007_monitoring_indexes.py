"""Indexes for the monitor's rounds: breaches by arrival, observations by window end.

Episode detection reads the breaches received lately, and SLA evaluation the observations
of a contract whose windows ended within the horizon; without these both scanned the whole
history, so each round grew with the registry's age.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_breaches_received_at", "breaches", ["received_at"])
    op.create_index("ix_observations_contract_end", "observations", ["contract", "window_end"])


def downgrade() -> None:
    op.drop_index("ix_observations_contract_end", table_name="observations")
    op.drop_index("ix_breaches_received_at", table_name="breaches")
