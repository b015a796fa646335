"""Regexes judge alike everywhere: schema patterns and formats as per record (jsonschema-rs),
CEL's ``matches`` as RE2 does, on every backend and in the per-record rule evaluator."""

from __future__ import annotations

import warnings
from typing import Any

import jsonschema_rs
import pandas as pd
import polars as pl
import pytest
import re2

from contracts import Contract
from enforcers import validate
from enforcers.cel_python import compile_cel
from enforcers.patterns import for_engine

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")

# Where Python's re, RE2, Rust's regex and Java's read a pattern unlike ECMA-262.
PATTERNS = [
    "^[A-Z]{2}$",  # $ before a final newline
    "^\\d+$",  # Unicode digits
    "^\\w+$",  # Unicode letters
    "^x\\D$",
    "^\\W$",
    "^\\s$",  # ECMA's whitespace: NBSP and BOM are, U+0085 is not
    "^\\S+$",
    "^a.b$",  # Java's . stops at \r
    "^[\\d.]+$",  # classes in a class
    "^[^\\w]$",
    "^[]x]+$",  # "]" first in a class is a member
    "x\\$",  # an escaped $ is a dollar
]
VALUES = [
    "AB",
    "AB\n",
    "12",
    "\u0661\u0662",  # Arabic-Indic digits
    "\u00e9t\u00e9",
    "x5",
    "x\u0663",
    "x\n",
    "\u00a0",
    "\ufeff",
    "\x85",
    "\t",
    "a\rb",
    "a\nb",
    "a\u2028b",
    "1.5",
    "]x]",
    "x$",
    "-",
]
# RE2 patterns for CEL's matches(): as above, and inline flags, which change $ and ".".
CEL_PATTERNS = [
    "^[A-Z]{2}$",
    "^\\d+$",
    "^\\w+$",
    "^\\s$",  # RE2's whitespace: ASCII, without \v
    "^a.b$",
    "(?m)^x$",
    "(?s)^a.b$",
    "x\\z",
]
CEL_VALUES = [*VALUES, "\x0b", "x\ny", "ab\nx"]
DATE_TIMES = [
    "2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05Z\n",
    "2024-01-02T03:04:05+01:00",
    "2024-01-02T03:04:05",
]


def contract() -> Contract:
    properties: dict[str, Any] = {
        f"p{i}": {"type": "string", "pattern": p} for i, p in enumerate(PATTERNS)
    }
    return Contract.from_document(
        {"name": "t.patterns", "owner": {"team": "t"}, "schema": {"properties": properties}}
    )


def expected() -> dict[str, list[int]]:
    """Failing rows per check, as the per-record validator judges each value."""
    return {
        f"p{i}: pattern": [
            row
            for row, value in enumerate(VALUES)
            if not jsonschema_rs.validator_for({"pattern": p}).is_valid(value)
        ]
        for i, p in enumerate(PATTERNS)
    }


def frame() -> dict[str, list[str]]:
    return {f"p{i}": list(VALUES) for i in range(len(PATTERNS))}


def failing(report: Any) -> dict[str, list[int]]:
    return {c.name: list(c.failing_indices) for c in report.checks if c.check == "pattern"}


def test_each_engine_is_given_its_own_spelling() -> None:
    assert for_engine("^[A-Z]{2}$", "python") == "^[A-Z]{2}\\Z"
    assert for_engine("^[A-Z]{2}$", "java") == "^[A-Z]{2}\\z"
    assert for_engine("^\\d[\\w-]\\D$", "rust") == "^[0-9][A-Za-z0-9_-][^0-9]\\z"
    assert for_engine("a.b", "java") == "a[^\\n]b"
    assert for_engine("a.b", "re2") == "a.b"
    assert for_engine("x\\$[$]", "python") == "x\\$[$]"
    # Inline flags keep their meaning; RE2's \z is Python's \Z.
    assert for_engine("(?m)^x$", "python", "re2") == "(?m)^x$"
    assert for_engine("(?s)a.b$", "java", "re2") == "(?s)a.b\\z"
    assert for_engine("x\\z", "python", "re2") == "x\\Z"
    assert for_engine("\\s", "java", "re2") == "[\\t\\n\\f\\r ]"


@pytest.mark.parametrize("dtype", [object, "string[pyarrow]", "string[python]"])
def test_pandas_patterns_judge_as_per_record(dtype: Any) -> None:
    df = pd.DataFrame(frame(), dtype=dtype)
    assert failing(validate(df, contract())) == expected()


def test_polars_patterns_judge_as_per_record() -> None:
    assert failing(validate(pl.DataFrame(frame()), contract())) == expected()


def test_spark_patterns_judge_as_per_record(spark: Any) -> None:
    report = validate(spark.createDataFrame(pd.DataFrame(frame())), contract())
    counts = {c.name: c.failed_rows for c in report.checks if c.check == "pattern"}
    assert counts == {name: len(rows) for name, rows in expected().items()}


@pytest.mark.parametrize("backend", ["pandas", "polars"])
def test_a_date_time_with_a_trailing_newline_is_not_one(backend: str) -> None:
    doc = {
        "name": "t.times",
        "owner": {"team": "t"},
        "schema": {"properties": {"at": {"type": "string", "format": "date-time"}}},
    }
    data = {"at": DATE_TIMES}
    df = pd.DataFrame(data) if backend == "pandas" else pl.DataFrame(data)
    report = validate(df, Contract.from_document(doc))
    assert report.check("at: format:date-time").failing_indices == [1, 3]
    checker = jsonschema_rs.validator_for({"format": "date-time"}, validate_formats=True)
    assert [i for i, t in enumerate(DATE_TIMES) if not checker.is_valid(t)] == [1, 3]


def rules_contract() -> Contract:
    rules = [
        {"name": f"m{i}", "expression": f'this.v.matches(r"{p}")'}
        for i, p in enumerate(CEL_PATTERNS)
    ]
    schema = {"properties": {"v": {"type": "string"}}}
    return Contract.from_document(
        {"name": "t.matches", "owner": {"team": "t"}, "schema": schema, "rules": rules}
    )


def re2_failing() -> dict[str, list[int]]:
    """Failing rows per rule, as RE2 (CEL's regex engine, and cel-python's) judges them."""
    return {
        f"m{i}": [row for row, value in enumerate(CEL_VALUES) if re2.search(p, value) is None]
        for i, p in enumerate(CEL_PATTERNS)
    }


def test_cel_matches_per_record_is_re2() -> None:
    for i, pattern in enumerate(CEL_PATTERNS):
        rule = compile_cel(f'this.v.matches(r"{pattern}")')
        assert rule.native
        failing = [row for row, v in enumerate(CEL_VALUES) if rule.evaluate({"v": v}) is False]
        assert failing == re2_failing()[f"m{i}"], pattern


@pytest.mark.parametrize("backend", ["pandas", "pandas-arrow", "polars", "pyspark"])
def test_cel_matches_in_batch_is_re2(backend: str, request: pytest.FixtureRequest) -> None:
    data = {"v": CEL_VALUES}
    if backend == "polars":
        df: Any = pl.DataFrame(data)
    elif backend == "pyspark":
        df = request.getfixturevalue("spark").createDataFrame(pd.DataFrame(data))
    else:
        df = pd.DataFrame(data, dtype="string[pyarrow]" if backend == "pandas-arrow" else object)
    report = validate(df, rules_contract())
    counts = {c.name: c.failed_rows for c in report.checks if c.category == "rule"}
    assert counts == {name: len(rows) for name, rows in re2_failing().items()}
    if backend != "pyspark":  # Spark reports counts, not row indices
        indices = {c.name: list(c.failing_indices) for c in report.checks if c.category == "rule"}
        assert indices == re2_failing()
