"""pandas: the contract as a `pandera.pandas.DataFrameSchema`, rules as Series operations.

pandera runs the schema (column presence, nullability, types and value checks, lazily, with
failure cases by row); Accord adds exact cross-row checks (uniqueness, keeping the first
occurrence) and CEL rules compiled to column operations. What these share (a column's null
mask, its typed values, parsed timestamps, duplicate rows) is computed once per validation
(`ColumnMemo`).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
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
from enforcers.batch.rowwise import canonical, evaluate_rows, items_validator
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
from enforcers.patterns import for_engine, reads_alike

__all__ = ["PandasBackend", "flatten", "pandera_schema"]

Mask = np.ndarray[Any, np.dtype[np.bool_]]


def _pa() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.pandas as pa
    return pa


# -- flattening -------------------------------------------------------------------------------


def flatten(
    df: pd.DataFrame, keep: Sequence[str] = (), objects: Sequence[str] = ()
) -> pd.DataFrame:
    """Columns holding dicts become dotted columns (``customer`` → ``customer.email``), but
    for `keep` (declared fields: a free-form object is checked whole, as on polars).

    A column's values that are not dicts stay in a column of its name ("customer": "C2"),
    for the checks to see. A column of `objects` (declared objects with properties) is split
    if any value is a dict; another, if its first value is (which spares a scan of every
    column of strings).
    """
    repeated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if repeated:  # left by a concat or a join; which one the contract means is unknowable
        raise ValueError(f"the frame has columns of the same name: {', '.join(repeated)}")
    df = _plain_types(df)
    nested = [
        c
        for c in df.columns
        if str(c) not in keep
        and (
            _is_arrow_struct(df[c].dtype)
            or (
                _is_object(df[c].dtype)
                and (
                    _first_is_mapping(df[c])
                    or (str(c) in objects and any(isinstance(v, Mapping) for v in df[c].tolist()))
                )
            )
        )
    ]
    if not nested:
        return df
    parts = [df.drop(columns=nested)]
    for name in nested:
        values = df[name].tolist()
        others = [None if isinstance(v, Mapping) or _is_missing(v) else v for v in values]
        if any(v is not None for v in others):
            parts.append(pd.Series(others, index=df.index, name=name, dtype=object).to_frame())
        records = [v if isinstance(v, Mapping) else {} for v in values]
        inner = pd.json_normalize(records, sep=".", max_level=0)  # deeper: by recursion
        inner.index = df.index
        inner.columns = [f"{name}.{c}" for c in inner.columns]
        parts.append(inner)
    return flatten(pd.concat(parts, axis=1), keep, objects)


def _is_missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA: what a null cell holds."""
    return value is None or value is pd.NA or value is pd.NaT or _is_na(value)


def _plain_types(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as their categories' type, Decimals as floats: what the checks
    and rules know (a category column of strings is strings to ``matches()`` and ``+``)."""
    changed = {}
    for name in df.columns:
        s = df[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            categories = s.cat.categories.dtype
            if pd.api.types.is_integer_dtype(categories) and s.isna().any():
                changed[name] = s.astype("Int64")  # int64 has no room for the missing
            else:
                changed[name] = s.astype(categories)
        elif isinstance(s.dtype, pd.ArrowDtype) and _is_arrow_decimal(s.dtype):
            changed[name] = s.astype("float64")
        elif _is_object(s.dtype) and isinstance(_first_present(s), Decimal):
            changed[name] = s.map(lambda v: float(v) if isinstance(v, Decimal) else v)
    return df.assign(**changed) if changed else df


def _is_arrow_decimal(dtype: pd.ArrowDtype) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_decimal(dtype.pyarrow_dtype))


def _is_arrow_struct(dtype: Any, *, maps: bool = False) -> bool:
    """An Arrow-backed struct column (``dtype_backend="pyarrow"``): a dict per row. With
    `maps`, a map column too (a list of pairs per row)."""
    import pyarrow as pa

    return isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_struct(dtype.pyarrow_dtype) or (maps and pa.types.is_map(dtype.pyarrow_dtype))
    )


def _first_present(s: pd.Series) -> Any:
    """The first non-null value. A short head nearly always holds one, which spares a null
    pass over every (long) object column."""
    for part in (s.iloc[:64], s):
        present = np.flatnonzero(part.notna().to_numpy())
        if len(present):
            return part.iloc[present[0]]
    return None


def _first_is_mapping(s: pd.Series) -> bool:
    return isinstance(_first_present(s), Mapping)


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


def type_mask(s: pd.Series, c: ColumnSpec, null: Mask) -> Mask:
    """Per row: the value has the contract's type (nulls, `null`, pass)."""
    dtype = s.dtype
    kind = c.kind
    if kind == "any":
        return _full(s, True)
    if kind == "string":
        if _is_str_dtype(dtype) or (c.temporal and _is_datetime_dtype(dtype)):
            return _full(s, True)
    elif kind == "integer":
        if _is_int_dtype(dtype):
            return _full(s, True)
        if _is_float_dtype(dtype):
            values = s.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                ok: Mask = np.isnan(values) | (np.isfinite(values) & (np.floor(values) == values))
            return ok
    elif kind == "number":
        if _is_int_dtype(dtype) or _is_float_dtype(dtype):
            return _full(s, True)
    elif (
        (kind == "boolean" and _is_bool_dtype(dtype))
        or (kind == "array" and isinstance(dtype, pd.ArrowDtype) and "list" in str(dtype))
        or (kind == "object" and _is_arrow_struct(dtype, maps=True))
    ):
        return _full(s, True)
    if _is_object(dtype):
        inferred = pd.api.types.infer_dtype(s, skipna=True)
        fast = {"string": "string", "integer": "integer", "boolean": "boolean"}
        if fast.get(inferred) == kind or (kind == "number" and inferred in ("integer", "floating")):
            return _full(s, True)
        typed: Mask = s.map(_element_ok(kind)).to_numpy(dtype=bool)
        return null | typed
    return null  # another dtype: every value is of the wrong type


def normalized(s: pd.Series, c: ColumnSpec, ok: Mask, null: Mask) -> pd.Series | None:
    """The column with wrong-typed values (`ok` false) as nulls, for value checks; None:
    skip them."""
    dtype = s.dtype
    if c.kind == "string":
        if _is_str_dtype(dtype):
            return s
        if c.temporal and _is_datetime_dtype(dtype):
            return None  # a datetime column satisfies date-time; its values need no format
        if _is_object(dtype):
            return s if bool(ok.all()) else s.where(ok & ~null)
        return None
    if c.kind in ("integer", "number"):
        if _is_int_dtype(dtype) or _is_float_dtype(dtype):
            return s
        if _is_object(dtype):
            return pd.to_numeric(s.where(ok & ~null), errors="coerce")
        return None
    if c.kind in ("boolean", "any"):
        return s
    if c.kind in ("array", "object"):
        if isinstance(dtype, pd.ArrowDtype) or bool(ok.all()):
            return s
        return s.where(ok & ~null) if _is_object(dtype) else None
    return None


def _all(s: pd.Series, value: bool) -> pd.Series:
    return pd.Series(_full(s, value), index=s.index)


def _full(s: pd.Series, value: bool) -> Mask:
    return np.full(len(s), value)


# -- value checks -----------------------------------------------------------------------------


def _search(
    v: pd.Series, pattern: str, null: Mask | None = None, *, arrow_pattern: str | None = None
) -> pd.Series | Mask:
    """Per row: `pattern` is found in the value (nulls and non-strings pass). `null`: v's
    null mask when the caller has it already. `arrow_pattern`: the pattern as RE2 is to be
    given it, for Arrow-backed strings (which pandas searches with RE2); else `pattern`."""
    if _is_object(v.dtype):
        # RE2 only where it reads the pattern as `re` does: the verdicts stay the same.
        re2 = arrow_pattern if arrow_pattern is not None and reads_alike(pattern) else None
        found = _search_objects(v.to_numpy(), pattern, _null_mask(v) if null is None else null, re2)
        if found is not None:
            return found
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arrow = isinstance(v.dtype, pd.ArrowDtype) or getattr(v.dtype, "storage", "") in (
                "pyarrow",
                "pyarrow_numpy",
            )
            searched = arrow_pattern if arrow and arrow_pattern is not None else pattern
            return v.str.contains(searched, regex=True, na=True)
    except Exception:  # a pattern the Arrow regex engine refuses: Python's re, per value
        compiled = re.compile(pattern)
        return v.map(lambda x: not isinstance(x, str) or compiled.search(x) is not None)


def _search_objects(
    values: np.ndarray[Any, Any], pattern: str, null: Mask, arrow_pattern: str | None = None
) -> Mask | None:
    """A search over the non-null values of an object array: what ``str.contains`` does on
    object columns, without its null pass and per-value lambda, which cost as much as the
    search itself. Arrow's RE2 searches with `arrow_pattern` when it takes the values and
    the pattern (4 to 5x quicker than `re` over 1M strings); else `re.search` with
    `pattern`. None when a value is not a string (the ``.str`` fallbacks decide)."""
    present = ~null
    strings = values[present]
    found: Mask | None = None
    if arrow_pattern is not None:
        with contextlib.suppress(ValueError):  # ArrowInvalid: RE2 refuses the pattern
            found = _arrow_match(strings, arrow_pattern)
    if found is None:
        search = re.compile(pattern).search
        try:
            # A match object is true and None false, so the bound method needs no wrapper.
            found = np.fromiter(map(search, strings), dtype=bool, count=len(strings))
        except TypeError:
            return None
    ok = np.ones(len(values), dtype=bool)
    ok[present] = found
    return ok


def _format_mask(v: pd.Series, null: Mask, fmt: str) -> Mask:
    """Per row: a valid `fmt` (nulls pass). Values of the common shapes pass by pattern;
    the rest is judged once per distinct value."""
    rest = ~null
    if fmt in FORMAT_QUICK:
        pattern, longest = FORMAT_QUICK[fmt]
        found = _search(
            v, for_engine(pattern, "python"), null, arrow_pattern=for_engine(pattern, "re2")
        )
        quick = np.asarray(found, dtype=bool)
        if longest is not None:
            quick = quick & (v.str.len() <= longest).fillna(False).to_numpy(dtype=bool)
        rest = rest & ~quick
    ok = np.ones(len(v), dtype=bool)
    if rest.any():
        candidates = v[rest]
        bad = format_failures(pd.unique(candidates.to_numpy(dtype=object)), fmt)
        if bad:
            ok[rest] = ~candidates.isin(bad).to_numpy(dtype=bool)
    return ok


def value_mask(v: pd.Series, null: Mask, check: ColumnCheck, c: ColumnSpec) -> Mask:
    """Per row: the (normalized) value passes `check` (nulls, `null`, pass)."""
    kind, arg = check.kind, check.arg
    if kind == "minimum":
        ok = v >= arg
    elif kind == "maximum":
        ok = v <= arg
    elif kind == "exclusiveMinimum":
        ok = v > arg
    elif kind == "exclusiveMaximum":
        ok = v < arg
    elif kind == "multipleOf":
        return _multiples(v, arg) | null
    elif kind == "enum" and c.kind in ("any", "array", "object") and not _is_str_dtype(v.dtype):
        # Lists and dicts: pandas hashes neither, and JSON compares dicts without order.
        wanted = {canonical(x) for x in arg}
        ok = v.map(lambda x: canonical(x) in wanted)
    elif kind == "enum":
        ok = v.isin(list(arg))
    elif kind in ("minLength", "maxLength"):
        length = v.str.len()
        ok = length >= arg if kind == "minLength" else length <= arg
    elif kind == "format":
        return _format_mask(v, null, str(arg))
    elif kind == "pattern":
        assert check.pattern is not None
        found = _search(
            v,
            for_engine(check.pattern, "python"),
            null,
            arrow_pattern=for_engine(check.pattern, "re2"),
        )
        if isinstance(found, np.ndarray):
            return found  # nulls already pass
        ok = found
    elif kind in ("minItems", "maxItems"):
        length = v.map(lambda x: len(x) if hasattr(x, "__len__") else np.nan)
        ok = length >= arg if kind == "minItems" else length <= arg
    elif kind == "items":
        validator = items_validator(c, arg)
        ok = v.map(lambda x: x is None or _is_na(x) or validator(x))
    else:  # pragma: no cover - the spec has no other kinds
        raise ValueError(kind)
    passed: Mask = ok.fillna(False).to_numpy(dtype=bool)
    return passed | null


def _multiples(v: pd.Series, multiple: int | float) -> Mask:
    """Per row: a multiple of `multiple`, as per record (`is_multiple`): integers exactly."""
    if not _is_int_dtype(v.dtype):
        return float_multiples(v.to_numpy(dtype=float, na_value=np.nan), multiple)
    unsigned = pd.api.types.is_unsigned_integer_dtype(v.dtype)
    ints = v.to_numpy(dtype=np.uint64 if unsigned else np.int64, na_value=0)
    step = integer_step(multiple)
    info = np.iinfo(ints.dtype)
    if step > info.max:  # no room for a remainder; the multiples in range are 0 and ±step
        return np.isin(ints, [x for x in (-step, 0, step) if info.min <= x <= info.max])
    ok: Mask = ints % step == 0
    return ok


def _is_na(x: Any) -> bool:
    return isinstance(x, float) and x != x


# -- what checks share ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Typed:
    """A column read as one contract type."""

    ok: Mask  # the value has the type (nulls pass)
    values: pd.Series | None  # wrong-typed values as nulls; None: value checks are skipped
    null: Mask  # the null mask of `values`


@dataclass(slots=True)
class _Facts:
    series: pd.Series  # held, so that the id keying these facts is not reused meanwhile
    null: Mask | None = None
    typed: dict[tuple[str, str | None], Typed] = field(default_factory=dict)
    timestamps: tuple[pd.Series, Mask] | None = None


class ColumnMemo:
    """What several checks and rules of one validation compute from the same column, once:
    its null mask (a full pass over an object column, which a dozen checks would otherwise
    repeat), its values read as a contract type, its parsed timestamps, and duplicate rows.

    Facts are keyed by the Series (or frame) object itself. pandas hands out the same object
    for ``frame[name]`` while the frame is unchanged, so pandera's checks, the rules and the
    measures of one `PandasBackend.evaluate` share them; any other object (a copy, a derived
    value) misses and is computed afresh, so a hit is never stale. A memo lives for one
    validation: it holds the objects it has seen. ``remember=False`` computes every time
    (a pandera schema handed to callers, which may change their frames between runs).
    """

    def __init__(self, *, remember: bool = True) -> None:
        self._remember = remember
        self._facts: dict[int, _Facts] = {}
        self._repeats: dict[tuple[int, tuple[str, ...]], tuple[pd.DataFrame, Mask]] = {}

    def _of(self, s: pd.Series) -> _Facts:
        facts = self._facts.get(id(s))
        if facts is None or facts.series is not s:
            facts = _Facts(s)
            if self._remember:
                self._facts[id(s)] = facts
        return facts

    def nulls(self, s: pd.Series) -> Mask:
        facts = self._of(s)
        if facts.null is None:
            facts.null = _frozen(s.isna().to_numpy())
        return facts.null

    def typed(self, s: pd.Series, c: ColumnSpec) -> Typed:
        """`s` read as `c`'s type (which depends on its kind and temporal format only)."""
        facts = self._of(s)
        key = (c.kind, c.temporal)
        typed = facts.typed.get(key)
        if typed is None:
            null = self.nulls(s)
            ok = _frozen(type_mask(s, c, null))
            values = normalized(s, c, ok, null)
            if values is None or values is s:
                values_null = null
            else:
                values_null = _frozen(values.isna().to_numpy())
            typed = facts.typed[key] = Typed(ok, values, values_null)
        return typed

    def timestamps(self, s: pd.Series) -> tuple[pd.Series, Mask]:
        """`timestamp()` of a string column (`parse_timestamps`)."""
        facts = self._of(s)
        if facts.timestamps is None:
            parsed, bad = parse_timestamps(s, self.nulls(s))
            facts.timestamps = (parsed, _frozen(bad))
        return facts.timestamps

    def duplicated(self, frame: pd.DataFrame, columns: Sequence[str]) -> Mask:
        """Rows repeating an earlier row over `columns`, nulls compared as values (a unique
        key and a duplicate_rate check on the same columns ask for the same thing)."""
        key = (id(frame), tuple(columns))
        hit = self._repeats.get(key)
        if hit is not None and hit[0] is frame:
            return hit[1]
        try:
            repeats = frame.duplicated(subset=list(columns), keep="first")
        except (TypeError, NotImplementedError):  # unhashable cells: lists, dicts, Arrow's
            repeats = _hashable(frame, columns).duplicated(keep="first")
        repeat = _frozen(repeats.to_numpy())
        if self._remember:
            self._repeats[key] = (frame, repeat)
        return repeat


def _hashable(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`frame[columns]` with cells that pandas cannot hash (lists, dicts, Arrow's nested
    values) in their `canonical` form."""
    out: dict[str, Any] = {}
    for name in columns:
        s = frame[name]
        if _is_object(s.dtype) or isinstance(s.dtype, pd.ArrowDtype):
            out[name] = [canonical(v) for v in s.tolist()]
        else:
            out[name] = s.to_numpy()
    return pd.DataFrame(out, index=frame.index)


def _frozen(mask: Mask) -> Mask:
    """A shared mask made read-only, so that no caller can change it for the others."""
    mask.flags.writeable = False
    return mask


def _null_mask(s: pd.Series) -> Mask:
    result: Mask = s.isna().to_numpy()
    return result


# -- the pandera schema -----------------------------------------------------------------------

CheckFn = Callable[[pd.Series], pd.Series]


def _column_checks(c: ColumnSpec, memo: ColumnMemo) -> list[tuple[RowCheck, CheckFn]]:
    def type_fn(s: pd.Series) -> pd.Series:
        return pd.Series(memo.typed(s, c).ok, index=s.index)

    checks: list[tuple[RowCheck, CheckFn]] = [(type_check(c), type_fn)]
    for check in c.checks:

        def fn(s: pd.Series, check: ColumnCheck = check) -> pd.Series:
            typed = memo.typed(s, replace(c, kind=judged_kind(c, check)))
            if typed.values is None:
                return _all(s, True)
            return pd.Series(value_mask(typed.values, typed.null, check, c), index=s.index)

        checks.append((value_check(c, check), fn))
    return checks


def pandera_schema(spec: TableSpec, columns: Sequence[str] | None = None) -> Any:
    """The contract as a pandera (pandas) schema.

    With `columns` (the frame's), undeclared columns that a closed object forbids get a
    check too. Checks are named after Accord's check names (``order_id: format:uuid``).
    """
    names = tuple(columns) if columns is not None else None
    return _schema(spec, names, ColumnMemo(remember=False))[0]


def _schema(
    spec: TableSpec, columns: tuple[str, ...] | None, memo: ColumnMemo
) -> tuple[Any, dict[str, RowCheck]]:
    """The schema, and Accord's row check per pandera check name. Column checks take nulls
    as passing themselves (``ignore_na=False``): pandera would otherwise look for nulls and
    drop them before every check, and hand each check a fresh copy that `memo` cannot
    recognise."""
    pa = _pa()
    by_name: dict[str, RowCheck] = {}
    pa_columns: dict[str, Any] = {}
    present = set(columns) if columns is not None else None
    for c in spec.columns:
        if present is not None and c.name not in present and (c.container or not c.required):
            continue
        checks = []
        for row_check, fn in _column_checks(c, memo):
            by_name[row_check.name] = row_check
            checks.append(pa.Check(fn, name=row_check.name, ignore_na=False))
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
        # By the index, not a column: a frame may have none (empty, or none declared).
        nowhere = pd.Series(False, index=df.index, dtype=bool)
        parent_there = df[siblings].notna().any(axis=1) if siblings else nowhere
        value = df[name].notna() if name in df.columns else nowhere
        return value | ~parent_there

    return fn


# -- CEL over Series --------------------------------------------------------------------------


class PandasOps(Ops[Mask]):
    def __init__(
        self,
        df: pd.DataFrame,
        memo: ColumnMemo | None = None,
        integers: frozenset[str] = frozenset(),
    ) -> None:
        self.df = df
        self.integers = integers  # columns the contract types integer
        self.n = len(df)
        self.memo = memo if memo is not None else ColumnMemo()
        self._cache: dict[str, tuple[Any, ColumnKind, Mask | None]] = {}

    def columns(self) -> Sequence[str]:
        return list(self.df.columns)

    def column(self, name: str) -> tuple[Any, ColumnKind, Mask | None]:
        if name not in self._cache:
            s = self.df[name]
            null = self.memo.nulls(s)
            kind = _kind(s)
            if kind == "float" and name in self.integers:
                s, null, kind = _whole(s, null), null | _fractional(s), "int"
            self._cache[name] = (s, kind, null if null.any() else None)
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
                data.map(lambda v: v is True or v is np.True_).to_numpy(dtype=bool)
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

    def int_arith(self, op: str, a: Any, b: Any) -> tuple[Any, Mask]:
        with np.errstate(all="ignore"):
            result = _OPS[op](a, b)  # wraps around on overflow
            overflow = _overflowed(op, a, b, result)
        return result, self.truth(overflow)

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
        else:  # matches: RE2's syntax
            result = _search(
                data,
                for_engine(arg, "python", "re2"),
                arrow_pattern=for_engine(arg, "re2", "re2"),
            )
        return self.truth(result)

    def str_case(self, data: Any, upper: bool) -> Any:
        return data.str.upper() if upper else data.str.lower()

    def concat(self, a: Any, b: Any) -> Any:
        return a + b

    def to_float(self, data: Any) -> Any:
        return data.astype(float)

    def trunc_int(self, data: Any) -> tuple[Any, Mask]:
        values = data.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):  # NaN compares False, and is bad anyway
            bad = ~((values >= -(2.0**63)) & (values < 2.0**63))
        return pd.Series(np.trunc(np.where(bad, 0, values)), index=data.index), bad

    def timestamp(self, data: Any) -> tuple[Any, Mask]:
        if isinstance(data, pd.Series):
            return self.memo.timestamps(data)  # a column several rules parse: once
        return parse_timestamps(data)

    def ts_column(self, data: Any) -> Any:
        if data.dt.tz is None:
            return data.dt.tz_localize("UTC")
        return data.dt.tz_convert("UTC")

    def constant(self, value: Any, kind: ColumnKind) -> Any:
        if kind == "duration":
            return pd.Timedelta(value)
        return value


def _overflowed(op: str, a: Any, b: Any, result: Any) -> Any:
    """Where `result`, `a op b` wrapped around to 64 bits, is not the true value.

    A sum overflowed where adding a positive number made it smaller (or a negative one
    larger); a product where dividing it by `a` does not give `b` back: an exact product
    divides exactly, a wrapped one is off by a multiple of 2**64 / a, at least 2.
    """
    if op == "+":
        return ((b > 0) & (result < a)) | ((b < 0) & (result > a))
    if op == "-":
        return ((b > 0) & (result > a)) | ((b < 0) & (result < a))
    minus_one = (a == -1) & (b == -(2**63))  # -1 * MIN wraps to MIN, which // -1 keeps
    other = (a != 0) & (a != -1) & (result // _nonzero(a) != b)
    return minus_one | other


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


def _fractional(s: pd.Series) -> Mask:
    """Values no 64-bit integer holds (NaN too): the type check fails them already."""
    values = s.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = (np.floor(values) == values) & (values >= -(2.0**63)) & (values < 2.0**63)
    fractional: Mask = ~whole
    return fractional


def _whole(s: pd.Series, null: Mask) -> pd.Series:
    """A float column of an integer field (pandas' shape of a nullable integer column) as
    Int64, so that rules see integers: ``%`` works and ``/`` divides as integers."""
    bad = null | _fractional(s)
    values = np.where(bad, 0, s.to_numpy(dtype=float, na_value=0.0)).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(values, bad), index=s.index, name=s.name)


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


def parse_timestamps(s: pd.Series, null: Mask | None = None) -> tuple[pd.Series, Mask]:
    """`timestamp()` of a string column: (UTC datetimes, error mask), exactly as
    `enforcers.cel_python._timestamp` per value (RFC 3339 shapes parsed vectorized, others
    by Python's parser once per distinct string). `null`: s's null mask, if known."""
    notnull = ~(_null_mask(s) if null is None else null)
    fast = _rfc3339_shaped(s, notnull)
    parsed = pd.to_datetime(s.where(fast), format="ISO8601", utc=True, errors="coerce").dt.as_unit(
        "us"
    )
    bad = fast & parsed.isna().to_numpy()
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


def _rfc3339_shaped(s: pd.Series, notnull: Mask) -> Mask:
    """Rows holding a string of a shape the vectorized parser reads as `_timestamp` does
    (`TIMESTAMP_FAST`). Only a split between two exact paths: a row left out goes to the
    per-value parser, the reference. Object columns of strings are matched by Arrow's RE2,
    several times faster than Python's re per value; RE2's ``$`` matches only at the end
    (Python's also before a final newline, which `_timestamp` rejects)."""
    if _is_object(s.dtype):
        present = s.to_numpy()[notnull]
        fast = np.zeros(len(s), dtype=bool)
        if pd.api.types.infer_dtype(present, skipna=False) not in ("string", "empty"):
            # Not all strings (datetimes of mixed UTC offsets, which pandas keeps as
            # objects): ``.str`` refuses them; the per-value parser takes what is no string.
            match = re.compile(TIMESTAMP_FAST).fullmatch
            fast[notnull] = [isinstance(v, str) and match(v) is not None for v in present]
            return fast
        found = _arrow_match(present, TIMESTAMP_FAST)
        if found is not None:
            fast[notnull] = found
            return fast
        s = s.astype(object).where(notnull, None)
    elif not _is_str_dtype(s.dtype):
        return np.zeros(len(s), dtype=bool)  # no text (numbers): the per-value parser's
    # fullmatch: Python's `$` would also let a trailing newline through.
    result: Mask = s.str.fullmatch(TIMESTAMP_FAST, na=False).to_numpy(dtype=bool)
    return result


def _arrow_match(strings: np.ndarray[Any, Any], pattern: str) -> Mask | None:
    """RE2 search of `pattern` in each of `strings` (Python str), None if Arrow refuses
    them (a lone surrogate is not UTF-8)."""
    import pyarrow
    import pyarrow.compute as pc

    try:
        text = pyarrow.array(strings, type=pyarrow.large_string())
    except (TypeError, ValueError):
        return None
    found: Mask = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
    return found


# -- the backend ------------------------------------------------------------------------------


class PandasBackend:
    name = "pandas"

    def evaluate(self, df: pd.DataFrame, plan: Plan) -> Evaluation:
        pa = _pa()
        original_index = df.index
        # Declared fields stay whole: a free-form object is checked as one, and an object
        # where a string belongs fails its type check instead of vanishing into columns.
        frame = _by_position(flatten(df, plan.spec.whole, plan.spec.split))
        n = len(frame)
        spec = plan.spec
        columns = [str(c) for c in frame.columns]
        notes = []
        for c in spec.columns:
            if c.container and c.name not in columns and c.required:
                if plan.unmappable == "error":
                    raise UnmappableField(c.name, absent_container_note(c).reason)
                notes.append(absent_container_note(c))
        memo = ColumnMemo()
        schema, by_name = _schema(spec, tuple(columns), memo)
        failing: dict[str, Any] = {}
        try:
            # In place: the schema neither coerces nor adds, drops or fills columns, so
            # pandera changes nothing but needs no copy (and its checks then read the
            # very Series `memo` knows).
            schema.validate(frame, lazy=True, inplace=True)
        except pa.errors.SchemaErrors as exc:
            for error in exc.schema_errors:
                # pandera reports a check that raised as a failure of no row: it would pass.
                if error.reason_code is pa.errors.SchemaErrorReason.CHECK_ERROR:
                    raise ValueError(
                        f"check {error.check.name!r} on column {error.schema.name!r} could "
                        f"not run: {error.failure_cases}"
                    ) from exc
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
                outcome = self._outcome(frame, missing, plan, original_index)
                outcome.column_missing = True
                outcomes.append((row_check, outcome))
            elif c.name in columns and not c.nullable:
                nulls = failing.get(f"{c.name}|not_nullable", _EMPTY)
                row_check = by_name[f"{c.name}|not_nullable"]
                outcomes.append((row_check, self._outcome(frame, nulls, plan, original_index)))
        for unique in unique_keys(spec):
            if not all(k in columns for k in unique):
                continue
            complete = ~np.logical_or.reduce([memo.nulls(frame[k]) for k in unique])
            repeat = memo.duplicated(frame, unique) & complete
            outcomes.append(
                (
                    unique_check(unique),
                    self._outcome(frame, _positions(repeat), plan, original_index),
                )
            )
        hidden = [name for name in spec.split if name in columns]
        seen = frame.drop(columns=hidden) if hidden else frame  # what rules read
        ops = PandasOps(seen, memo, plan.spec.integers)
        for rule in plan.rules:
            try:
                passes = rule.columns.passes(ops)
                row_wise = False
            except Unsupported:
                records = seen.to_dict("records") if n else []
                passes = evaluate_rows(rule, records, [str(c) for c in seen.columns], spec.integers)
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
            measures=self.measures(frame, plan, memo),
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

    def measures(self, frame: pd.DataFrame, plan: Plan, memo: ColumnMemo) -> Measures:
        n = len(frame)
        m = Measures(rows=n)
        columns = [str(c) for c in frame.columns]
        for col in plan.null_columns:
            held = field_columns(plan.spec, col, columns)
            nulls = np.logical_and.reduce([memo.nulls(frame[c]) for c in held]) if held else None
            m.nulls[col] = int(nulls.sum()) if nulls is not None else n
        for key in plan.repeat_keys:
            cols = (
                [c for k in key for c in field_columns(plan.spec, k, columns)] if key else columns
            )
            if not cols or n == 0:
                m.repeats[key] = max(n - 1, 0) if n else 0
                continue
            m.repeats[key] = int(memo.duplicated(frame, cols).sum())
        for name, col, values in plan.allowed:
            if col not in frame.columns:
                m.allowed[name] = (0, 0)
                continue
            s = frame[col]
            notnull = ~memo.nulls(s)
            hits = s.isin(list(values)).to_numpy() & notnull
            m.allowed[name] = (int(hits.sum()), int(notnull.sum()))
        if plan.freshness and plan.freshness in frame.columns and n:
            s = frame[plan.freshness]
            try:
                if _is_datetime_dtype(s.dtype):
                    ts = PandasOps(frame, memo).ts_column(s)
                else:
                    ts, _ = memo.timestamps(s)  # what a rule on this column parsed already
                latest = ts.max()
            except (TypeError, ValueError, AttributeError) as exc:
                # pandas' own message names neither the column nor the check.
                raise ValueError(
                    f"freshness: cannot read the event times in column {plan.freshness!r}: {exc}"
                ) from exc
            m.max_time = None if pd.isna(latest) else latest.to_pydatetime()
        return m


_EMPTY = np.zeros(0, dtype=np.int64)


def _by_position(df: pd.DataFrame) -> pd.DataFrame:
    """The frame indexed 0..n-1, as a new frame object over the same data: the caller's
    frame is left alone (pandera tags the frame it validates) and nothing is copied."""
    frame = df.copy(deep=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _positions(mask: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.flatnonzero(np.asarray(mask, dtype=bool)).astype(np.int64)


def _failures(cases: pd.DataFrame, n: int) -> dict[str, Any]:
    """pandera's failure cases → {check name or 'column|pandera check': row positions}."""
    out: dict[str, Any] = {}
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        if check == "column_in_dataframe":  # one case per missing column, all in a group
            for missing in group["failure_case"]:
                out[f"{missing}|{check}"] = np.arange(n, dtype=np.int64)
            continue
        key = f"{column}|{check}" if check == "not_nullable" else str(check)
        idx = pd.to_numeric(group["index"], errors="coerce").dropna().astype(np.int64).unique()
        out[key] = np.sort(idx)
    return out


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): (None if _is_na(v) or v is pd.NaT or v is pd.NA else v) for k, v in row.items()}
