"""The pandas backend computes what its checks share once per validation (`ColumnMemo`):
the results are the same as computing everything afresh, check by check."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from contracts import Contract
from enforcers import ValidationReport, validate
from enforcers.batch.backends import pandas as backend
from enforcers.batch.backends.pandas import ColumnMemo
from tests.batch.corrupt import COLUMNS, DOCUMENT, NOW, records

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")

# The shared contract, with a second rule parsing the same timestamps as the first (and as
# the freshness SLA): a primary key and a duplicate_rate check already share order_id.
REREAD = Contract.from_document(
    {
        **DOCUMENT,
        "rules": [
            *DOCUMENT["rules"],
            {
                "name": "created_before_shipping",
                "expression": "!has(this.shipped_at) || "
                "timestamp(this.created_at) <= timestamp(this.shipped_at)",
            },
        ],
    }
)


def outcome(report: ValidationReport) -> list[tuple[Any, ...]]:
    return [
        (c.name, c.passed, c.failed_rows, c.failing_indices, c.samples, c.measured)
        for c in report.checks
    ]


def test_memo_does_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame(records(), columns=COLUMNS)
    remembered = validate(frame, REREAD, now=NOW)
    monkeypatch.setattr(backend, "ColumnMemo", partial(ColumnMemo, remember=False))
    afresh = validate(frame, REREAD, now=NOW)
    assert outcome(remembered) == outcome(afresh)
    assert remembered.check("created_before_shipping").failed_rows == 2
    assert remembered.failing_positions is not None and afresh.failing_positions is not None
    assert remembered.failing_positions.tolist() == afresh.failing_positions.tolist()


def test_memo_knows_a_series_by_identity_only() -> None:
    memo = ColumnMemo()
    s = pd.Series(["a", None, "b"])
    first = memo.nulls(s)
    assert memo.nulls(s) is first
    assert not first.flags.writeable  # shared: no check may change it for the others
    copy = s.copy()
    assert memo.nulls(copy) is not first
    assert memo.nulls(copy).tolist() == [False, True, False]
    fresh = ColumnMemo(remember=False)
    assert fresh.nulls(s) is not fresh.nulls(s)


def test_every_kind_of_null_passes_type_and_value_checks() -> None:
    contract = Contract.from_document(
        {
            "name": "t.nulls",
            "owner": {"team": "t"},
            "schema": {
                "type": "object",
                "properties": {"code": {"type": "string", "pattern": "^a"}},
            },
        }
    )
    frame = pd.DataFrame(
        {"code": pd.Series(["a1", None, np.nan, pd.NA, pd.NaT, 5, "b1"], dtype=object)}
    )
    report = validate(frame, contract)
    assert report.check("code: type").failing_indices == [5]
    assert report.check("code: pattern").failing_indices == [6]


def test_pattern_on_an_untyped_column_passes_non_strings() -> None:
    contract = Contract.from_document(
        {
            "name": "t.untyped",
            "owner": {"team": "t"},
            "schema": {"type": "object", "properties": {"code": {"pattern": "^a"}}},
        }
    )
    frame = pd.DataFrame({"code": pd.Series(["ab", 5, None, "x"], dtype=object)})
    assert validate(frame, contract).check("code: pattern").failing_indices == [3]


@pytest.mark.parametrize("dtype", [object, "string"])  # Arrow's RE2 path, Python's re path
def test_timestamp_with_a_trailing_newline_is_an_error_as_per_record(dtype: Any) -> None:
    """Python's ``$`` matches before a final newline; ``datetime.fromisoformat`` (the
    per-record evaluator) rejects the string, and so must the vectorized backends."""
    contract = Contract.from_document(
        {
            "name": "t.stamps",
            "owner": {"team": "t"},
            "schema": {
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            },
            "rules": [{"name": "later", "expression": "timestamp(this.a) >= timestamp(this.b)"}],
        }
    )
    frame = pd.DataFrame(
        {
            "a": pd.Series(["2024-01-02T00:00:00Z\n", "2024-01-02T00:00:00Z", None], dtype=dtype),
            "b": pd.Series(["2024-01-01T00:00:00Z"] * 3, dtype=dtype),
        }
    )
    on_pandas = validate(frame, contract).check("later")
    on_polars = validate(pl.from_pandas(frame), contract).check("later")
    assert on_pandas.failing_indices == on_polars.failing_indices == [0, 2]
