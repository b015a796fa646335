"""PySpark: the contract's checks as Spark `Column`s, counted in one aggregation.

Every row check (schema keywords, uniqueness via a window, CEL rules) becomes a boolean
Column; one ``agg`` job counts the failures of all of them and the dataset measures, and a
second small job samples failing rows of the checks that failed. Rows have no order on
Spark, so the report carries counts and samples, not row indices. `pandera_schema` gives
the same contract as a `pandera.pyspark.DataFrameSchema`.

Differences from pandas/polars, by design of the engine: regular expressions are Java's;
`timestamp()` parses RFC 3339 strings (other ISO 8601 spellings Python would accept are
errors); naive timestamps are read in the session time zone.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from contracts import Severity
from enforcers.batch.cel_columns import INT_MIN, ColumnKind, Ops, Unsupported
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
from enforcers.batch.spec import (
    ColumnCheck,
    ColumnSpec,
    TableSpec,
    UnmappableField,
    decimal_multiple,
    integer_step,
    judged_kind,
)
from enforcers.patterns import for_engine

__all__ = ["SparkBackend", "flatten", "pandera_schema"]

Column = Any  # pyspark.sql.Column (pyspark is an optional dependency)


def _F() -> Any:
    from pyspark.sql import functions

    return functions


def _T() -> Any:
    from pyspark.sql import types

    return types


def col(name: str) -> Column:
    return _F().col("`" + name.replace("`", "``") + "`")


# -- flattening -------------------------------------------------------------------------------


def flatten(df: Any, keep: Sequence[str] = ()) -> Any:
    """Struct columns become dotted columns (``customer`` → ``customer.email``)."""
    T = _T()
    fields = df.schema.fields
    if not any(isinstance(f.dataType, T.StructType) and f.name not in keep for f in fields):
        return df
    exprs: list[Any] = []
    for f in fields:
        if isinstance(f.dataType, T.StructType) and f.name not in keep:
            exprs.extend(
                col(f.name).getField(sub.name).alias(f"{f.name}.{sub.name}")
                for sub in f.dataType.fields
            )
        else:
            exprs.append(col(f.name))
    return flatten(df.select(*exprs), keep)


# -- types ------------------------------------------------------------------------------------


def _is_int(t: Any) -> bool:
    T = _T()
    return isinstance(t, T.ByteType | T.ShortType | T.IntegerType | T.LongType) or (
        isinstance(t, T.DecimalType) and t.scale == 0
    )


def _is_float(t: Any) -> bool:
    T = _T()
    return isinstance(t, T.FloatType | T.DoubleType) or (
        isinstance(t, T.DecimalType) and t.scale > 0
    )


def _is_str(t: Any) -> bool:
    T = _T()
    return isinstance(t, T.StringType | T.VarcharType | T.CharType)


def _is_temporal(t: Any) -> bool:
    T = _T()
    return isinstance(t, T.TimestampType | T.TimestampNTZType | T.DateType)


def null_col(name: str, t: Any) -> Column:
    c = col(name)
    T = _T()
    if isinstance(t, T.FloatType | T.DoubleType):
        return c.isNull() | _F().isnan(c)
    return c.isNull()


def type_pass(name: str, t: Any, c: ColumnSpec) -> Column | None:
    T = _T()
    F = _F()
    kind = c.kind
    if kind == "any" or isinstance(t, T.NullType):
        return None
    ok = (
        (kind == "string" and (_is_str(t) or (c.temporal is not None and _is_temporal(t))))
        or (kind == "integer" and _is_int(t))
        or (kind == "number" and (_is_int(t) or _is_float(t)))
        or (kind == "boolean" and isinstance(t, T.BooleanType))
        or (kind == "array" and isinstance(t, T.ArrayType))
        or (kind == "object" and isinstance(t, T.StructType | T.MapType))
    )
    if ok:
        return None
    x = col(name)
    if kind == "integer" and _is_float(t):
        d = x.cast("double")
        finite = ~F.isnan(d) & (F.abs(d) != float("inf"))
        return x.isNull() | F.isnan(d) | (finite & (F.floor(d) == d))
    return x.isNull()


def _value_source(name: str, t: Any, c: ColumnSpec, check: ColumnCheck) -> Column | None:
    """The column for `check`; None when it does not apply (wrong type). A column holds
    one type: in a field of no one type, a check applies if it is the check's."""
    kind = judged_kind(c, check)
    T = _T()
    if kind == "string":
        return col(name) if _is_str(t) else None
    if kind in ("integer", "number"):
        return col(name) if (_is_int(t) or _is_float(t)) else None
    if kind == "array":
        return col(name) if isinstance(t, T.ArrayType) else None
    return col(name)


def value_pass(v: Column, t: Any, check: ColumnCheck, c: ColumnSpec) -> Column:
    """Per row: the value `v` (of type `t`) passes `check` (nulls pass)."""
    F = _F()
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
        ok = _multiples(v, t, arg)
    elif kind == "enum":
        ok = v.isin(list(arg)) if arg else F.lit(False)
    elif kind in ("minLength", "maxLength"):
        length = F.char_length(v)
        ok = length >= arg if kind == "minLength" else length <= arg
    elif kind in ("pattern", "format"):
        assert check.pattern is not None
        ok = v.rlike(for_engine(check.pattern, "java"))
    elif kind in ("minItems", "maxItems"):
        length = F.size(v)
        ok = length >= arg if kind == "minItems" else length <= arg
    elif kind == "items":
        raise Unsupported("array items are checked row-wise, not on Spark")
    else:  # pragma: no cover
        raise ValueError(kind)
    # NaN is a missing value (`null_col`), as in pandas: it passes like a null.
    missing = (
        v.isNull() | F.isnan(v) if isinstance(t, _T().FloatType | _T().DoubleType) else v.isNull()
    )
    return F.coalesce(ok, F.lit(True)) | missing


def _multiples(v: Column, t: Any, multiple: int | float) -> Column:
    """Per row: a multiple of `multiple`, as per record (`is_multiple`): integers and
    decimals exactly, doubles as `float_multiples` decides them where doubles can."""
    F, T = _F(), _T()
    decimals, whole = decimal_multiple(multiple)
    step = Decimal(whole).scaleb(-decimals)
    if _is_int(t) and not isinstance(t, T.DecimalType):
        steps = integer_step(multiple)
        return v % F.lit(steps) == 0 if steps < 2**63 else v == 0  # 0: the one long multiple
    d = v.cast("double")
    if len(str(whole)) > 38:  # a step no Spark decimal holds: doubles judge, roughly
        quotient = d / float(multiple)
        return quotient == F.rint(quotient)
    if isinstance(t, T.DecimalType):
        return v % F.lit(step) == 0
    # Past 10**14 units of the step's last decimal, a double's decimal has at most k + 3
    # decimals (Java prints 18 digits at most), which a decimal(38, k + 3) holds up to
    # 10**(35 - k). Spark casts a double to a decimal through Double.toString: the shortest
    # decimal, as per record, from JDK 19 on; older JVMs print some doubles past 2**53 a
    # digit longer, which can turn the verdict for a step that is not a power of ten. Past
    # that range (a null decimal) a value is a whole number: it passes a step of 1, 0.1,
    # 0.01... and fails any other.
    decimal = d.try_cast(T.DecimalType(38, min(decimals + 3, 38)))
    finite = ~F.isnan(d) & (F.abs(d) != float("inf"))
    large = F.coalesce(
        (decimal.cast("double") == d) & (decimal % F.lit(step) == 0),
        F.lit(whole == 1) & finite,
    )
    if decimals > 22:  # no power of ten to scale by exactly: the decimals decide all
        return large
    scale = 10.0**decimals  # below 10**14 units, doubles decide (as `float_multiples` says)
    scaled = d * scale
    n = F.rint(scaled)
    quotient = n / float(whole)
    small = (n / scale == d) & (quotient == F.rint(quotient))
    return F.when(F.abs(scaled) < 1e14, small).otherwise(large)


# -- the pandera schema (for users of pandera's PySpark API) ----------------------------------


def pandera_schema(spec: TableSpec) -> Any:
    """The contract as a `pandera.pyspark.DataFrameSchema`, with pandera's built-in checks
    (ranges, enums, lengths, patterns, formats as patterns, nullability)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandera.pyspark as pas
    columns = {}
    for c in spec.columns:
        if c.split:
            continue  # its fields are the columns
        checks = []
        for vc in c.checks:
            built = _pandera_check(pas.Check, vc)
            if built is not None:
                checks.append(built)
        columns[c.name] = pas.Column(None, checks=checks, nullable=c.nullable, name=c.name)
    return pas.DataFrameSchema(columns, name=spec.contract)


def _pandera_check(Check: Any, vc: ColumnCheck) -> Any:
    kind, arg = vc.kind, vc.arg
    if kind == "minimum":
        return Check.greater_than_or_equal_to(arg)
    if kind == "maximum":
        return Check.less_than_or_equal_to(arg)
    if kind == "exclusiveMinimum":
        return Check.greater_than(arg)
    if kind == "exclusiveMaximum":
        return Check.less_than(arg)
    if kind == "enum":
        return Check.isin(list(arg))
    if kind == "minLength":
        return Check.str_length(min_value=arg)
    if kind == "maxLength":
        return Check.str_length(max_value=arg)
    if kind in ("pattern", "format"):
        return Check.str_contains(for_engine(vc.pattern, "java"))
    return None


# -- CEL over Columns -------------------------------------------------------------------------


class SparkOps(Ops[Column]):
    def __init__(self, df: Any, integers: frozenset[str] = frozenset()) -> None:
        self.df = df
        self.types = {f.name: f.dataType for f in df.schema.fields}
        self.integers = integers  # columns the contract types integer

    def columns(self) -> Sequence[str]:
        return list(self.types)

    def column(self, name: str) -> tuple[Any, ColumnKind, Column | None]:
        t = self.types[name]
        if _is_float(t) and name in self.integers:
            # An integer field stored as doubles: rules see longs (what no long holds
            # fails the type check, and reads as null here).
            F, c = _F(), col(name).cast("double")
            whole = ~F.isnan(c) & (F.floor(c) == c) & (c >= -(2.0**63)) & (c < 2.0**63)
            whole = F.coalesce(whole, F.lit(False))
            return F.when(whole, c.cast("long")), "int", null_col(name, t) | ~whole
        return col(name), _kind(t), null_col(name, t)

    def mask(self, value: bool) -> Column:
        return _F().lit(value)

    def m_and(self, a: Column, b: Column) -> Column:
        return a & b

    def m_or(self, a: Column, b: Column) -> Column:
        return a | b

    def m_not(self, a: Column) -> Column:
        return ~a

    def truth(self, data: Any) -> Column:
        F = _F()
        return F.coalesce(_lit(data), F.lit(False))

    def where(self, cond: Column, a: Any, b: Any) -> Any:
        return _F().when(cond, _lit(a)).otherwise(_lit(b))

    def compare(self, op: str, a: Any, b: Any) -> Any:
        return _OPS[op](_lit(a), _lit(b))

    def arith(self, op: str, a: Any, b: Any) -> Any:
        F = _F()
        if op == "/":
            safe = F.when(_lit(b) == 0, F.lit(1)).otherwise(_lit(b))
            return _lit(a).cast("double") / safe.cast("double")
        return _OPS[op](_lit(a), _lit(b))

    def int_arith(self, op: str, a: Any, b: Any) -> tuple[Any, Column]:
        F = _F()
        a, b = _lit(a), _lit(b)
        # Null where 64 bits overflow, where plain + - * would fail the job (ANSI mode).
        result = {"+": F.try_add, "-": F.try_subtract, "*": F.try_multiply}[op](a, b)
        return result, result.isNull() & a.isNotNull() & b.isNotNull()

    def int_div(self, a: Any, b: Any) -> Any:
        F = _F()
        a, b = _lit(a), _lit(b)
        # `div` truncates toward zero as CEL does, in longs (a double quotient would round
        # past 2**53). The divisors it refuses are errors the caller marks: 0, and -1 under
        # the smallest long.
        refused = (b == 0) | ((b == -1) & (a == INT_MIN))
        return F.call_function("div", a, F.when(refused, F.lit(1)).otherwise(b))

    def is_zero(self, a: Any) -> Column:
        return _F().coalesce(_lit(a) == 0, _F().lit(False))

    def neg(self, a: Any) -> Any:
        return -_lit(a)

    def isin(self, data: Any, values: list[Any]) -> Any:
        return _lit(data).isin(values)

    def str_len(self, data: Any) -> Any:
        return _F().char_length(_lit(data))

    def list_len(self, data: Any) -> Any:
        return _F().size(_lit(data))

    def str_method(self, method: str, data: Any, arg: str) -> Any:
        s = _lit(data)
        if method == "startsWith":
            return s.startswith(arg)
        if method == "endsWith":
            return s.endswith(arg)
        if method == "contains":
            return s.contains(arg)
        return s.rlike(for_engine(arg, "java", "re2"))  # matches: RE2's syntax

    def str_case(self, data: Any, upper: bool) -> Any:
        return _F().upper(_lit(data)) if upper else _F().lower(_lit(data))

    def concat(self, a: Any, b: Any) -> Any:
        return _F().concat(_lit(a), _lit(b))

    def to_float(self, data: Any) -> Any:
        return _lit(data).cast("double")

    def trunc_int(self, data: Any) -> tuple[Any, Column]:
        F = _F()
        d = _lit(data).cast("double")
        # Out of the 64-bit range: CEL's int() refuses it, and ANSI Spark would fail the job.
        bad = F.isnan(d) | (d >= 2.0**63) | (d < -(2.0**63))
        return F.when(bad, F.lit(0)).otherwise(d).cast("long"), F.coalesce(bad, F.lit(True))

    def timestamp(self, data: Any) -> tuple[Any, Column]:
        return parse_timestamps(_lit(data))

    def ts_column(self, data: Any) -> Any:
        return _lit(data).cast("timestamp")

    def constant(self, value: Any, kind: ColumnKind) -> Any:
        return value


# `TIMESTAMP_FAST` with a fraction of any length: Spark reads at most six digits, so more
# (Go's RFC3339Nano gives nine) are cut to microseconds, as Python, pandas and polars do.
_RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def parse_timestamps(text: Column) -> tuple[Column, Column]:
    F = _F()
    fast = F.coalesce(text.rlike(_RFC3339), F.lit(False))
    norm = F.regexp_replace(text, "(:[0-9]{2}[.][0-9]{6})[0-9]+", "$1")
    norm = F.regexp_replace(norm, "^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]", "$1T")
    norm = F.regexp_replace(
        norm, "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})([Zz+-])", "$1:00$2"
    )
    norm = F.regexp_replace(norm, "[Zz]$", "+00:00")
    parsed = F.try_to_timestamp(norm, F.lit("yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX"))
    parsed = F.when(fast, parsed)
    bad = text.isNotNull() & parsed.isNull()
    return parsed, bad


def _lit(value: Any) -> Column:
    from pyspark.sql import Column as SparkColumn

    if isinstance(value, SparkColumn):
        return value
    return _F().lit(value)


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


def _kind(t: Any) -> ColumnKind:
    T = _T()
    if isinstance(t, T.BooleanType):
        return "bool"
    if _is_int(t):
        return "int"
    if isinstance(t, T.FloatType | T.DoubleType):
        return "float"
    if _is_str(t):
        return "string"
    if _is_temporal(t):
        return "timestamp"
    if isinstance(t, T.ArrayType):
        return "list"
    return "any"


# -- the backend ------------------------------------------------------------------------------

_ID = "__accord_row_id"
_CARRIED = "__accord_whole:"


class SparkBackend:
    name = "pyspark"

    def evaluate(self, df: Any, plan: Plan) -> Evaluation:
        F = _F()
        from pyspark.sql import Window

        spec = plan.spec
        # The structs split into dotted columns also ride along whole, under other names:
        # `split` hands rows on as they came.
        carried = {
            f.name: _CARRIED + f.name
            for f in df.schema.fields
            if isinstance(f.dataType, _T().StructType) and f.name not in spec.whole
        }
        # Declared fields stay whole, as on pandas and polars: a struct where a string
        # belongs fails its type check instead of vanishing into dotted columns.
        wide = flatten(
            df.select("*", *[col(n).alias(a) for n, a in carried.items()]),
            [*spec.whole, *carried.values()],
        )
        frame = wide.drop(*carried.values())
        types = {f.name: f.dataType for f in frame.schema.fields}
        columns = list(types)
        notes = []
        checks: list[tuple[RowCheck, Column]] = []
        absent: set[RowCheck] = set()  # required columns the frame lacks
        for c in spec.columns:
            if c.name not in types:
                if c.required and c.container:
                    if plan.unmappable == "error":
                        raise UnmappableField(c.name, absent_container_note(c).reason)
                    notes.append(absent_container_note(c))
                elif c.required:
                    checks.append((required_check(c), F.lit(True)))
                    absent.add(required_check(c))
                elif c.present_with is not None:
                    checks.append((present_check(c), _present(c, columns)))
                continue
            t = types[c.name]
            typed = type_pass(c.name, t, c)
            checks.append((type_check(c), ~typed if typed is not None else F.lit(False)))
            if not c.nullable:
                checks.append((nullable_check(c), null_col(c.name, t)))
            elif c.present_with is not None:
                checks.append((present_check(c), null_col(c.name, t) & _present(c, columns)))
            for vc in c.checks:
                if vc.kind == "items":
                    notes.append(
                        _note(c.name, "array items are not checked on Spark (row-wise only)")
                    )
                    continue
                source = _value_source(c.name, t, c, vc)
                fails = F.lit(False) if source is None else ~value_pass(source, t, vc, c)
                checks.append((value_check(c, vc), fails))
        for name, parent in spec.undeclared(columns).items():
            checks.append((undeclared_check(name, parent), ~null_col(name, types[name])))
        with_id = wide.withColumn(_ID, F.monotonically_increasing_id())
        for key in unique_keys(spec):
            if not all(k in types for k in key):
                continue
            window = Window.partitionBy(*[_key(k, types[k]) for k in key]).orderBy(col(_ID))
            complete = F.lit(True)
            for k in key:
                complete = complete & col(k).isNotNull()
            checks.append((unique_check(key), (F.row_number().over(window) > 1) & complete))
        hidden = [name for name in spec.split if name in types]
        seen = frame.drop(*hidden) if hidden else frame  # what rules read
        rule_columns = [name for name in columns if name not in hidden]
        ops = SparkOps(seen, plan.spec.integers)
        for rule in plan.rules:
            try:
                checks.append((rule_check(rule, False), ~rule.columns.passes(ops)))
            except Unsupported:
                checks.append(
                    (rule_check(rule, True), self._row_wise(rule, rule_columns, spec.integers))
                )
        repeat_exprs = []
        for i, key in enumerate(plan.repeat_keys):
            cols = (
                [c for k in key for c in field_columns(plan.spec, k, columns)] if key else columns
            ) or None
            keys = [_key(k, types[k]) for k in cols] if cols else [F.lit(1)]
            window = Window.partitionBy(*keys).orderBy(col(_ID))
            repeat_exprs.append((F.row_number().over(window) > 1).alias(f"r{i}"))
        flags = [F.coalesce(e, F.lit(True)).alias(f"c{i}") for i, (_, e) in enumerate(checks)]
        error_any = F.lit(False)
        for i, (rc, _) in enumerate(checks):
            if rc.severity is Severity.ERROR:
                error_any = error_any | col(f"c{i}")
        flagged = with_id.select("*", *flags, *repeat_exprs)
        aggs = [F.count(F.lit(1)).alias("rows"), F.sum(error_any.cast("long")).alias("bad")]
        aggs += [F.sum(col(f"c{i}").cast("long")).alias(f"c{i}") for i in range(len(checks))]
        aggs += [F.sum(col(f"r{i}").cast("long")).alias(f"r{i}") for i in range(len(repeat_exprs))]
        measure_aggs, readers = self._measure_aggs(types, plan)
        totals = flagged.agg(*aggs, *measure_aggs).collect()[0].asDict()
        n = int(totals["rows"] or 0)
        failed = {i: int(totals[f"c{i}"] or 0) for i in range(len(checks))}
        samples = self._samples(flagged, checks, failed, columns, plan)
        outcomes = [
            (rc, RowOutcome(failed[i], None, samples.get(i, []), column_missing=rc in absent))
            for i, (rc, _) in enumerate(checks)
        ]
        measures = Measures(rows=n)
        for i, key in enumerate(plan.repeat_keys):
            measures.repeats[key] = int(totals[f"r{i}"] or 0)
        for read in readers:
            read(totals, measures, n)
        data_columns = [(carried.get(name, name), name) for name in df.columns]
        return Evaluation(
            rows=n,
            outcomes=outcomes,
            measures=measures,
            failing=None,
            failed_rows=int(totals["bad"] or 0),
            notes=notes,
            extra=(flagged, error_any, data_columns),
        )

    def _row_wise(self, rule: Any, columns: Sequence[str], integers: frozenset[str]) -> Column:
        """A rule the compiler cannot express: a Python UDF over the row's record view."""
        F = _F()
        from enforcers.batch.rowwise import evaluate_rows, needed_columns

        needed = needed_columns(rule.reads, columns)
        names = list(needed)
        cols_all = list(columns)

        def check(*values: Any) -> bool:
            row = dict(zip(names, values, strict=True))
            return bool(evaluate_rows(rule, [row], cols_all, integers)[0])

        udf = F.udf(check, "boolean")
        return ~udf(*[col(n) for n in names]) if names else ~udf()

    def _samples(
        self,
        flagged: Any,
        checks: list[tuple[RowCheck, Column]],
        failed: dict[int, int],
        columns: Sequence[str],
        plan: Plan,
    ) -> dict[int, list[dict[str, Any]]]:
        F = _F()
        failing = [i for i, n in failed.items() if n]
        if not failing or plan.samples <= 0:
            return {}
        any_failing = F.lit(False)
        for i in failing:
            any_failing = any_failing | col(f"c{i}")
        wanted = plan.samples * len(failing)
        rows = (
            flagged.where(any_failing)
            .select(*[col(c) for c in columns], *[col(f"c{i}") for i in failing])
            .limit(max(wanted, plan.samples * 20))
            .collect()
        )
        out: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            d = row.asDict(recursive=True)  # structs as dicts: PII inside them is found
            record = pii_redact(plan.spec, {c: d[c] for c in columns})
            for i in failing:
                if d.get(f"c{i}") and len(out.setdefault(i, [])) < plan.samples:
                    out[i].append(record)
        return out

    def _measure_aggs(self, types: dict[str, Any], plan: Plan) -> tuple[list[Column], list[Any]]:
        F = _F()
        aggs: list[Column] = []
        readers: list[Callable[[dict[str, Any], Measures, int], None]] = []
        for j, name in enumerate(plan.null_columns):
            held = field_columns(plan.spec, name, list(types))
            if held:
                nulls = null_col(held[0], types[held[0]])
                for c in held[1:]:
                    nulls = nulls & null_col(c, types[c])
                aggs.append(F.sum(nulls.cast("long")).alias(f"n{j}"))

                def read_null(
                    t: dict[str, Any], m: Measures, n: int, j: int = j, name: str = name
                ) -> None:
                    m.nulls[name] = int(t[f"n{j}"] or 0)
            else:

                def read_null(
                    t: dict[str, Any], m: Measures, n: int, j: int = j, name: str = name
                ) -> None:
                    m.nulls[name] = n

            readers.append(read_null)
        for j, (qname, name, values) in enumerate(plan.allowed):
            if name not in types:

                def read_absent(t: dict[str, Any], m: Measures, n: int, q: str = qname) -> None:
                    m.allowed[q] = (0, 0)

                readers.append(read_absent)
                continue
            v = col(name)
            aggs.append(
                F.sum(F.coalesce(v.isin(list(values)), F.lit(False)).cast("long")).alias(f"a{j}")
            )
            aggs.append(F.sum((~null_col(name, types[name])).cast("long")).alias(f"t{j}"))

            def read_allowed(
                t: dict[str, Any], m: Measures, n: int, j: int = j, q: str = qname
            ) -> None:
                m.allowed[q] = (int(t[f"a{j}"] or 0), int(t[f"t{j}"] or 0))

            readers.append(read_allowed)
        if plan.freshness and plan.freshness in types:
            t = types[plan.freshness]
            ts = (
                col(plan.freshness).cast("timestamp")
                if _is_temporal(t)
                else parse_timestamps(col(plan.freshness).cast("string"))[0]
            )
            aggs.append(F.max(ts).alias("max_time"))

            def read_time(t: dict[str, Any], m: Measures, n: int) -> None:
                latest = t.get("max_time")
                if isinstance(latest, datetime):
                    m.max_time = latest if latest.tzinfo else _session_utc(latest)

            readers.append(read_time)
        return aggs, readers


def _key(name: str, t: Any) -> Column:
    """The column as a window partitions by it. Spark compares no map: a map is keyed by
    its entries sorted by key, as JSON; a map deeper down by its JSON (entries in the
    order stored)."""
    F, T = _F(), _T()
    if isinstance(t, T.MapType) and not _has_map(t.valueType):
        return F.to_json(F.array_sort(F.map_entries(col(name))))
    return F.to_json(col(name)) if _has_map(t) else col(name)


def _has_map(t: Any) -> bool:
    T = _T()
    if isinstance(t, T.MapType):
        return True
    if isinstance(t, T.ArrayType):
        return _has_map(t.elementType)
    return isinstance(t, T.StructType) and any(_has_map(f.dataType) for f in t.fields)


def _session_utc(value: datetime) -> datetime:
    """Spark hands back naive datetimes in the Python process's local time zone."""
    return value.astimezone(UTC)


def _present(c: ColumnSpec, columns: Sequence[str]) -> Column:
    F = _F()
    assert c.present_with is not None
    siblings = [x for x in columns if x.startswith(c.present_with + ".") and x != c.name]
    if not siblings:
        return F.lit(False)
    present = F.lit(False)
    for s in siblings:
        present = present | col(s).isNotNull()
    return present


def _note(field: str, reason: str) -> Any:
    from enforcers.batch.spec import NotChecked

    return NotChecked(field, reason)


def split(evaluation: Evaluation) -> tuple[Any, Any]:
    """(passing rows, failing rows) of a validated Spark frame (error-level checks)."""
    flagged, error_any, columns = evaluation.extra
    keep = [col(source).alias(name) for source, name in columns]
    return flagged.where(~error_any).select(*keep), flagged.where(error_any).select(*keep)
