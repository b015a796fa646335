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


def test_batch_breaches_reach_the_registry_once_even_across_an_outage(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'registry.db'}"
    command.upgrade(alembic_config(database), "head")
    (tmp_path / "shop.orders.json").write_text(json.dumps(DOCUMENT))
    data = tmp_path / "orders.csv"
    pl.DataFrame(records(), schema={c: None for c in COLUMNS}, infer_schema_length=None).write_csv(
        data
    )
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
