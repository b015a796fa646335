"""Counts in 64 bits: a report's breach count, an observation's records, an episode's total.

The API takes counts up to 2**40 (a batch job may count billions of failing rows in one
window), but these columns were 32-bit on PostgreSQL: a larger count made the whole batch
fail there, and the reporter set it aside as refused. SQLite copies each table (its
integers were 64-bit already; the declared type follows the models). PostgreSQL rewrites
each table under an exclusive lock: on a large breach store, upgrade in a quiet hour.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "breaches": ("count",),
    "observations": ("records", "valid", "invalid"),
    "breach_episodes": ("breaches",),
}
# The copies SQLite makes must keep AUTOINCREMENT: ids are never reused after a delete.
AUTOINCREMENT = {"breaches", "observations"}


def _retype(old: type[sa.types.TypeEngine[int]], new: type[sa.types.TypeEngine[int]]) -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        kwargs = {"sqlite_autoincrement": True} if table in AUTOINCREMENT else {}
        issued = _sequence(bind, table) if sqlite and table in AUTOINCREMENT else None
        with op.batch_alter_table(table, table_kwargs=kwargs) as batch:
            for column in columns:
                batch.alter_column(
                    column, existing_type=old(), type_=new(), existing_nullable=False
                )
        if issued is not None:
            # The copy restarts the sequence at the largest id left, which may be below one
            # already issued (the newest rows deleted): carry the old one over.
            bind.execute(
                sa.text("UPDATE sqlite_sequence SET seq = MAX(seq, :seq) WHERE name = :name"),
                {"seq": issued, "name": table},
            )


def _sequence(bind: sa.Connection, table: str) -> int | None:
    """The last id SQLite issued for `table` (None before its first row)."""
    seq = bind.scalar(
        sa.text("SELECT seq FROM sqlite_sequence WHERE name = :name"), {"name": table}
    )
    return None if seq is None else int(seq)


def upgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    # A count past 32 bits cannot go back: say which, rather than fail in the database.
    bind = op.get_bind()
    for table, columns in COLUMNS.items():
        for column in columns:
            # Names from COLUMNS above, never from input.
            largest = bind.scalar(sa.text(f"SELECT MAX({column}) FROM {table}"))
            if largest is not None and largest > 2**31 - 1:
                raise RuntimeError(
                    f"{table}.{column} holds {largest}, more than revision 0008 can hold "
                    f"(2**31 - 1): delete those rows (or stay on 0009) before downgrading"
                )
    _retype(sa.BigInteger, sa.Integer)
