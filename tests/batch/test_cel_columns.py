"""CEL rules compiled to columns agree with the per-record evaluator, row by row.

Frames and expressions are generated; the oracle is `enforcers.cel_python.compile_cel`
evaluated on each row's record view (the same view the row-wise fallback uses).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcers.batch.backends.pandas import PandasOps
from enforcers.batch.backends.polars import PolarsOps
from enforcers.batch.cel_columns import RowView, Unsupported, column_tree, compile_columns
from enforcers.batch.rowwise import _deep_plain
from enforcers.cel_python import CelEvaluationError, compile_cel

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")

STAMPS = [
    "2024-01-01T10:00:00Z",
    "2024-01-01T10:00:00+02:00",
    "2024-01-01 09:30:00.5-01:00",
    "2024-01-01T10:00Z",
    "2024-01-02T00:00:00.123456Z",
    "20240101T100000Z",
    "2024-01-01",
    "garbage",
    "2024-02-30T00:00:00Z",
    "2024-01-01T10:00:00Z\n",  # Python's `$` matches before the newline; _timestamp rejects it
    None,
]
WORDS = ["", "a", "ab", "abc", "ba", "Zed", "ü", None]

ints = st.one_of(st.none(), st.integers(-5, 5))
floats = st.one_of(st.none(), st.sampled_from([-1.5, 0.0, 0.5, 2.0, 3.25]))
row = st.fixed_dictionaries(
    {
        "i": ints,
        "j": st.integers(-3, 3),
        "f": floats,
        "s": st.sampled_from(WORDS),
        "t": st.sampled_from(STAMPS),
        "u": st.sampled_from(STAMPS),
        "b": st.one_of(st.none(), st.booleans()),
        "o.x": ints,
        "o.y": st.sampled_from(WORDS),
    }
)

num = st.sampled_from(
    [
        "this.i",
        "this.j",
        "this.f",
        "size(this.s)",
        "this.o.x",
        "2",
        "0",
        "-1",
        "1.5",
        "int(this.f)",
        "double(this.j)",
    ]
)
text = st.sampled_from(["this.s", "this.o.y", "'ab'", "'a'", "this.s.lowerAscii()"])


@st.composite
def boolean(draw: Any, depth: int = 0) -> str:
    leaves = [
        st.builds(
            lambda a, o, b: f"{a} {o} {b}",
            num,
            st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
            num,
        ),
        st.builds(
            lambda a, o, b: f"({a} {o} {b}) > 0",
            num,
            st.sampled_from(["+", "-", "*", "/", "%"]),
            num,
        ),
        st.builds(lambda a, o, b: f"{a} {o} {b}", text, st.sampled_from(["==", "!=", "<"]), text),
        st.builds(
            lambda a, m, b: f"{a}.{m}({b})",
            text,
            st.sampled_from(["startsWith", "endsWith", "contains", "matches"]),
            st.sampled_from(["'a'", "'b'", "'^a'", "''"]),
        ),
        st.sampled_from(
            [
                "has(this.i)",
                "has(this.o)",
                "has(this.o.y)",
                "has(this.nope)",
                "this.b",
                "this.s == null",
                "this.i != null",
                "this.i in [1, 2, 3]",
                "this.s in ['a', 'ab']",
                "this.s in ['a', null]",
                "this.nope > 1",
                "this.b == true",
                "timestamp(this.t) < timestamp(this.u)",
                "timestamp(this.t) - timestamp(this.u) >= duration('1h')",
                "timestamp(this.t) + duration('30m') == timestamp(this.u)",
                "size(this.s) == 2",
                "this.i + this.j > this.f",
            ]
        ),
    ]
    leaf = draw(st.one_of(*leaves))
    if depth >= 2 or draw(st.booleans()):
        return leaf
    other = draw(boolean(depth + 1))
    shape = draw(st.sampled_from(["&&", "||", "!", "?"]))
    if shape == "!":
        return f"!({leaf})"
    if shape == "?":
        third = draw(boolean(depth + 1))
        return f"({leaf}) ? ({other}) : ({third})"
    return f"({leaf}) {shape} ({other})"


def oracle(expression: str, records: list[dict[str, Any]], columns: list[str]) -> np.ndarray:
    evaluate = compile_cel(expression).evaluate
    tree = column_tree(columns)
    out = []
    for r in records:
        try:
            out.append(evaluate(RowView(_deep_plain(r), tree)) is True)
        except CelEvaluationError:
            out.append(False)
    return np.array(out, dtype=bool)


def pandas_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(records)
    df["i"] = df["i"].astype("Int64")
    df["o.x"] = df["o.x"].astype("float64")
    df["b"] = df["b"].astype("boolean")
    df["f"] = df["f"].astype("float64")
    for c in ("s", "t", "u", "o.y"):
        df[c] = df[c].astype("string")
    return df


def polars_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        "i": pl.Int64,
        "j": pl.Int64,
        "f": pl.Float64,
        "s": pl.String,
        "t": pl.String,
        "u": pl.String,
        "b": pl.Boolean,
        "o.x": pl.Int64,
        "o.y": pl.String,
    }
    return pl.DataFrame(records, schema=schema)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(row, min_size=1, max_size=12), expression=boolean())
def test_columns_agree_with_the_record_evaluator(
    records: list[dict[str, Any]], expression: str
) -> None:
    compiled = compile_columns(expression)
    pdf = pandas_frame(records)
    records_pd = pdf.to_dict("records")
    try:
        got = compiled.passes(PandasOps(pdf))
    except Unsupported:
        got = None
    if got is not None:
        want = oracle(expression, records_pd, list(pdf.columns))
        assert np.array_equal(np.asarray(got, dtype=bool), want), (expression, records_pd)
    pldf = polars_frame(records)
    ops = PolarsOps(pldf)
    try:
        expr = compiled.passes(ops)
    except Unsupported:
        return
    got_pl = pldf.select(expr.alias("ok")).to_series().to_numpy()
    if len(got_pl) == 1 and pldf.height != 1:
        got_pl = np.repeat(got_pl, pldf.height)
    want_pl = oracle(expression, pldf.to_dicts(), list(pldf.columns))
    if ops.uncertain:
        # Non-RFC 3339 strings given to timestamp(): the backend re-checks those rows with
        # the record evaluator; every other row must already agree.
        sure = ~pldf.select(pl.any_horizontal(ops.uncertain)).to_series().to_numpy()
        got_pl, want_pl = got_pl[sure], want_pl[sure]
    assert np.array_equal(got_pl, want_pl), (expression, pldf.to_dicts())


@pytest.mark.parametrize(
    "expression",
    [
        "this.l.all(x, x > 0)",  # macro over a list column
        "this.l[0] > 0",  # indexing a list
        "string(this.i) == '1'",
    ],
)
def test_unsupported_expressions_fall_back(expression: str) -> None:
    df = pd.DataFrame({"i": [1, 2], "l": [[1, 2], [0]]})
    with pytest.raises(Unsupported):
        compile_columns(expression).passes(PandasOps(df))


def test_examples_compile_to_columns() -> None:
    """Every rule of the example contracts but the macro one is vectorized."""
    from contracts import load_file
    from tests.conftest import EXAMPLE_FILES

    fallback = []
    for path in EXAMPLE_FILES:
        contract = load_file(str(path))
        from enforcers.batch.spec import table_spec

        columns = table_spec(contract).whole
        df = pd.DataFrame({c: pd.Series([None], dtype="string") for c in columns})
        for rule in contract.rules:
            try:
                compile_columns(rule.expression).passes(PandasOps(df))
            except Unsupported:
                fallback.append(rule.name)
    assert fallback == ["line_items_share_currency"]
