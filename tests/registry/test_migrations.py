"""Alembic owns the schema: up from empty, down to base, and up again, on both databases."""

from __future__ import annotations

import pytest
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
    "breach_totals",
    "observations",
    "observation_totals",
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


def test_running_totals_start_from_the_reports_stored_before(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0007")
    window = {"window_start": "2026-01-01 00:00:00", "window_end": "2026-01-01 00:01:00"}
    stamps = {"received_at": "2026-01-01 00:02:00", **window}
    breach = {"kind": "rule", "rule": "r", "severity": "error", "samples": "[]", **stamps}
    breach |= {"first_seen": window["window_start"], "last_seen": window["window_end"]}
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO breaches (report_id, source, contract, version, kind, rule, "
                    "severity, count, first_seen, last_seen, samples, window_start, window_end, "
                    "received_at) VALUES (:report_id, 's', 'c', :version, :kind, :rule, "
                    ":severity, :count, :first_seen, :last_seen, :samples, :window_start, "
                    ":window_end, :received_at)"
                ),
                [
                    {**breach, "report_id": "a", "version": 1, "count": 2},
                    {**breach, "report_id": "b", "version": 1, "count": 3},
                    {**breach, "report_id": "c", "version": None, "count": 5},
                ],
            )
            connection.execute(
                sa.text(
                    "INSERT INTO observations (report_id, source, contract, version, records, "
                    "valid, invalid, window_start, window_end, received_at) VALUES "
                    "(:report_id, 's', 'c', 1, :records, :valid, :invalid, :window_start, "
                    ":window_end, :received_at)"
                ),
                [
                    {**stamps, "report_id": "o1", "records": 10, "valid": 9, "invalid": 1},
                    {**stamps, "report_id": "o2", "records": 4, "valid": 4, "invalid": 0},
                ],
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            totals = connection.execute(
                sa.text("SELECT contract, version, source, kind, rule, count FROM breach_totals")
            ).all()
            records = connection.execute(
                sa.text("SELECT contract, source, valid, invalid FROM observation_totals")
            ).all()
    finally:
        engine.dispose()
    assert sorted(map(tuple, totals)) == [
        ("c", 0, "s", "rule", "r", 5),
        ("c", 1, "s", "rule", "r", 5),
    ]
    assert list(map(tuple, records)) == [("c", "s", 13, 1)]


def test_counts_past_32_bits_stop_a_downgrade_by_name(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO observations (report_id, source, contract, version, records, "
                    "valid, invalid, window_start, window_end, received_at) VALUES ('o', 's', "
                    "'c', 1, :records, :records, 0, '2026-01-01 00:00:00', "
                    "'2026-01-01 00:01:00', '2026-01-01 00:02:00')"
                ),
                {"records": 2**33},
            )
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match=r"observations\.records holds 8589934592"):
        command.downgrade(config, "0008")
    command.upgrade(config, "head")  # still at head, nothing half done
