"""`accord validate --report`: a batch run's breaches land in a real registry, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import pytest
from alembic import command

from registry.migrate import alembic_config
from tests.batch.corrupt import COLUMNS, DOCUMENT, records
from tests.cli import Ran, accord
from tests.processes import free_port, running_registry

pytestmark = pytest.mark.slow


def validate(data: Path, registry: str, cwd: Path, run_id: str) -> Ran:
    # A local contract file: validation needs no registry, only the reports go there.
    contract = str(cwd / "shop.orders.json")
    return accord(
        "validate", str(data), "--contract", contract, "--format", "json",
        "--report", "--registry", registry, "--job", "nightly", "--run-id", run_id,
        cwd=cwd,
    )  # fmt: skip


def expected_counts(output: str) -> dict[str, int]:
    report = json.loads(output)
    return {
        c["name"]: c.get("failed_rows") or 1
        for c in report["checks"]
        if c["enforced"] and not c["passed"]
    }


def registry_and_data(tmp_path: Path) -> tuple[str, Path]:
    """A migrated SQLite registry database, the contract file and a CSV of the records."""
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    command.upgrade(alembic_config(database), "head")
    (tmp_path / "shop.orders.json").write_text(json.dumps(DOCUMENT))
    data = tmp_path / "orders.csv"
    pl.DataFrame(records(), schema={c: None for c in COLUMNS}, infer_schema_length=None).write_csv(
        data
    )
    return database, data


def test_batch_breaches_reach_the_registry_once_even_across_an_outage(tmp_path: Path) -> None:
    database, data = registry_and_data(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running_registry(database, tmp_path, port=port):
        assert httpx.post(f"{url}/contracts/shop.orders/versions", json=DOCUMENT).status_code == 201
        first = validate(data, url, tmp_path, "r1")
        assert first.returncode == 1, first.stderr  # the data breaches the contract
    expected = expected_counts(first.stdout)
    assert expected

    # The registry is down: the run still validates, and its report waits on disk.
    second = validate(data, url, tmp_path, "r2")
    assert second.returncode == 1
    assert "registry unreachable: 1 report(s) kept" in second.stderr
    assert expected_counts(second.stdout) == expected

    with running_registry(database, tmp_path, port=port):
        third = validate(data, url, tmp_path, "r3")  # sends r2's spooled report, then its own
        assert third.returncode == 1 and "unreachable" not in third.stderr
        page = httpx.get(f"{url}/contracts/shop.orders/breaches", params={"limit": 1}).json()
    by_rule = {r["rule"]: r["count"] for r in page["by_rule"]}
    assert by_rule == {name: 3 * count for name, count in expected.items()}
    sources = {item["source"] for item in page["items"]}
    assert sources <= {"nightly/r1", "nightly/r2", "nightly/r3"}  # job name / run id


def test_reports_refused_for_credentials_exit_2_and_say_so(tmp_path: Path) -> None:
    # Not "unreachable": the registry answered, and no later run with these credentials can
    # deliver the reports. Exit 2 even with --fail-on never, which would otherwise hide it.
    database, data = registry_and_data(tmp_path)
    with running_registry(database, tmp_path, environ={"ACCORD_AUTH": "on"}) as url:
        result = accord(
            "validate", str(data), "--contract", str(tmp_path / "shop.orders.json"),
            "--report", "--registry", url, "--fail-on", "never", "--spool-dir", "spool",
            cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--report: the registry refused the credentials (ACCORD_TOKEN)" in result.stderr
    assert "[unauthorized]; 1 report(s) kept in spool" in result.stderr
    assert "unreachable" not in result.stderr
