"""Webhook secrets sealed at rest: room for a Fernet token, and a flag for sealed rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as table:
        table.alter_column(
            "secret", existing_type=sa.String(255), type_=sa.String(512), existing_nullable=False
        )
        table.add_column(
            sa.Column("secret_sealed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    # Before this revision every secret was read as given: a sealed one would sign with the
    # token itself, so it is not silently left behind.
    sealed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM webhooks WHERE secret_sealed = :yes"), {"yes": True}
    )
    if sealed:
        raise RuntimeError(
            f"{sealed} webhook(s) hold sealed secrets, which revision 0005 cannot read: "
            "delete them (DELETE /webhooks/{id}) and register them again after downgrading"
        )
    with op.batch_alter_table("webhooks") as table:
        table.drop_column("secret_sealed")
        table.alter_column(
            "secret", existing_type=sa.String(512), type_=sa.String(255), existing_nullable=False
        )
