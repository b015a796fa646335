"""Alembic owns the schema: up from empty, down to base, and up again, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from registry.migrate import alembic_config, head_revision
from registry.tables import Base

TABLES = {
    "contracts",
    "contract_tags",
    "contract_versions",
    "consumers",
    "breaches",
    "observations",
    "confluent_configs",
    "sla_status",
    "sla_events",
    "breach_episodes",
    "monitor_leases",
    "webhooks",
    "webhook_deliveries",
    "api_tokens",
    "audit_log",
}


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    assert _tables(empty_database_url) == set()
    command.upgrade(config, "head")
    assert _tables(empty_database_url) == TABLES
    command.downgrade(config, "base")
    assert _tables(empty_database_url) == set()
    command.upgrade(config, "head")
    assert _tables(empty_database_url) == TABLES


def test_migrations_match_the_models(database_url: str) -> None:
    """What `alembic check` says: autogenerate finds nothing left to migrate."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == head_revision()
    finally:
        engine.dispose()
