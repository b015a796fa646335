"""The same contract and the same corrupted data give the same failures on every backend."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import polars as pl
import pytest

from enforcers import ValidationReport, validate
from tests.batch.corrupt import COLUMNS, CONTRACT, EXPECTED, NOW, records

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")


def frame_pandas() -> pd.DataFrame:
    return pd.DataFrame(records(), columns=COLUMNS)


def frame_polars() -> pl.DataFrame:
    return pl.DataFrame(records(), schema={c: None for c in COLUMNS}, infer_schema_length=None)


def assert_expected(report: ValidationReport) -> None:
    for check in report.checks:
        if not check.enforced:
            assert check.name == "warehouse_check"
            continue
        want = EXPECTED.get(check.name, 0)
        if check.category in ("schema", "rule"):
            assert check.failed_rows == want, check.name
        else:
            assert check.passed == (want == 0), check.name
    assert report.failure_counts() == EXPECTED
    assert not report.passed
    assert report.rows == 120


def test_pandas() -> None:
    report = validate(frame_pandas(), CONTRACT, now=NOW)
    assert report.backend == "pandas"
    assert_expected(report)
    assert report.check("amount: minimum").failing_indices == [13]
    assert report.check("coupon: pattern").failing_indices == [17, 18]


def test_polars_matches_pandas() -> None:
    pandas = validate(frame_pandas(), CONTRACT, now=NOW)
    polars = validate(frame_polars(), CONTRACT, now=NOW)
    assert polars.backend == "polars"
    assert_expected(polars)
    assert [c.name for c in polars.checks] == [c.name for c in pandas.checks]
    for a, b in zip(pandas.checks, polars.checks, strict=True):
        assert (a.failed_rows, a.passed, a.failing_indices) == (
            b.failed_rows,
            b.passed,
            b.failing_indices,
        ), a.name
    assert polars.failed_rows == pandas.failed_rows == 16


def test_lazy_polars_frame() -> None:
    assert_expected(validate(frame_polars().lazy(), CONTRACT, now=NOW))


def test_report_shape() -> None:
    report = validate(frame_pandas(), CONTRACT, now=NOW)
    d = report.to_dict()
    assert d["counts"]["rule"] == {
        "checks": 3,
        "passed": 0,
        "failed": 2,
        "warnings": 1,
        "not_enforced": 0,
    }
    assert d["counts"]["quality"]["not_enforced"] == 1
    assert d["rules_row_wise"] == 0
    assert d["duration_s"] > 0
    email = report.check("customer.email: format:email")
    assert email.samples[0]["customer.email"] == "<redacted>"
    assert email.samples[0]["customer.id"] == "C0021"
    assert "nope" not in str(d)


def test_pandas_index_labels_are_reported() -> None:
    df = frame_pandas()
    df.index = [f"r{i}" for i in range(len(df))]
    report = validate(df, CONTRACT, now=NOW)
    assert report.check("amount: maximum").failing_indices == ["r14"]


@pytest.mark.slow
def test_spark_matches(spark: Any) -> None:
    from pyspark.sql import types as T

    schema = T.StructType(
        [
            T.StructField(
                c,
                T.LongType()
                if c == "amount"
                else T.DoubleType()
                if c == "discount"
                else T.StringType(),
            )
            for c in COLUMNS
        ]
    )
    rows = [tuple(r[c] for c in COLUMNS) for r in records()]
    df = spark.createDataFrame(rows, schema)
    report = validate(df, CONTRACT, now=NOW)
    assert report.backend == "pyspark"
    assert_expected(report)
    pandas = validate(frame_pandas(), CONTRACT, now=NOW)
    assert {c.name: c.failed_rows for c in report.checks} == {
        c.name: c.failed_rows for c in pandas.checks
    }
    assert report.failed_rows == pandas.failed_rows
    email = report.check("customer.email: format:email")
    assert email.samples and email.samples[0]["customer.email"] == "<redacted>"
