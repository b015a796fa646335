"""pandas: the contract as a `pandera.pandas.DataFrameSchema`, rules as Series operations.

pandera runs the schema (column presence, nullability, types and value checks, lazily, with
failure cases by row); Accord adds exact cross-row checks (uniqueness, keeping the first
occurrence) and CEL rules compiled to column operations.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from contracts import Severity
from enforcers.batch.cel_columns import TIMESTAMP_FAST, ColumnKind, Ops, Unsupported
from enforcers.batch.plan import (
    Evaluation,
    Measures,
    Plan,
    RowCheck,
    RowOutcome,
    absent_container_note,
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
from enforcers.batch.rowwise import evaluate_rows, items_validator
from enforcers.batch.spec import ColumnCheck, ColumnSpec, TableSpec, UnmappableField
from enforcers.cel_python import _timestamp

__all__ = ["PandasBackend", "flatten", "pandera_schema"]

Mask = np.ndarray[Any, np.dtype[np.bool_]]


def _pa() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.pandas as pa
    return pa


# -- flattening -------------------------------------------------------------------------------


def flatten(df: pd.DataFrame) -> pd.DataFrame:
    """Columns holding dicts become dotted columns (``customer`` → ``customer.email``)."""
    nested = [c for c in df.columns if _is_object(df[c].dtype) and _first_is_mapping(df[c])]
    if not nested:
        return df
    parts = [df.drop(columns=nested)]
    for name in nested:
        s = df[name]
        records = [v if isinstance(v, Mapping) else {} for v in s.tolist()]
        inner = pd.json_normalize(records, sep=".")
        inner.index = df.index
        inner.columns = [f"{name}.{c}" for c in inner.columns]
        parts.append(inner)
    return flatten(pd.concat(parts, axis=1))


def _first_is_mapping(s: pd.Series) -> bool:
    valid = s.first_valid_index()
    return valid is not None and isinstance(s.loc[valid], Mapping)


# -- types ------------------------------------------------------------------------------------


def _is_str_dtype(dtype: Any) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return True
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return bool(
            pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
        )
    if isinstance(dtype, pd.CategoricalDtype):
        return _is_str_dtype(dtype.categories.dtype) or (
            _is_object(dtype.categories.dtype)
            and pd.api.types.infer_dtype(dtype.categories) == "string"
        )
    return False


def _is_object(dtype: Any) -> bool:
    return bool(pd.api.types.is_object_dtype(dtype))


def _is_int_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))


def _is_float_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_float_dtype(dtype))


def _is_bool_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_bool_dtype(dtype)) and not _is_object(dtype)


def _is_datetime_dtype(dtype: Any) -> bool:
    return bool(pd.api.types.is_datetime64_any_dtype(dtype))


def _element_ok(kind: str) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        if kind == "string":
            return isinstance(v, str)
        if kind == "integer":
            if isinstance(v, bool | np.bool_):
                return False
            if isinstance(v, int | np.integer):
                return True
            return isinstance(v, float | np.floating) and bool(np.isfinite(v)) and v == int(v)
        if kind == "number":
            return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                v, bool | np.bool_
            )
        if kind == "boolean":
            return isinstance(v, bool | np.bool_)
        if kind == "array":
            return isinstance(v, list | tuple | np.ndarray)
        if kind == "object":
            return isinstance(v, Mapping)
        return True

    return ok


def type_mask(s: pd.Series, c: ColumnSpec) -> pd.Series:
    """Per row: the value has the contract's type (nulls pass)."""
    dtype = s.dtype
    kind = c.kind
    if kind == "any":
        return _all(s, True)
    if kind == "string":
        if _is_str_dtype(dtype) or (c.temporal and _is_datetime_dtype(dtype)):
            return _all(s, True)
    elif kind == "integer":
        if _is_int_dtype(dtype):
            return _all(s, True)
        if _is_float_dtype(dtype):
            values = s.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                ok = np.isnan(values) | (np.isfinite(values) & (np.floor(values) == values))
            return pd.Series(ok, index=s.index)
    elif kind == "number":
        if _is_int_dtype(dtype) or _is_float_dtype(dtype):
            return _all(s, True)
    elif (kind == "boolean" and _is_bool_dtype(dtype)) or (
        kind == "array" and isinstance(dtype, pd.ArrowDtype) and "list" in str(dtype)
    ):
        return _all(s, True)
    if _is_object(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        fast = {"string": "string", "integer": "integer", "boolean": "boolean"}
        if fast.get(inferred) == kind or (kind == "number" and inferred in ("integer", "floating")):
            return _all(s, True)
        ok = _element_ok(kind)
        return s.map(lambda v: v is None or (isinstance(v, float) and v != v) or ok(v)).astype(bool)
    return s.isna()  # another dtype: every value is of the wrong type


def normalized(s: pd.Series, c: ColumnSpec) -> pd.Series | None:
    """The column with wrong-typed values as nulls, for value checks; None: skip them."""
    dtype = s.dtype
    if c.kind == "string":
        if _is_str_dtype(dtype):
            return s
        if c.temporal and _is_datetime_dtype(dtype):
            return None  # a datetime column satisfies date-time; its values need no format
        if _is_object(dtype):
            ok = type_mask(s, c)
            return s if bool(ok.all()) else s.where(ok & s.notna())
        return None
    if c.kind in ("integer", "number"):
        if _is_int_dtype(dtype) or _is_float_dtype(dtype):
            return s
        if _is_object(dtype):
            ok = type_mask(s, c)
            return pd.to_numeric(s.where(ok & s.notna()), errors="coerce")
        return None
    if c.kind in ("boolean", "any") or c.kind == "array":
        return s
    return None


def _all(s: pd.Series, value: bool) -> pd.Series:
    return pd.Series(np.full(len(s), value), index=s.index)


# -- value checks -----------------------------------------------------------------------------


def _search(v: pd.Series, pattern: str) -> pd.Series:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return v.str.contains(pattern, regex=True, na=True)
    except Exception:  # a pattern the Arrow regex engine refuses: Python's re, per value
        compiled = re.compile(pattern)
        return v.map(lambda x: not isinstance(x, str) or compiled.search(x) is not None)


def value_mask(v: pd.Series, check: ColumnCheck, c: ColumnSpec) -> pd.Series:
    """Per row: the (normalized) value passes `check` (nulls pass)."""
    kind, arg = check.kind, check.arg
    null = v.isna()
    if kind == "minimum":
        ok = v >= arg
    elif kind == "maximum":
        ok = v <= arg
    elif kind == "exclusiveMinimum":
        ok = v > arg
    elif kind == "exclusiveMaximum":
        ok = v < arg
    elif kind == "multipleOf":
        with np.errstate(all="ignore"):
            ratio = v.astype(float) / float(arg)
            ok = (ratio - np.round(ratio)).abs() <= 1e-9 * np.maximum(1.0, ratio.abs())
    elif kind == "enum":
        ok = v.isin(list(arg))
    elif kind in ("minLength", "maxLength"):
        length = v.str.len()
        ok = length >= arg if kind == "minLength" else length <= arg
    elif kind in ("pattern", "format"):
        assert check.pattern is not None
        ok = _search(v, check.pattern)
    elif kind in ("minItems", "maxItems"):
        length = v.map(lambda x: len(x) if hasattr(x, "__len__") else np.nan)
        ok = length >= arg if kind == "minItems" else length <= arg
    elif kind == "items":
        validator = items_validator(c, arg)
        ok = v.map(lambda x: x is None or _is_na(x) or validator(x))
    else:  # pragma: no cover - the spec has no other kinds
        raise ValueError(kind)
    return (ok.fillna(False).astype(bool) | null).astype(bool)


def _is_na(x: Any) -> bool:
    return isinstance(x, float) and x != x


# -- the pandera schema -----------------------------------------------------------------------

CheckFn = Callable[[pd.Series], pd.Series]


def _column_checks(c: ColumnSpec) -> list[tuple[RowCheck, CheckFn]]:
    checks: list[tuple[RowCheck, CheckFn]] = [(type_check(c), lambda s: type_mask(s, c))]
    for check in c.checks:

        def fn(s: pd.Series, check: ColumnCheck = check) -> pd.Series:
            v = normalized(s, c)
            return _all(s, True) if v is None else value_mask(v, check, c)

        checks.append((value_check(c, check), fn))
    return checks


def pandera_schema(spec: TableSpec, columns: Sequence[str] | None = None) -> Any:
    """The contract as a pandera (pandas) schema.

    With `columns` (the frame's), undeclared columns that a closed object forbids get a
    check too. Checks are named after Accord's check names (``order_id: format:uuid``).
    """
    return _schema(spec, tuple(columns) if columns is not None else None)[0]


def _schema(spec: TableSpec, columns: tuple[str, ...] | None) -> tuple[Any, dict[str, RowCheck]]:
    pa = _pa()
    by_name: dict[str, RowCheck] = {}
    pa_columns: dict[str, Any] = {}
    present = set(columns) if columns is not None else None
    for c in spec.columns:
        if present is not None and c.name not in present and (c.container or not c.required):
            continue
        checks = []
        for row_check, fn in _column_checks(c):
            by_name[row_check.name] = row_check
            checks.append(pa.Check(fn, name=row_check.name))
        by_name[f"{c.name}|not_nullable"] = nullable_check(c)
        by_name[f"{c.name}|column_in_dataframe"] = required_check(c)
        pa_columns[c.name] = pa.Column(
            dtype=None, checks=checks, nullable=c.nullable, required=c.required, name=c.name
        )
    frame_checks = []
    for c in spec.columns:
        if c.present_with is None:
            continue
        row_check = present_check(c)
        by_name[row_check.name] = row_check
        frame_checks.append(pa.Check(_present_fn(c.name, c.present_with), name=row_check.name))
    for name, parent in spec.undeclared(list(columns or ())).items():
        row_check = undeclared_check(name, parent)
        by_name[row_check.name] = row_check
        pa_columns[name] = pa.Column(
            dtype=None,
            nullable=True,
            checks=[pa.Check(lambda s: s.isna(), name=row_check.name, ignore_na=False)],
            name=name,
        )
    schema = pa.DataFrameSchema(
        pa_columns, checks=frame_checks, name=spec.contract, strict=False, coerce=False
    )
    return schema, by_name


def _present_fn(name: str, parent: str) -> Callable[[pd.DataFrame], pd.Series]:
    def fn(df: pd.DataFrame) -> pd.Series:
        siblings = [c for c in df.columns if c.startswith(parent + ".") and c != name]
        parent_there = df[siblings].notna().any(axis=1) if siblings else _all(df.iloc[:, 0], False)
        value = df[name].notna() if name in df.columns else _all(df.iloc[:, 0], False)
        return value | ~parent_there

    return fn


# -- CEL over Series --------------------------------------------------------------------------


class PandasOps(Ops[Mask]):
    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.n = len(df)
        self._cache: dict[str, tuple[Any, ColumnKind, Mask | None]] = {}

    def columns(self) -> Sequence[str]:
        return list(self.df.columns)

    def column(self, name: str) -> tuple[Any, ColumnKind, Mask | None]:
        if name not in self._cache:
            s = self.df[name]
            null = s.isna().to_numpy()
            self._cache[name] = (s, _kind(s), null if null.any() else None)
        return self._cache[name]

    def mask(self, value: bool) -> Mask:
        return np.full(self.n, value, dtype=bool)

    def m_and(self, a: Mask, b: Mask) -> Mask:
        return a & b

    def m_or(self, a: Mask, b: Mask) -> Mask:
        return a | b

    def m_not(self, a: Mask) -> Mask:
        return ~a

    def truth(self, data: Any) -> Mask:
        if isinstance(data, np.ndarray) and data.dtype == bool:
            return data
        if isinstance(data, pd.Series):
            if data.dtype == bool:
                result: Mask = data.to_numpy()
                return result
            return (  # type: ignore[no-any-return]
                data.fillna(False).to_numpy(dtype=bool, na_value=False)
                & data.map(lambda v: v is True or v is np.True_).to_numpy(dtype=bool)
                if _is_object(data.dtype)
                else data.to_numpy(dtype=bool, na_value=False)
            )
        return np.asarray(data, dtype=bool)

    def where(self, cond: Mask, a: Any, b: Any) -> Any:
        if isinstance(a, pd.Series):
            return a.where(cond, b)
        if isinstance(b, pd.Series):
            return b.mask(cond, a)
        return np.where(cond, a, b)

    def compare(self, op: str, a: Any, b: Any) -> Any:
        with np.errstate(all="ignore"):
            result = _OPS[op](a, b)
        return self.truth(result)

    def arith(self, op: str, a: Any, b: Any) -> Any:
        with np.errstate(all="ignore"):
            return _OPS[op](a, b)

    def int_div(self, a: Any, b: Any) -> Any:
        with np.errstate(all="ignore"):
            q = abs(a) // _nonzero(abs(b))
            sign = np.sign(a) * np.sign(b)
            return q * sign

    def is_zero(self, a: Any) -> Mask:
        return self.truth(a == 0)

    def neg(self, a: Any) -> Any:
        return -a

    def isin(self, data: Any, values: list[Any]) -> Any:
        return data.isin(values).to_numpy(dtype=bool)

    def str_len(self, data: Any) -> Any:
        return data.str.len()

    def list_len(self, data: Any) -> Any:
        return data.map(lambda x: len(x) if hasattr(x, "__len__") else np.nan)

    def str_method(self, method: str, data: Any, arg: str) -> Any:
        s = data.str
        if method == "startsWith":
            result = s.startswith(arg)
        elif method == "endsWith":
            result = s.endswith(arg)
        elif method == "contains":
            result = s.contains(arg, regex=False)
        else:
            result = _search(data, arg)
        return self.truth(result)

    def str_case(self, data: Any, upper: bool) -> Any:
        return data.str.upper() if upper else data.str.lower()

    def concat(self, a: Any, b: Any) -> Any:
        return a + b

    def to_float(self, data: Any) -> Any:
        return data.astype(float)

    def trunc_int(self, data: Any) -> tuple[Any, Mask]:
        values = data.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        return pd.Series(np.trunc(np.where(bad, 0, values)), index=data.index), bad

    def timestamp(self, data: Any) -> tuple[Any, Mask]:
        return parse_timestamps(data)

    def ts_column(self, data: Any) -> Any:
        if data.dt.tz is None:
            return data.dt.tz_localize("UTC")
        return data.dt.tz_convert("UTC")

    def constant(self, value: Any, kind: ColumnKind) -> Any:
        if kind == "duration":
            return pd.Timedelta(value)
        return value


def _nonzero(b: Any) -> Any:
    if isinstance(b, pd.Series):
        return b.mask(b == 0, 1)
    return b if b != 0 else 1


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
    "/": lambda a, b: a / _nonzero(b),
}


def _kind(s: pd.Series) -> ColumnKind:
    dtype = s.dtype
    if _is_bool_dtype(dtype):
        return "bool"
    if _is_int_dtype(dtype):
        return "int"
    if _is_float_dtype(dtype):
        return "float"
    if _is_str_dtype(dtype):
        return "string"
    if _is_datetime_dtype(dtype):
        return "timestamp"
    if _is_object(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        if inferred == "string":
            return "string"
        if inferred == "empty":
            return "any"
        if inferred == "boolean":
            return "bool"
    return "any"


def parse_timestamps(s: pd.Series) -> tuple[pd.Series, Mask]:
    """`timestamp()` of a string column: (UTC datetimes, error mask), exactly as
    `enforcers.cel_python._timestamp` per value (RFC 3339 shapes parsed vectorized, others
    by Python's parser once per distinct string)."""
    text = s.astype(object).where(s.notna(), None) if _is_object(s.dtype) else s
    fast = text.str.match(TIMESTAMP_FAST, na=False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(
        text.where(fast), format="ISO8601", utc=True, errors="coerce"
    ).dt.as_unit("us")
    bad = fast & parsed.isna().to_numpy()
    notnull = s.notna().to_numpy()
    slow = notnull & ~fast
    if slow.any():
        values: dict[str, datetime | None] = {}
        for v in pd.unique(s[slow]):
            try:
                values[v] = _timestamp(v)
            except (TypeError, ValueError):
                values[v] = None
        converted = s[slow].map(lambda v: values.get(v))
        slow_ts = pd.to_datetime(converted, utc=True, errors="coerce").dt.as_unit("us")
        parsed = parsed.copy()
        parsed[slow] = slow_ts
        bad = bad | (slow & parsed.isna().to_numpy())
    return parsed, bad


# -- the backend ------------------------------------------------------------------------------


class PandasBackend:
    name = "pandas"

    def evaluate(self, df: pd.DataFrame, plan: Plan) -> Evaluation:
        pa = _pa()
        original_index = df.index
        frame = flatten(df).reset_index(drop=True)
        n = len(frame)
        spec = plan.spec
        columns = [str(c) for c in frame.columns]
        notes = []
        for c in spec.columns:
            if c.container and c.name not in columns and c.required:
                if plan.unmappable == "error":
                    raise UnmappableField(c.name, absent_container_note(c).reason)
                notes.append(absent_container_note(c))
        schema, by_name = _schema(spec, tuple(columns))
        failing: dict[str, Any] = {}
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            failing = _failures(exc.failure_cases, n)
        outcomes: list[tuple[RowCheck, RowOutcome]] = []
        # Every check pandera ran, in schema order, passed or failed.
        for key, row_check in by_name.items():
            if "|" in key:
                continue  # pandera's own checks: reported only when they fail
            column = row_check.field
            if column is not None and column not in columns and row_check.check != "required":
                continue
            positions = failing.get(row_check.name, _EMPTY)
            outcomes.append((row_check, self._outcome(frame, positions, plan, original_index)))
        for c in spec.columns:
            missing = failing.get(f"{c.name}|column_in_dataframe")
            if missing is not None:
                row_check = by_name[f"{c.name}|column_in_dataframe"]
                outcomes.append((row_check, self._outcome(frame, missing, plan, original_index)))
            elif c.name in columns and not c.nullable:
                nulls = failing.get(f"{c.name}|not_nullable", _EMPTY)
                row_check = by_name[f"{c.name}|not_nullable"]
                outcomes.append((row_check, self._outcome(frame, nulls, plan, original_index)))
        for unique in unique_keys(spec):
            if not all(k in columns for k in unique):
                continue
            sub = frame[list(unique)]
            complete = sub.notna().all(axis=1).to_numpy()
            repeat = sub.duplicated(keep="first").to_numpy() & complete
            outcomes.append(
                (
                    unique_check(unique),
                    self._outcome(frame, _positions(repeat), plan, original_index),
                )
            )
        ops = PandasOps(frame)
        for rule in plan.rules:
            try:
                passes = rule.columns.passes(ops)
                row_wise = False
            except Unsupported:
                passes = evaluate_rows(rule, frame.to_dict("records") if n else [], columns)
                row_wise = True
            outcomes.append(
                (
                    rule_check(rule, row_wise),
                    self._outcome(frame, _positions(~passes), plan, original_index),
                )
            )
        error_rows = np.zeros(n, dtype=bool)
        for row_check, outcome in outcomes:
            if row_check.severity is Severity.ERROR and outcome.positions is not None:
                error_rows[outcome.positions] = True
        bad = _positions(error_rows)
        return Evaluation(
            rows=n,
            outcomes=outcomes,
            measures=self.measures(frame, plan),
            failing=bad,
            failed_rows=len(bad),
            notes=notes,
        )

    def _outcome(
        self, frame: pd.DataFrame, positions: Any, plan: Plan, index: pd.Index
    ) -> RowOutcome:
        positions = np.asarray(positions, dtype=np.int64)
        samples = []
        if len(positions):
            rows = frame.iloc[positions[: plan.samples]].to_dict("records")
            samples = [pii_redact(plan.spec, _clean(r)) for r in rows]
        return RowOutcome(len(positions), positions, samples)

    def measures(self, frame: pd.DataFrame, plan: Plan) -> Measures:
        n = len(frame)
        m = Measures(rows=n)
        for col in plan.null_columns:
            m.nulls[col] = int(frame[col].isna().sum()) if col in frame.columns else n
        for key in plan.repeat_keys:
            cols = [c for c in (key or tuple(frame.columns)) if c in frame.columns]
            if not cols or n == 0:
                m.repeats[key] = max(n - 1, 0) if n else 0
                continue
            m.repeats[key] = int(frame.duplicated(subset=cols, keep="first").sum())
        for name, col, values in plan.allowed:
            if col not in frame.columns:
                m.allowed[name] = (0, 0)
                continue
            s = frame[col]
            notnull = s.notna()
            m.allowed[name] = (int((s.isin(list(values)) & notnull).sum()), int(notnull.sum()))
        if plan.freshness and plan.freshness in frame.columns and n:
            s = frame[plan.freshness]
            if _is_datetime_dtype(s.dtype):
                ts = PandasOps(frame).ts_column(s)
            else:
                ts, _ = parse_timestamps(s.astype(object).where(s.notna(), None))
            latest = ts.max()
            m.max_time = None if pd.isna(latest) else latest.to_pydatetime()
        return m


_EMPTY = np.zeros(0, dtype=np.int64)


def _positions(mask: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.flatnonzero(np.asarray(mask, dtype=bool)).astype(np.int64)


def _failures(cases: pd.DataFrame, n: int) -> dict[str, Any]:
    """pandera's failure cases → {check name or 'column|pandera check': row positions}."""
    out: dict[str, Any] = {}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        if check == "column_in_dataframe":
            key = f"{group['failure_case'].iloc[0]}|{check}"
            out[key] = np.arange(n, dtype=np.int64)
            continue
        key = f"{column}|{check}" if check == "not_nullable" else str(check)
        idx = pd.to_numeric(group["index"], errors="coerce").dropna().astype(np.int64).unique()
        out[key] = np.sort(idx)
    return out


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): (None if _is_na(v) or v is pd.NaT or v is pd.NA else v) for k, v in row.items()}
