"""polars: every check of the contract as one `pl.Expr`, evaluated in one fused query.

The same checks make a `pandera.polars.DataFrameSchema` (`pandera_schema`), for users who
want pandera's own API; validation itself compiles every row check (schema keywords and CEL
rules) to expressions and collects them in one pass, so polars plans and parallelizes them
together. A `KeySet` carries uniqueness across the chunks of a streamed file.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final

import numpy as np
import polars as pl

from contracts import Severity
from enforcers.batch.cel_columns import TIMESTAMP_FAST, ColumnKind, Ops, Unsupported
from enforcers.batch.plan import (
    Evaluation,
    Measures,
    Plan,
    RowCheck,
    RowOutcome,
    absent_container_note,
    field_columns,
    nullable_check,
    pii_redact,
    present_check,
    required_check,
    rule_check,
    type_check,
    undeclared_check,
    unique_check,
    unique_keys,
    value_check,
)
from enforcers.batch.rowwise import canonical, evaluate_rows, items_validator, needed_columns
from enforcers.batch.spec import (
    FORMAT_QUICK,
    ColumnCheck,
    ColumnSpec,
    TableSpec,
    UnmappableField,
    float_multiples,
    format_failures,
    integer_step,
    judged_kind,
)
from enforcers.cel_python import _timestamp
from enforcers.patterns import for_engine

__all__ = ["KeySet", "PolarsBackend", "flatten", "pandera_schema"]

Expr = pl.Expr

# The frame is in memory already. polars 2 runs lazy queries on its streaming engine by
# default, which took the one wide select of every check 3x as long (1.4 s against 0.5 s
# on 1M rows, bench/batch.py).
ENGINE: Final = "in-memory"


# -- flattening -------------------------------------------------------------------------------


def flatten(df: pl.DataFrame, keep: Sequence[str] = ()) -> pl.DataFrame:
    """Struct columns become dotted columns (``customer`` → ``customer.email``), except
    the columns in `keep` (fields the contract declares as free-form objects)."""
    structs = [
        name
        for name, dtype in df.schema.items()
        if isinstance(dtype, pl.Struct) and name not in keep
    ]
    if not structs:
        return df
    exprs: list[Expr] = []
    for name, dtype in df.schema.items():
        if name in structs:
            assert isinstance(dtype, pl.Struct)
            exprs.extend(
                pl.col(name).struct.field(f.name).alias(f"{name}.{f.name}") for f in dtype.fields
            )
        else:
            exprs.append(pl.col(name))
    return flatten(df.select(exprs), keep)


# -- types ------------------------------------------------------------------------------------

_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
# What polars makes of Python ints past 64 bits: integers to the type check, but not to
# rules, whose 64-bit arithmetic they would not overflow (those run row-wise).
_WIDE_INTS = (pl.Int128, pl.UInt128)
_FLOATS = (pl.Float32, pl.Float64)


def _is(dtype: Any, kinds: tuple[Any, ...]) -> bool:
    return any(dtype == k or isinstance(dtype, k) for k in kinds)


def _is_int(dtype: Any) -> bool:
    return _is(dtype, _INTS + _WIDE_INTS) or (
        isinstance(dtype, pl.Decimal) and (dtype.scale or 0) == 0
    )


def _is_float(dtype: Any) -> bool:
    return _is(dtype, _FLOATS) or (isinstance(dtype, pl.Decimal) and (dtype.scale or 0) > 0)


def _is_str(dtype: Any) -> bool:
    return _is(dtype, (pl.String, pl.Categorical, pl.Enum))


def _is_temporal(dtype: Any) -> bool:
    return _is(dtype, (pl.Datetime, pl.Date))


def null_expr(name: str, dtype: Any) -> Expr:
    """Null, or NaN (a float NaN is a missing value, as in pandas)."""
    col = pl.col(name)
    return (
        col.is_null() | col.is_nan()
        if _is_float(dtype) and _is(dtype, _FLOATS)
        else (col.is_null())
    )


def type_pass(name: str, dtype: Any, c: ColumnSpec) -> Expr | None:
    """Per row: the value has the contract's type (nulls pass); None: every row passes."""
    kind = c.kind
    if kind == "any" or dtype == pl.Null:
        return None
    col = pl.col(name)
    ok = (
        (kind == "string" and (_is_str(dtype) or (c.temporal is not None and _is_temporal(dtype))))
        or (kind == "integer" and _is_int(dtype))
        or (kind == "number" and (_is_int(dtype) or _is_float(dtype)))
        or (kind == "boolean" and dtype == pl.Boolean)
        or (kind == "array" and _is(dtype, (pl.List, pl.Array)))
        or (kind == "object" and _is(dtype, (pl.Struct, pl.Map, pl.Object)))
    )
    if ok:
        return None
    if kind == "integer" and _is_float(dtype):
        f = col.cast(pl.Float64)
        return col.is_null() | f.is_nan() | (f.is_finite() & (f.floor() == f))
    return col.is_null()


def _value_source(name: str, dtype: Any, c: ColumnSpec, check: ColumnCheck) -> Expr | None:
    """The column for `check`; None when it does not apply (wrong type, datetimes). A
    column holds one type: in a field of no one type, a check applies if it is the check's."""
    kind = judged_kind(c, check)
    col = pl.col(name)
    if kind == "string":
        if _is(dtype, (pl.Categorical, pl.Enum)):
            return col.cast(pl.String)
        return col if _is_str(dtype) else None
    if kind in ("integer", "number"):
        return col if (_is_int(dtype) or _is_float(dtype)) else None
    if kind == "array":
        return col if _is(dtype, (pl.List, pl.Array)) else None
    return col


def _multiples(v: Expr, dtype: Any, multiple: int | float) -> Expr:
    """Per row: a multiple of `multiple`, as per record (`is_multiple`): integers exactly,
    floats by `float_multiples` (whose rare undecided values need Python)."""
    if _is_int(dtype) and not isinstance(dtype, pl.Decimal):
        step = integer_step(multiple)
        # Past 2**127, 0 is the one multiple polars' integers hold (UInt128's top half aside).
        return v % step == 0 if step < 2**127 else v == 0
    return v.cast(pl.Float64).map_batches(
        lambda s: pl.Series(s.name, float_multiples(s.to_numpy(), multiple)),
        return_dtype=pl.Boolean,
    )


def _is_in(v: Expr, dtype: Any, values: Sequence[Any]) -> Expr:
    """Per row: the value is one of `values` (null where it is null). polars compares
    within one type, so the values are given as the column's (those it can hold): an
    integer column holds no 0.5, and to it 2.0 is 2."""
    numbers = [x for x in values if isinstance(x, int | float) and not isinstance(x, bool)]
    if _is(dtype, (pl.Struct, pl.List, pl.Array, pl.Map, pl.Object)):
        # `is_in` compares no nested values, and JSON compares objects in any key order.
        wanted = {canonical(x) for x in values}
        return v.map_elements(
            lambda x: canonical(x) in wanted, return_dtype=pl.Boolean, skip_nulls=True
        )
    if _is(dtype, _INTS + _WIDE_INTS):
        values = [int(x) for x in numbers if isinstance(x, int) or x.is_integer()]
    elif _is(dtype, _FLOATS):
        # An int no float equals (past 2**53, unless a float lands on it exactly): none.
        values = [float(x) for x in numbers if isinstance(x, float) or _float_holds(x)]
    elif _is_str(dtype):
        values = [x for x in values if isinstance(x, str)]
    elif dtype == pl.Boolean:
        values = [x for x in values if isinstance(x, bool)]
    return v.is_in(list(values))


def _float_holds(n: int) -> bool:
    return abs(n) <= 2**53 or (abs(n) < 2**1024 and float(n) == n)


def _format_recheck(
    fails: np.ndarray[Any, np.dtype[np.bool_]], values: pl.Series, fmt: str
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """`fails` of a format check's quick pass, judged exactly: once per distinct value."""
    rows = np.flatnonzero(fails)
    if not len(rows):
        return fails
    candidates = values.gather(rows)
    bad = format_failures(candidates.unique().to_list(), fmt)
    out = np.zeros_like(fails)
    if bad:
        out[rows] = candidates.is_in(bad).to_numpy()
    return out


@cache
def _rust_takes(pattern: str) -> bool:
    """Whether polars' regex engine compiles `pattern`."""
    try:
        pl.Series([""]).str.contains(pattern)
    except pl.exceptions.PolarsError:
        return False
    return True


def value_pass(
    v: Expr, dtype: Any, check: ColumnCheck, c: ColumnSpec, *, exact_formats: bool = False
) -> Expr:
    """Per row: the value `v` (of `dtype`) passes `check` (nulls pass)."""
    kind, arg = check.kind, check.arg
    ok: Expr
    if kind == "minimum":
        ok = v >= arg
    elif kind == "maximum":
        ok = v <= arg
    elif kind == "exclusiveMinimum":
        ok = v > arg
    elif kind == "exclusiveMaximum":
        ok = v < arg
    elif kind == "multipleOf":
        ok = _multiples(v, dtype, arg)
    elif kind == "enum":
        ok = _is_in(v, dtype, arg)
    elif kind in ("minLength", "maxLength"):
        length = v.str.len_chars()
        ok = length >= arg if kind == "minLength" else length <= arg
    elif kind == "format" and exact_formats:  # a query of its own (the pandera export)
        fmt = str(arg)
        ok = v.map_batches(
            lambda s: pl.Series(s.name, ~_format_recheck(s.is_not_null().to_numpy(), s, fmt)),
            return_dtype=pl.Boolean,
        )
    elif kind == "format":
        # The common shapes pass here; the rows this fails are judged exactly after the
        # query (`_format_recheck`): per distinct value, as the record validator does.
        quick = FORMAT_QUICK.get(str(arg))
        if quick is None:
            ok = pl.lit(False)
        else:
            pattern, longest = quick
            ok = v.str.contains(for_engine(pattern, "rust"))
            if longest is not None:
                ok = ok & (v.str.len_chars() <= longest)
    elif kind == "pattern":
        assert check.pattern is not None
        rust = for_engine(check.pattern, "rust")
        if _rust_takes(rust):
            ok = v.str.contains(rust)
        else:  # look-around or a back-reference, which Rust's regex lacks: Python's re
            search = re.compile(for_engine(check.pattern, "python")).search
            ok = v.map_elements(
                lambda x: search(x) is not None, return_dtype=pl.Boolean, skip_nulls=True
            )
    elif kind in ("minItems", "maxItems"):
        length = v.list.len()
        ok = length >= arg if kind == "minItems" else length <= arg
    elif kind == "items":
        validator = items_validator(c, arg)
        ok = v.map_elements(lambda x: validator(x), return_dtype=pl.Boolean, skip_nulls=True)
    else:  # pragma: no cover
        raise ValueError(kind)
    # NaN is a missing value (`null_expr`), as in pandas: it passes like a null.
    missing = v.is_null() | v.is_nan() if _is(dtype, _FLOATS) else v.is_null()
    return ok.fill_null(True) | missing


# -- the pandera schema (for export) ----------------------------------------------------------


def pandera_schema(spec: TableSpec, schema: Mapping[str, Any] | None = None) -> Any:
    """The contract as a pandera (polars) schema; `schema` (name → dtype) types the checks
    (default: strings for string fields, Float64 for numbers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.polars as pap

    def check(fn: Callable[[], Expr | None], name: str) -> Any:
        def run(data: Any) -> Any:
            expr = fn()
            return data.lazyframe.select(expr if expr is not None else pl.lit(True))

        return pap.Check(run, name=name)

    columns: dict[str, Any] = {}
    for c in spec.columns:
        dtype = (schema or {}).get(c.name) or _default_dtype(c)

        def typed(c: ColumnSpec = c, d: Any = dtype) -> Expr | None:
            return type_pass(c.name, d, c)

        checks = [check(typed, type_check(c).name)]
        for vc in c.checks:

            def fn(c: ColumnSpec = c, d: Any = dtype, vc: ColumnCheck = vc) -> Expr | None:
                v = _value_source(c.name, d, c, vc)
                return None if v is None else value_pass(v, d, vc, c, exact_formats=True)

            checks.append(check(fn, value_check(c, vc).name))
        columns[c.name] = pap.Column(
            None, checks=checks, nullable=c.nullable, required=c.required, name=c.name
        )
    return pap.DataFrameSchema(columns, name=spec.contract, strict=False)


def _default_dtype(c: ColumnSpec) -> Any:
    return {
        "string": pl.String,
        "integer": pl.Int64,
        "number": pl.Float64,
        "boolean": pl.Boolean,
    }.get(c.kind, pl.Null)


# -- CEL over expressions ---------------------------------------------------------------------


class PolarsOps(Ops[Expr]):
    def __init__(self, df: pl.DataFrame, integers: frozenset[str] = frozenset()) -> None:
        self.df = df
        self.schema = df.schema
        self.integers = integers  # columns the contract types integer
        self.uncertain: list[Expr] = []  # rows a rule must re-check with the record evaluator

    def columns(self) -> Sequence[str]:
        return list(self.schema)

    def column(self, name: str) -> tuple[Any, ColumnKind, Expr | None]:
        dtype = self.schema[name]
        null = null_expr(name, dtype)
        if self.df.height and self.df[name].null_count() == 0 and not _is_float(dtype):
            null_mask: Expr | None = None
        else:
            null_mask = null
        if _is_float(dtype) and name in self.integers:
            # An integer field stored as floats (a Parquet file pandas wrote): rules see
            # integers. What no int64 holds fails the type check, and reads as null here.
            c = pl.col(name)
            whole = ((c.floor() == c) & (c >= -(2.0**63)) & (c < 2.0**63)).fill_null(False)
            as_int = pl.when(whole).then(c.cast(pl.Int64, strict=False)).otherwise(None)
            return as_int, "int", null | ~whole
        return pl.col(name), _kind(dtype), null_mask

    def mask(self, value: bool) -> Expr:
        return pl.lit(value)

    def m_and(self, a: Expr, b: Expr) -> Expr:
        return a & b

    def m_or(self, a: Expr, b: Expr) -> Expr:
        return a | b

    def m_not(self, a: Expr) -> Expr:
        return ~a

    def truth(self, data: Any) -> Expr:
        expr = data if isinstance(data, pl.Expr) else pl.lit(data)
        return expr.fill_null(False)

    def where(self, cond: Expr, a: Any, b: Any) -> Any:
        return pl.when(cond).then(_lit(a)).otherwise(_lit(b))

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return _OPS[op](_lit(a), _lit(b))

    def arith(self, op: str, a: Any, b: Any) -> Any:
        if op == "/":
            b = pl.when(_lit(b) == 0).then(pl.lit(1)).otherwise(_lit(b))
            return _lit(a).cast(pl.Float64) / b.cast(pl.Float64)
        return _OPS[op](_lit(a), _lit(b))

    def int_arith(self, op: str, a: Any, b: Any) -> tuple[Any, Expr]:
        a, b = _lit(a), _lit(b)
        result = _OPS[op](a, b)  # wraps around on overflow
        # As pandas' `_overflowed` explains.
        if op == "+":
            overflow = ((b > 0) & (result < a)) | ((b < 0) & (result > a))
        elif op == "-":
            overflow = ((b > 0) & (result > a)) | ((b < 0) & (result < a))
        else:
            safe = pl.when((a == 0) | (a == -1)).then(pl.lit(1)).otherwise(a)
            overflow = ((a == -1) & (b == -(2**63))) | (
                (a != 0) & (a != -1) & (result // safe != b)
            )
        return result, overflow.fill_null(False)

    def int_div(self, a: Any, b: Any) -> Any:
        a, b = _lit(a), _lit(b)
        safe = pl.when(b == 0).then(pl.lit(1)).otherwise(b)
        q = a.abs() // safe.abs()
        negative = (a < 0) != (safe < 0)
        return pl.when(negative).then(-q).otherwise(q)

    def is_zero(self, a: Any) -> Expr:
        return (_lit(a) == 0).fill_null(False)

    def neg(self, a: Any) -> Any:
        return -_lit(a)

    def isin(self, data: Any, values: list[Any]) -> Any:
        expr = _lit(data)
        return _is_in(expr, self.df.lazy().select(expr).collect_schema().dtypes()[0], values)

    def str_len(self, data: Any) -> Any:
        return _lit(data).str.len_chars().cast(pl.Int64)

    def list_len(self, data: Any) -> Any:
        return _lit(data).list.len().cast(pl.Int64)

    def str_method(self, method: str, data: Any, arg: str) -> Any:
        s = _lit(data).str
        if method == "startsWith":
            return s.starts_with(arg)
        if method == "endsWith":
            return s.ends_with(arg)
        if method == "contains":
            return s.contains(arg, literal=True)
        return s.contains(for_engine(arg, "rust", "re2"))  # matches: RE2's syntax

    def str_case(self, data: Any, upper: bool) -> Any:
        return _lit(data).str.to_uppercase() if upper else _lit(data).str.to_lowercase()

    def concat(self, a: Any, b: Any) -> Any:
        return _lit(a) + _lit(b)

    def to_float(self, data: Any) -> Any:
        return _lit(data).cast(pl.Float64)

    def trunc_int(self, data: Any) -> tuple[Any, Expr]:
        f = _lit(data).cast(pl.Float64)
        # NaN compares False: bad, like infinities and what int64 cannot hold.
        bad = ~((f >= -(2.0**63)) & (f < 2.0**63)).fill_null(True)
        return pl.when(bad).then(pl.lit(0.0)).otherwise(f).truncate(), bad

    def timestamp(self, data: Any) -> tuple[Any, Expr]:
        text = _lit(data)
        # Strings that are not RFC 3339: Python's parser decides, row-wise, after the pass.
        self.uncertain.append(
            text.is_not_null() & ~text.str.contains(TIMESTAMP_FAST).fill_null(False)
        )
        return parse_timestamps(text, None)

    def ts_column(self, data: Any) -> Any:
        return _to_utc(_lit(data), self.df)

    def constant(self, value: Any, kind: ColumnKind) -> Any:
        return value


def _to_utc(expr: Expr, df: pl.DataFrame) -> Expr:
    dtype = df.lazy().select(expr).collect_schema().dtypes()[0]
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return expr.dt.cast_time_unit("us").dt.replace_time_zone("UTC")
        return expr.dt.cast_time_unit("us").dt.convert_time_zone("UTC")
    if dtype == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return expr


def _lit(value: Any) -> Expr:
    if isinstance(value, pl.Expr):
        return value
    if isinstance(value, timedelta):
        return pl.lit(value, dtype=pl.Duration("us"))
    return pl.lit(value)


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


def _kind(dtype: Any) -> ColumnKind:
    if dtype == pl.Boolean:
        return "bool"
    if _is(dtype, _INTS):
        return "int"
    if _is(dtype, _FLOATS):
        return "float"
    if _is_str(dtype):
        return "string"
    if _is_temporal(dtype):
        return "timestamp"
    if _is(dtype, (pl.List, pl.Array)):
        return "list"
    if isinstance(dtype, pl.Duration):
        return "duration"
    return "any"


_SEPARATOR = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]"
_NO_SECONDS = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})([Zz+-])"


def parse_timestamps(text: Expr, df: pl.DataFrame | None) -> tuple[Expr, Expr]:
    """`timestamp()` of strings: (UTC datetimes, error mask). RFC 3339 shapes parse as one
    expression; with `df`, other non-null strings are parsed by Python once per distinct
    value (freshness); without, they are errors here and `uncertain` rows for the caller."""
    fast = text.str.contains(TIMESTAMP_FAST).fill_null(False)
    parsed: Expr = pl.when(fast).then(
        text.str.strptime(pl.Datetime("us", "UTC"), "%+", strict=False)
    )
    if df is not None:
        slow_values = (
            df.lazy()
            .select(text.filter(~fast & text.is_not_null()).unique())
            .collect(engine=ENGINE)
            .to_series()
        )
        old, new = [], []
        for v in slow_values.to_list():
            try:
                ts = _timestamp(v)
            except (TypeError, ValueError):
                continue
            old.append(v)
            new.append(ts.astimezone(UTC))
        if old:
            mapped = text.replace_strict(
                old,
                pl.Series(new, dtype=pl.Datetime("us", "UTC")),
                default=None,
                return_dtype=pl.Datetime("us", "UTC"),
            )
            parsed = pl.when(fast).then(parsed).otherwise(mapped)
    bad = text.is_not_null() & parsed.is_null()
    return parsed, bad


# -- uniqueness across chunks -----------------------------------------------------------------


class KeySet:
    """Keys seen in earlier chunks, as two 64-bit hashes per key (exact but for a 2^-128
    collision), kept as numpy arrays sorted by the first hash: a chunk is looked up with a
    binary search, so memory stays at 16 bytes per distinct key, with no hash table."""

    def __init__(self) -> None:
        self.h1 = np.empty(0, dtype=np.uint64)
        self.h2 = np.empty(0, dtype=np.uint64)

    @staticmethod
    def hashes(frame: pl.DataFrame) -> tuple[Any, Any]:
        return frame.hash_rows(seed=11).to_numpy(), frame.hash_rows(seed=23).to_numpy()

    def _seen(self, h1: Any, h2: Any) -> Any:
        seen = np.zeros(len(h1), dtype=bool)
        if not len(self.h1):
            return seen
        pos = np.searchsorted(self.h1, h1)
        inside = pos < len(self.h1)
        at = np.minimum(pos, len(self.h1) - 1)
        same1 = inside & (self.h1[at] == h1)
        seen = same1 & (self.h2[at] == h2)
        # A first hash shared by several keys (a 64-bit collision): scan its run.
        for i in np.flatnonzero(same1 & ~seen):
            j = int(pos[i])
            while j < len(self.h1) and self.h1[j] == h1[i]:
                if self.h2[j] == h2[i]:
                    seen[i] = True
                    break
                j += 1
        return seen

    def repeats(self, keys: pl.DataFrame, first_in_chunk: pl.Series) -> pl.Series:
        """Per row: the key repeats an earlier row (this chunk or an earlier one); the
        chunk's new keys are remembered."""
        h1, h2 = self.hashes(keys)
        repeat = (~first_in_chunk).to_numpy() | self._seen(h1, h2)
        new1, new2 = h1[~repeat], h2[~repeat]
        order = np.argsort(new1, kind="stable")
        new1, new2 = new1[order], new2[order]
        at = np.searchsorted(self.h1, new1)
        self.h1 = np.insert(self.h1, at, new1)
        self.h2 = np.insert(self.h2, at, new2)
        return pl.Series(repeat)


# -- the backend ------------------------------------------------------------------------------


class PolarsBackend:
    name = "polars"

    def __init__(
        self,
        keysets: dict[tuple[str, ...], KeySet] | None = None,
        offset: int = 0,
        cast_failures: Mapping[str, pl.Series] | None = None,
        item_failures: Mapping[str, pl.Series] | None = None,
    ) -> None:
        # Set when validating the chunks of one dataset: uniqueness spans all chunks, row
        # positions continue from `offset`, and `cast_failures` marks the cells a text
        # reader (CSV) could not read as the contract's type (they are null in the frame).
        self.keysets = keysets
        self.offset = offset
        self.cast_failures = dict(cast_failures or {})
        # Per list column a reader had to coerce (JSON items of mixed types): the rows whose
        # items, as read, fail the element schema; they stand in for the `items` check.
        self.item_failures = dict(item_failures or {})
        self._repeats: dict[tuple[str, ...], np.ndarray[Any, np.dtype[np.bool_]]] = {}

    def evaluate(self, df: Any, plan: Plan) -> Evaluation:
        if isinstance(df, pl.LazyFrame):
            df = df.collect()
        spec = plan.spec
        # Declared fields stay whole: a free-form object is checked as one, and a struct
        # where a string belongs fails its type check instead of vanishing into columns.
        frame = flatten(df, spec.whole)
        # Categoricals as the strings they stand for: string checks and rules take them so.
        categorical = [
            n for n, t in frame.schema.items() if isinstance(t, pl.Categorical | pl.Enum)
        ]
        if categorical:
            frame = frame.with_columns(pl.col(categorical).cast(pl.String))
        n = frame.height
        self._repeats = {}
        casts = {k: v for k, v in self.cast_failures.items() if k in frame.schema}
        items = {k: v for k, v in self.item_failures.items() if k in frame.schema}
        marks = [v.alias(f"__cast:{k}") for k, v in casts.items()]
        marks += [v.alias(f"__items:{k}") for k, v in items.items()]
        work = frame.with_columns(marks) if marks else frame
        schema = frame.schema
        columns = list(schema)
        notes = []
        checks: list[tuple[RowCheck, Expr | None]] = []  # None: every row fails
        absent: set[RowCheck] = set()  # required columns the frame lacks
        formats: dict[int, tuple[str, str]] = {}  # check index: (column, format)
        for c in spec.columns:
            if c.name not in schema:
                if c.required and c.container:
                    if plan.unmappable == "error":
                        raise UnmappableField(c.name, absent_container_note(c).reason)
                    notes.append(absent_container_note(c))
                elif c.required:
                    checks.append((required_check(c), None))
                    absent.add(required_check(c))
                elif c.present_with is not None:
                    checks.append((present_check(c), _present(c, columns)))
                continue
            dtype = schema[c.name]
            typed = type_pass(c.name, dtype, c)
            type_fails = ~typed if typed is not None else pl.lit(False)
            is_null = null_expr(c.name, dtype)
            if c.name in casts:
                cast_failed = pl.col(f"__cast:{c.name}")
                type_fails = type_fails | cast_failed
                is_null = is_null & ~cast_failed
            checks.append((type_check(c), type_fails))
            if not c.nullable:
                checks.append((nullable_check(c), is_null))
            elif c.present_with is not None:
                checks.append((present_check(c), is_null & _present(c, columns)))
            for vc in c.checks:
                source = _value_source(c.name, dtype, c, vc)
                fails = pl.lit(False) if source is None else ~value_pass(source, dtype, vc, c)
                if vc.kind == "items" and c.name in items:
                    fails = pl.col(f"__items:{c.name}")
                if source is not None and vc.kind == "format":
                    formats[len(checks)] = (c.name, str(vc.arg))
                checks.append((value_check(c, vc), fails))
        for name, parent in spec.undeclared(columns).items():
            checks.append((undeclared_check(name, parent), ~null_expr(name, schema[name])))
        rules_start = len(checks)
        hidden = [name for name in spec.split if name in schema]
        seen = frame.drop(hidden) if hidden else frame  # what rules read
        rule_columns = list(seen.schema)
        ops = PolarsOps(seen, spec.integers)
        row_wise: dict[int, np.ndarray[Any, np.dtype[np.bool_]]] = {}
        uncertain: dict[int, Expr] = {}
        for rule in plan.rules:
            try:
                ops.uncertain = []
                fails = ~rule.columns.passes(ops)
                if ops.uncertain:
                    uncertain[len(checks)] = pl.any_horizontal(ops.uncertain).alias(
                        f"u{len(checks)}"
                    )
                checks.append((rule_check(rule, False), fails))
            except Unsupported:
                needed = needed_columns(rule.reads, rule_columns)
                # A rule that reads no column still sees one (empty) record per row.
                records = frame.select(needed).to_dicts() if needed else [{}] * n
                row_wise[len(checks)] = ~evaluate_rows(rule, records, rule_columns, spec.integers)
                checks.append((rule_check(rule, True), None))
        # One pass: every row check's failing mask. Lazily, because only a lazy query
        # eliminates common subexpressions: what several checks and rules share (a column's
        # null mask, a timestamp() pre-match and parse) is then computed once.
        exprs = [
            (e if e is not None else pl.lit(True)).fill_null(True).alias(f"c{i}")
            for i, (_, e) in enumerate(checks)
            if i not in row_wise
        ]
        masks = (
            work.lazy().select(exprs + list(uncertain.values())).collect(engine=ENGINE)
            if exprs and n
            else pl.DataFrame()
        )
        failing: list[np.ndarray[Any, np.dtype[np.bool_]]] = []
        for i in range(len(checks)):
            if i in row_wise:
                failing.append(row_wise[i])
            elif n == 0:
                failing.append(np.zeros(0, dtype=bool))
            else:
                # A query of constants only (say the rule `false`) has one row, for all.
                mask = np.broadcast_to(masks[f"c{i}"].to_numpy(), (n,)).copy()
                if i in uncertain:
                    mask = self._recheck(
                        mask,
                        masks[f"u{i}"].to_numpy(),
                        frame,
                        plan,
                        checks[i][0].name,
                        rule_columns,
                    )
                if i in formats:
                    name, fmt = formats[i]
                    mask = _format_recheck(mask, frame[name], fmt)
                failing.append(mask)
        # Uniqueness (first occurrence kept), across chunks when streaming.
        unique_outcomes = []
        for key in unique_keys(spec):
            if not all(k in schema for k in key):
                continue
            sub = frame.select(list(key))
            complete = sub.select(pl.all_horizontal(pl.all().is_not_null())).to_series()
            repeat = self.repeats(key, sub)
            unique_outcomes.append((unique_check(key), repeat & complete.to_numpy()))
        checks_all = [rc for rc, _ in checks[:rules_start]] + [rc for rc, _ in unique_outcomes]
        masks_all = failing[:rules_start] + [m for _, m in unique_outcomes]
        checks_all += [rc for rc, _ in checks[rules_start:]]
        masks_all += failing[rules_start:]
        outcomes: list[tuple[RowCheck, RowOutcome]] = []
        error_rows = np.zeros(n, dtype=bool)
        for row_check, mask in zip(checks_all, masks_all, strict=True):
            positions = np.flatnonzero(mask).astype(np.int64)
            outcome = self._outcome(frame, positions, plan)
            outcome.column_missing = row_check in absent
            outcomes.append((row_check, outcome))
            if row_check.severity is Severity.ERROR:
                error_rows |= mask
        bad = np.flatnonzero(error_rows).astype(np.int64)
        return Evaluation(
            rows=n,
            outcomes=outcomes,
            measures=self.measures(frame, plan),
            failing=bad + self.offset if self.offset else bad,
            failed_rows=len(bad),
            notes=notes,
            extra=frame,
        )

    def _recheck(
        self,
        fails: np.ndarray[Any, np.dtype[np.bool_]],
        uncertain: np.ndarray[Any, np.dtype[np.bool_]],
        frame: pl.DataFrame,
        plan: Plan,
        name: str,
        columns: list[str],
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Rows whose strings the column expression cannot judge: the record evaluator."""
        rows = np.flatnonzero(uncertain)
        if not len(rows):
            return fails
        rule = next(r for r in plan.rules if r.name == name)
        needed = needed_columns(rule.reads, columns)
        records = frame[rows.tolist()].select(needed).to_dicts()
        fails = fails.copy()
        fails[rows] = ~evaluate_rows(rule, records, columns, plan.spec.integers)
        return fails

    def repeats(
        self, key: tuple[str, ...], sub: pl.DataFrame
    ) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Per row: its key repeats an earlier row's (across chunks when streaming)."""
        if key in self._repeats:
            return self._repeats[key]
        first = sub.select(pl.struct(pl.all()).is_first_distinct()).to_series()
        if self.keysets is None:
            result = (~first).to_numpy()
        else:
            result = self.keysets.setdefault(key, KeySet()).repeats(sub, first).to_numpy()
        self._repeats[key] = result
        return result

    def _outcome(self, frame: pl.DataFrame, positions: Any, plan: Plan) -> RowOutcome:
        samples = []
        if len(positions):
            rows = frame[positions[: plan.samples].tolist()].to_dicts()
            samples = [pii_redact(plan.spec, r) for r in rows]
        return RowOutcome(len(positions), positions + self.offset, samples)

    def measures(self, frame: pl.DataFrame, plan: Plan) -> Measures:
        n = frame.height
        m = Measures(rows=n)
        schema = frame.schema
        aggs: list[Expr] = []
        for col in plan.null_columns:
            held = field_columns(plan.spec, col, list(schema))
            if held:
                nulls = pl.all_horizontal([null_expr(c, schema[c]) for c in held])
                aggs.append(nulls.sum().alias(f"null:{col}"))
            else:
                m.nulls[col] = n
        for name, col, values in plan.allowed:
            if col not in schema:
                m.allowed[name] = (0, 0)
                continue
            v = pl.col(col)
            hits = _is_in(v, schema[col], values).fill_null(False)
            aggs.append(hits.sum().alias(f"in:{name}"))
            aggs.append((~null_expr(col, schema[col])).sum().alias(f"nn:{name}"))
        if plan.freshness and plan.freshness in schema and n:
            dtype = schema[plan.freshness]
            if _is_temporal(dtype):
                ts = _to_utc(pl.col(plan.freshness), frame)
            else:
                ts, _ = parse_timestamps(pl.col(plan.freshness).cast(pl.String), frame)
            aggs.append(ts.max().alias("max_time"))
        if aggs and n:
            row = frame.select(aggs).row(0, named=True)
            for col in plan.null_columns:
                if f"null:{col}" in row:
                    m.nulls[col] = int(row[f"null:{col}"])
            for name, _, _ in plan.allowed:
                if f"in:{name}" in row:
                    m.allowed[name] = (int(row[f"in:{name}"]), int(row[f"nn:{name}"]))
            latest = row.get("max_time")
            if isinstance(latest, datetime):
                m.max_time = latest
        elif aggs:
            for col in plan.null_columns:
                m.nulls.setdefault(col, 0)
            for name, _, _ in plan.allowed:
                m.allowed.setdefault(name, (0, 0))
        for key in plan.repeat_keys:
            cols = (
                [c for k in key for c in field_columns(plan.spec, k, list(schema))]
                if key
                else list(schema)
            )
            if not n:
                m.repeats[key] = 0
                continue
            if not cols:
                # Every key column is absent (null): each row repeats the first one.
                sub = pl.DataFrame({"_": [None] * n}, schema={"_": pl.Null})
            else:
                sub = frame.select(cols)
            m.repeats[key] = int(self.repeats(tuple(cols) or ("_",), sub).sum())
        return m


def _present(c: ColumnSpec, columns: Sequence[str]) -> Expr:
    """Rows where the optional object `c.present_with` is present (a sibling is non-null)."""
    assert c.present_with is not None
    siblings = [x for x in columns if x.startswith(c.present_with + ".") and x != c.name]
    if not siblings:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(s).is_not_null() for s in siblings])
