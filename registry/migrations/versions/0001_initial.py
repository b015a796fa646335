"""Contracts, their versions, tags and consumers.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner_team", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(32), nullable=True),
        sa.Column("policy", sa.String(16), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("deleted_at", nullable=True),
        _timestamp("purged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contracts"),
        sa.UniqueConstraint("name", name="uq_contracts_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_contracts_owner_team", "contracts", ["owner_team"])
    op.create_table(
        "contract_tags",
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name="fk_contract_tags_contract_id_contracts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contract_id", "tag", name="pk_contract_tags"),
    )
    op.create_index("ix_contract_tags_tag", "contract_tags", ["tag"])
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _timestamp("created_at"),
        _timestamp("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name="fk_contract_versions_contract_id_contracts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contract_versions"),
        sa.UniqueConstraint(
            "contract_id", "version", name="uq_contract_versions_contract_id_version"
        ),
        sa.UniqueConstraint(
            "contract_id", "fingerprint", name="uq_contract_versions_contract_id_fingerprint"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "consumers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("team", sa.String(255), nullable=False),
        sa.Column("contact", sa.String(255), nullable=True),
        sa.Column("min_version", sa.Integer(), nullable=False),
        sa.Column("max_version", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name="fk_consumers_contract_id_contracts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consumers"),
        sa.UniqueConstraint("contract_id", "name", name="uq_consumers_contract_id_name"),
    )


def downgrade() -> None:
    op.drop_table("consumers")
    op.drop_table("contract_versions")
    op.drop_index("ix_contract_tags_tag", table_name="contract_tags")
    op.drop_table("contract_tags")
    op.drop_index("ix_contracts_owner_team", table_name="contracts")
    op.drop_table("contracts")
