"""`@enforce`: raise, report and quarantine, on pandas and polars."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

from enforcers import ContractBreach, ValidationReport, enforce, validate
from tests.batch.corrupt import COLUMNS, CONTRACT, records

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")


class Collect:
    def __init__(self) -> None:
        self.reports: list[tuple[ValidationReport, str]] = []

    def report(self, report: ValidationReport, source: str) -> None:
        self.reports.append((report, source))


def test_raise() -> None:
    reporter = Collect()

    @enforce(CONTRACT, reporter=reporter)
    def step() -> pd.DataFrame:
        return pd.DataFrame(records(), columns=COLUMNS)

    with pytest.raises(ContractBreach) as caught:
        step()
    assert caught.value.report.failed_rows == 16
    assert "shop.orders" in str(caught.value)
    assert reporter.reports[0][1].endswith("test_raise.<locals>.step")


def test_a_breach_that_raises_is_reported_first() -> None:
    reporter = Collect()
    frame = pd.DataFrame(records(), columns=COLUMNS)
    with pytest.raises(ContractBreach) as caught:
        validate(frame, CONTRACT, lazy=False, reporter=reporter, source="nightly")
    assert [(r.passed, source) for r, source in reporter.reports] == [(False, "nightly")]
    assert reporter.reports[0][0] is caught.value.report


def test_report_passes_the_frame_on(caplog: pytest.LogCaptureFixture) -> None:
    @enforce(CONTRACT, on_breach="report")
    def step() -> pl.DataFrame:
        return pl.DataFrame(records(), schema={c: None for c in COLUMNS})

    with caplog.at_level(logging.WARNING, logger="accord.enforce"):
        out = step()
    assert out.height == 120
    assert "FAILED: shop.orders" in caplog.text
    assert not step.last_report.passed  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_quarantine(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "bad.parquet"

    @enforce(CONTRACT, on_breach="quarantine", quarantine_path=target)
    def step() -> Any:
        rows = records()
        if kind == "pandas":
            return pd.DataFrame(rows, columns=COLUMNS)
        return pl.DataFrame(rows, schema={c: None for c in COLUMNS})

    good = step()
    assert len(good) == 120 - 16
    bad = pl.read_parquet(target)
    assert bad.height == 16
    reasons = dict(
        zip(bad["order_id"].to_list(), bad["_accord_failed_checks"].to_list(), strict=True)
    )
    assert reasons["not-a-uuid"] == ["order_id: format:uuid"]
    # The warning-level rule alone does not quarantine a row.
    assert "00000000-0000-4000-8000-000000000023" not in reasons


def test_passing_frame_is_returned_unchanged(tmp_path: Path) -> None:
    rows = [r for i, r in enumerate(records()) if i not in range(1, 25)]

    @enforce(CONTRACT, on_breach="quarantine", quarantine_path=tmp_path, now=None)
    def step() -> pd.DataFrame:
        return pd.DataFrame(rows, columns=COLUMNS)

    out = step()
    report = step.last_report  # type: ignore[attr-defined]
    assert [c.name for c in report.failures] == ["enough_rows", "freshness"]  # not by row
    assert len(out) == len(rows)
    assert not list(tmp_path.iterdir())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="quarantine_path"):
        enforce(CONTRACT, on_breach="quarantine")
    with pytest.raises(ValueError, match="on_breach"):
        enforce(CONTRACT, on_breach="drop")  # type: ignore[arg-type]
