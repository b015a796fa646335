"""The same contract and the same corrupted data give the same failures on every backend."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import Contract
from enforcers import ValidationReport, validate
from enforcers.batch.files import validate_file
from enforcers.batch.spec import FORMAT_QUICK
from enforcers.cel_python import CelEvaluationError, compile_cel
from enforcers.patterns import for_engine
from enforcers.record_validator import validator_for
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


# CEL's && and || are commutative: a deciding side wins over an error on the other side.
# A null coupon reads as null, so `size()` and `startsWith()` of it raise.
ABSORBING = Contract.from_document(
    {
        "name": "shop.coupons",
        "owner": {"team": "checkout"},
        "schema": {
            "type": "object",
            "properties": {
                "coupon": {"type": ["string", "null"]},
                "amount": {"type": "integer"},
            },
        },
        "rules": [
            # Row 1, 2: the error on the left is absorbed by a true right side.
            {
                "name": "coupon_shape",
                "expression": "this.coupon.size() == 8 || this.coupon == null",
            },
            # Row 1: the false right side absorbs the error, and `!` makes it pass. Row 2:
            # nothing absorbs it, so the error fails the row.
            {
                "name": "big_x_coupons_checked",
                "expression": "!(this.coupon.startsWith('X') && this.amount >= 100)",
            },
        ],
    }
)
ABSORBING_ROWS = [
    {"coupon": "ABCDEFGH", "amount": 50},
    {"coupon": None, "amount": 50},
    {"coupon": None, "amount": 500},
    {"coupon": "XYZ", "amount": 500},
    {"coupon": "XYZ12345", "amount": 500},
]
ABSORBING_FAILURES = {"coupon_shape": [3], "big_x_coupons_checked": [2, 3, 4]}


def absorbing_failures(report: ValidationReport) -> dict[str, int]:
    return {name: report.check(name).failed_rows for name in ABSORBING_FAILURES}


@pytest.mark.parametrize("backend", ["pandas", "polars"])
def test_a_deciding_side_absorbs_an_error_on_the_other(backend: str) -> None:
    frame: Any = (
        pd.DataFrame(ABSORBING_ROWS).astype({"coupon": "string", "amount": "Int64"})
        if backend == "pandas"
        else pl.DataFrame(ABSORBING_ROWS, schema={"coupon": pl.String, "amount": pl.Int64})
    )
    report = validate(frame, ABSORBING)
    assert report.backend == backend
    for name, rows in ABSORBING_FAILURES.items():
        assert report.check(name).failing_indices == rows, name
    assert report.to_dict()["rules_row_wise"] == 0  # vectorized, not the row-wise fallback


@pytest.mark.slow
def test_spark_absorbs_errors_as_cel_does(spark: Any) -> None:
    from pyspark.sql import types as T

    schema = T.StructType(
        [T.StructField("coupon", T.StringType()), T.StructField("amount", T.LongType())]
    )
    df = spark.createDataFrame([(r["coupon"], r["amount"]) for r in ABSORBING_ROWS], schema)
    report = validate(df, ABSORBING)
    assert report.backend == "pyspark"
    assert absorbing_failures(report) == {n: len(r) for n, r in ABSORBING_FAILURES.items()}


# Rules that are constant once compiled, or that fail on every row, count every row; a rule
# that reads no column is still evaluated once per row. Expected: failed rows of three.
EVERY_ROW = {
    "false": 3,
    "this.zz > 0 || false": 3,  # no column zz: an error on every row
    "(this.zz > 0) ? this.b : this.a > 0": 3,
    "1 == 1.0": 0,  # constants only: evaluated row-wise
    "(this.a > 0) ? true : false": 1,
}


def one_rule(expression: str, **types: str) -> Contract:
    """A contract of fields of these JSON types and one rule, named r."""
    return Contract.from_document(
        {
            "name": "shop.checked",
            "owner": {"team": "checkout"},
            "schema": {
                "type": "object",
                "properties": {name: {"type": kind} for name, kind in types.items()},
            },
            "rules": [{"name": "r", "expression": expression}],
        }
    )


FLAG_ROWS = [{"a": 1, "b": True}, {"a": -1, "b": False}, {"a": 2, "b": True}]


@pytest.mark.parametrize("backend", ["pandas", "polars"])
@pytest.mark.parametrize("expression", list(EVERY_ROW))
def test_constant_and_failing_rules_count_every_row(backend: str, expression: str) -> None:
    frame: Any = (
        pd.DataFrame(FLAG_ROWS).astype({"a": "Int64", "b": "boolean"})
        if backend == "pandas"
        else pl.DataFrame(FLAG_ROWS)
    )
    report = validate(frame, one_rule(expression, a="integer", b="boolean"))
    assert report.check("r").failed_rows == EVERY_ROW[expression]


# CEL's integers are 64 bits: a result they cannot hold is an error, which fails the row
# (per record, and on every backend, whose 64-bit columns would otherwise wrap around or,
# on Spark, fail the job). Expected: failed rows of two; the first row overflows.
INT_MAX = 2**63 - 1
OVERFLOW_ROWS = [{"a": INT_MAX, "m": -(2**63)}, {"a": 1, "m": -5}]
OVERFLOW = {
    "this.a + 1 > 0": 1,
    "this.a * 2 != 0": 1,
    "this.m - 1 < 0": 1,
    "this.a - this.m > 0": 1,
    "-this.m > 0": 1,
    "this.m / -1 > 0": 1,
    "this.m % -1 == 0": 1,
    "this.a + 1 > 0 || true": 0,  # absorbed, like any error
    "this.a / 1 == this.a && this.a * 1 == this.a": 0,  # exact near 2**63
}


def failed_per_record(expression: str, rows: list[dict[str, Any]]) -> int:
    """How many of `rows` the rule fails as records: false, or an evaluation error."""
    rule = compile_cel(expression)
    failed = 0
    for row in rows:
        try:
            failed += rule.evaluate(row) is not True
        except CelEvaluationError:
            failed += 1
    return failed


@pytest.mark.parametrize("expression", list(OVERFLOW))
def test_integer_overflow_is_an_error_per_record_and_on_every_backend(expression: str) -> None:
    assert failed_per_record(expression, OVERFLOW_ROWS) == OVERFLOW[expression]
    contract = one_rule(expression, a="integer", m="integer")
    pandas = pd.DataFrame(OVERFLOW_ROWS).astype("Int64")
    polars = pl.DataFrame(OVERFLOW_ROWS, schema={"a": pl.Int64, "m": pl.Int64})
    for frame in (pandas, polars):
        report = validate(frame, contract)
        assert report.check("r").failed_rows == OVERFLOW[expression], report.backend


# pandas keeps a nullable integer column as float64, and so does a Parquet file it wrote:
# rules still see integers, as per record (% is defined, / divides as integers).
QTY_ROWS: list[dict[str, Any]] = [{"qty": 4.0}, {"qty": 5.0}, {"qty": None}]
INTEGERS_AS_FLOATS = {
    "!has(this.qty) || this.qty % 2 == 0": 1,
    "!has(this.qty) || this.qty / 2 == 2": 0,
}


# int() of a double outside the 64-bit range is an error too (2.0**63 is; -(2.0**63) fits).
DOUBLE_ROWS = [{"d": 1e30}, {"d": 2.0**63}, {"d": -(2.0**63)}, {"d": 1.5}]
TO_INT = {
    "int(this.d) != 7": 2,
    "int(this.d) < 0 || int(this.d) >= 0": 2,
    "int(this.d) != 7 || true": 0,
}


@pytest.mark.parametrize("expression", list(TO_INT))
def test_int_of_a_double_out_of_range_is_an_error_everywhere(expression: str) -> None:
    assert failed_per_record(expression, DOUBLE_ROWS) == TO_INT[expression]
    contract = one_rule(expression, d="number")
    for frame in (pd.DataFrame(DOUBLE_ROWS), pl.DataFrame(DOUBLE_ROWS)):
        report = validate(frame, contract)
        assert report.check("r").failed_rows == TO_INT[expression], report.backend


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rows", "ddl", "types", "expected"),
    [
        (FLAG_ROWS, "a long, b boolean", {"a": "integer", "b": "boolean"}, EVERY_ROW),
        (OVERFLOW_ROWS, "a long, m long", {"a": "integer", "m": "integer"}, OVERFLOW),
        (DOUBLE_ROWS, "d double", {"d": "number"}, TO_INT),
        (QTY_ROWS, "qty double", {"qty": "integer"}, INTEGERS_AS_FLOATS),
    ],
    ids=["constant and failing rules", "integer overflow", "int of a double", "integer doubles"],
)
def test_spark_counts_rows_as_the_other_backends(
    spark: Any,
    rows: list[dict[str, Any]],
    ddl: str,
    types: dict[str, str],
    expected: dict[str, int],
) -> None:
    # Every row counted, and an overflowing row failed, not the job.
    df = spark.createDataFrame([tuple(r.values()) for r in rows], ddl)
    for expression, failed in expected.items():
        report = validate(df, one_rule(expression, **types))
        assert report.check("r").failed_rows == failed, expression


def test_pii_inside_lists_and_objects_is_redacted_in_samples() -> None:
    contract = Contract.from_document(
        {
            "name": "people.listed",
            "owner": {"team": "crm"},
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "contacts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"email": {"type": "string"}, "kind": {"type": "string"}},
                        },
                    },
                    "meta": {"type": "object"},
                },
            },
            "semantics": {
                "contacts.email": {"classification": "pii"},
                "meta.ssn": {"classification": "pii"},
            },
            "rules": [{"name": "positive", "expression": "this.id > 0"}],
        }
    )
    row = {
        "id": -1,
        "contacts": [{"email": "alice@secret.example", "kind": "home"}],
        "meta": {"ssn": "123-45-6789", "note": "x"},
    }
    arrow = pa.Table.from_pylist([row]).to_pandas()  # lists as numpy arrays, at every depth
    for frame in (pd.DataFrame([row]), pl.DataFrame([row]), arrow):
        [sample] = validate(frame, contract).check("positive").samples
        assert "secret" not in str(sample) and "123-45" not in str(sample), sample
        assert sample["contacts"] == [{"email": "<redacted>", "kind": "home"}]


def test_pii_inside_a_map_column_is_redacted_in_samples() -> None:
    # Arrow map cells (read_parquet(dtype_backend="pyarrow")) reach pandas as lists of
    # key-value pairs, where no field name marks the PII.
    contract = one_rule("this.id > 0", id="integer", attrs="object")
    doc = contract.to_document()
    doc["semantics"] = {"attrs.ssn": {"classification": "pii"}}
    contract = Contract.from_document(doc)
    maps = pa.map_(pa.string(), pa.string())
    table = pa.table({"id": [-1], "attrs": pa.array([[("ssn", "123-45-6789")]], type=maps)})
    for frame in (table.to_pandas(types_mapper=pd.ArrowDtype), pl.from_arrow(table)):
        [sample] = validate(frame, contract).check("r").samples
        assert "123-45" not in str(sample), sample


def test_an_optional_field_of_array_items_may_be_absent() -> None:
    # A struct column holds every field: the item without a note has a null one, which
    # must read as absent (as a null cell does), not as a null where a string belongs.
    item = {"type": "object", "required": ["sku", "gift"], "additionalProperties": False}
    item["properties"] = {
        "sku": {"type": "string"},
        "note": {"type": "string"},
        "gift": {"type": ["boolean", "null"]},  # required, and null is a value of its own
    }
    contract = Contract.from_document(
        {
            "name": "orders.itemised",
            "owner": {"team": "checkout"},
            "schema": {"type": "object", "properties": {"items": {"type": "array", "items": item}}},
            "rules": [
                {
                    "name": "short",
                    "expression": "this.items.all(i, !has(i.note) || size(i.note) < 9)",
                }
            ],
        }
    )
    rows = [
        {"items": [{"sku": "A", "note": "gift", "gift": True}, {"sku": "B", "gift": None}]},
        {"items": [{"sku": "C", "gift": None}]},
    ]
    for frame in (pl.DataFrame(rows), pd.DataFrame(rows)):
        report = validate(frame, contract)
        assert report.passed, [(c.name, c.failed_rows) for c in report.checks if not c.passed]


@pytest.mark.parametrize(("expression", "failed"), list(INTEGERS_AS_FLOATS.items()))
def test_an_integer_field_stored_as_floats_is_integers_to_rules(
    expression: str, failed: int
) -> None:
    contract = one_rule(expression, qty="integer")
    pandas = pd.DataFrame(QTY_ROWS)
    assert pandas["qty"].dtype == "float64"
    polars = pl.DataFrame(QTY_ROWS, schema={"qty": pl.Float64})
    for frame in (pandas, polars):
        report = validate(frame, contract)
        assert report.check("r").failed_rows == failed, report.backend
        assert report.rules_row_wise == 0


CUSTOMER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"email": {"type": "string"}, "name": {"type": "string"}},
}
SHAPED = Contract.from_document(
    {
        "name": "shop.shaped",
        "owner": {"team": "checkout"},
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "customer": CUSTOMER},
        },
        "rules": [
            {
                "name": "mail",
                "expression": "!has(this.customer) || !has(this.customer.email) "
                "|| this.customer.email.contains('@')",
            }
        ],
    }
)
SHAPED_ROWS = [
    {"id": "1", "customer": {"email": "a@b.co"}},
    {"id": "2", "customer": "C2"},  # not an object
    {"id": "3"},
    {"id": "4", "customer": {"email": "c@d.co", "vip": True}},  # an undeclared field
    {"id": "5", "customer": [1]},  # not an object
    {"id": "6", "customer": {"email": "nobody"}},  # breaks the rule
]


def _shaped_failures(report: ValidationReport) -> dict[str, list[int] | int]:
    return {
        c.name: c.failing_indices if report.backend == "pandas" else c.failed_rows
        for c in report.checks
        if not c.passed
    }


def test_a_value_that_is_not_the_declared_object_fails_its_type(tmp_path: Path) -> None:
    per_record = validator_for(SHAPED)
    assert [i for i, r in enumerate(SHAPED_ROWS) if not per_record.is_valid(r)] == [1, 3, 4, 5]
    report = validate(pd.DataFrame(SHAPED_ROWS), SHAPED)
    assert _shaped_failures(report) == {
        "customer: type": [1, 4],
        "customer.vip: additionalProperties": [3],
        "mail": [5],
    }
    assert report.rules_row_wise == 0  # rules read the fields, not the leftover column
    # The first value not an object: the column is split all the same.
    report = validate(pd.DataFrame(SHAPED_ROWS[1:]), SHAPED)
    assert _shaped_failures(report) == {
        "customer: type": [0, 3],
        "customer.vip: additionalProperties": [2],
        "mail": [4],
    }
    # polars holds one type per column: structs, or something else that fails.
    assert validate(pl.DataFrame(SHAPED_ROWS[:1] + SHAPED_ROWS[2:4]), SHAPED).passed is False
    strings = pl.DataFrame({"id": ["1", "2", "3"], "customer": ["C1", None, "C3"]})
    assert _shaped_failures(validate(strings, SHAPED)) == {"customer: type": 2}
    assert validate(strings.to_pandas(), SHAPED).check("customer: type").failing_indices == [0, 2]
    # Arrow-backed structs (read_parquet(dtype_backend="pyarrow")) are split as dicts are.
    arrow = pa.table({"id": ["1", "2"], "customer": [{"email": "a@b.co"}, {"email": None}]})
    assert validate(arrow.to_pandas(types_mapper=pd.ArrowDtype), SHAPED).passed
    lines = tmp_path / "orders.jsonl"
    rows = [*SHAPED_ROWS, {"id": "7", "customer": {}}]  # an empty object: no field at all
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert {
        c.name: c.failing_indices for c in validate_file(lines, SHAPED).checks if not c.passed
    } == {
        "customer: type": [1, 4],
        "customer.vip: additionalProperties": [3],
        "mail": [5],
    }


@pytest.mark.slow
def test_spark_fails_a_value_that_is_not_the_declared_object(spark: Any) -> None:
    strings = spark.createDataFrame([("1", "C1"), ("2", None)], "id string, customer string")
    assert _shaped_failures(validate(strings, SHAPED)) == {"customer: type": 1}
    structs = spark.createDataFrame(
        [("1", ("a@b.co", None))], "id string, customer struct<email string, name string>"
    )
    assert validate(structs, SHAPED).passed


@pytest.mark.slow
def test_spark_fails_a_struct_where_a_string_belongs(spark: Any) -> None:
    contract = one_rule("true", id="integer", customer="string")
    structs = spark.createDataFrame(
        [(1, ("a@b.co",)), (2, None)], "id long, customer struct<email string>"
    )
    assert _shaped_failures(validate(structs, contract)) == {"customer: type": 1}


def test_frames_as_pandas_and_polars_give_them() -> None:
    # Categoricals, Decimals (read from Parquet), a dict where a string belongs, a
    # free-form object that is not one, and a look-around pattern (which polars' regex
    # engine lacks): each as the per-record validator judges it.
    from decimal import Decimal

    contract = Contract.from_document(
        {
            "name": "shop.typed",
            "owner": {"team": "checkout"},
            "schema": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "pattern": "^(?!test-)[a-z-]+$"},
                    "amount": {"type": "number", "minimum": 0},
                    "customer": {"type": "object", "properties": {"email": {"type": "string"}}},
                    "meta": {"type": "object"},
                },
            },
            "rules": [{"name": "open", "expression": "this.status.matches('^(open|paid)$')"}],
        }
    )
    rows = [
        {"status": "open", "amount": Decimal("1.50"), "customer": {"email": "a@b.co"}, "meta": {}},
        {"status": "test-x", "amount": Decimal("2"), "customer": {"email": "c@d.co"}, "meta": {}},
        {"status": "paid", "amount": Decimal("3"), "customer": {"email": {"n": 1}}, "meta": {}},
        {"status": "paid", "amount": Decimal("4"), "customer": {"email": "e@f.co"}, "meta": "m"},
    ]
    pandas = pd.DataFrame(rows).astype({"status": "category"})
    report = validate(pandas, contract)
    failing = {c.name: c.failing_indices for c in report.checks if not c.passed}
    assert failing == {
        "status: pattern": [1],
        "customer.email: type": [2],
        "meta: type": [3],
        "open": [1],
    }
    polars = pl.DataFrame(
        [r | {"amount": float(r["amount"])} for r in rows[:2]],
        schema_overrides={"status": pl.Categorical},
    )
    report = validate(polars, contract)
    assert {c.name: c.failed_rows for c in report.checks if not c.passed} == {
        "status: pattern": 1,
        "open": 1,
    }
    # An integer category with a missing value; Decimals after more than 64 nulls.
    sparse = pd.DataFrame(
        {"status": pd.Categorical(["open"] * 99 + [None]), "amount": [None] * 99 + [Decimal(1)]}
    )
    assert validate(sparse.astype({"status": "object"}), contract).check("amount: type").passed
    coded = one_rule("this.n % 2 == 0", n="integer")
    codes = pd.DataFrame({"n": pd.Categorical([2, None, 4])})
    assert validate(codes, coded).check("r").failed_rows == 1  # the missing one, as per record
    doubled = pd.concat([pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2]})], axis=1)
    with pytest.raises(ValueError, match="columns of the same name: a"):
        validate(doubled, contract)


def test_polars_matches_ints_and_floats_in_sets_as_pandas() -> None:
    # polars' `is_in` compares within one type: an integer field stored as floats (pandas
    # writes a nullable one so) and a number field held as ints, against literals of the
    # other type, in enum, `in` and allowed_values.
    doc = one_rule("this.price in [0.5, 1.5, 2.0]", status="integer", price="number").to_document()
    doc["schema"]["properties"]["status"]["enum"] = [200, 404]
    doc["schema"]["properties"]["price"]["enum"] = [0.5, 1.5, 2]
    doc["quality"] = [
        {
            "name": "usual",
            "type": "allowed_values",
            "field": "status",
            "values": [200, 201],
            "must_be_greater_or_equal_to": 0.5,
        }
    ]
    contract = Contract.from_document(doc)
    rows = {"status": [200.0, None, 404.0, 500.0], "price": [2, 3, 2, 1]}
    expected = {"status: enum": [3], "price: enum": [1, 3], "r": [1, 3]}
    for frame in (pd.DataFrame(rows), pl.DataFrame(rows)):
        report = validate(frame, contract)
        assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == expected
        assert report.check("usual").measured == pytest.approx(1 / 3), report.backend


def test_polars_types_wide_integers_and_maps() -> None:
    # Python ints past 64 bits make Int128 columns; Parquet maps, Map columns.
    contract = one_rule("this.x > 0", x="integer", attrs="object")
    wide = pl.Series("x", [2**70, 5, -1], dtype=pl.Int128)
    maps = pa.array([[("k", "v")], [], None], type=pa.map_(pa.string(), pa.string()))
    frame = pl.DataFrame([wide, pl.from_arrow(pa.table({"attrs": maps}))["attrs"]])
    assert isinstance(frame.schema["attrs"], pl.Map)
    report = validate(frame, contract)
    assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == {"r": [2]}


# multipleOf as per record: a float is the decimal it prints as (0.07 is a multiple of 0.01,
# 0.30000000000000004 is not), an integer is exact, and a large ratio decides nothing alone.
MULTIPLES: dict[str, tuple[float, list[Any]]] = {
    "cents": (
        0.01,
        [
            *(0.07, 19.99, 1234567.89, -12.34, 1e20, 1e15 + 0.125),  # multiples
            *(10000000.001, 5000000.005, 12.345, 0.30000000000000004, 12000000000000.002),
        ],
    ),
    "units": (1, [600000000.5, 600000000.0, 2.0**70, 4503599627370495.5]),
    "nickels": (0.05, [0.15, 0.35, 1e12 + 0.05, 1e12 + 0.01, 2.0**70]),
    "threes": (3, [2**63 - 1, 2**63 - 2, -9, 10]),
    "halves": (1.5, [2**62, 2**62 + 2, -3, 4]),
    "whole_cents": (0.01, [7, -(2**63)]),
}
MULTIPLES_CONTRACT = Contract.from_document(
    {
        "name": "shop.steps",
        "owner": {"team": "checkout"},
        "schema": {
            "type": "object",
            "properties": {
                name: {"type": "number", "multipleOf": step}
                for name, (step, _) in MULTIPLES.items()
            },
        },
    }
)


def multiples_columns() -> dict[str, tuple[list[Any], bool]]:
    """Per column: its values padded with nulls to one length, and whether they are ints."""
    rows = max(len(values) for _, values in MULTIPLES.values())
    return {
        name: (values + [None] * (rows - len(values)), isinstance(values[0], int))
        for name, (_, values) in MULTIPLES.items()
    }


def multiples_failing() -> dict[str, list[int]]:
    per_record = validator_for(MULTIPLES_CONTRACT)
    return {
        f"{name}: multipleOf": [
            i for i, v in enumerate(values) if not per_record.is_valid({name: v})
        ]
        for name, (_, values) in MULTIPLES.items()
    }


def test_multiple_of_is_judged_as_per_record() -> None:
    columns = multiples_columns()
    pandas = pd.DataFrame(
        {n: pd.Series(v, dtype="Int64" if ints else "float64") for n, (v, ints) in columns.items()}
    )
    polars = pl.DataFrame(
        {
            n: pl.Series(v, dtype=pl.Int64 if ints else pl.Float64)
            for n, (v, ints) in columns.items()
        }
    )
    for frame in (pandas, polars):
        report = validate(frame, MULTIPLES_CONTRACT)
        got = {c.name: c.failing_indices for c in report.checks if c.check == "multipleOf"}
        assert got == multiples_failing(), report.backend


@pytest.mark.slow
def test_spark_judges_multiple_of_as_per_record(spark: Any) -> None:
    columns = multiples_columns()
    ddl = ", ".join(f"{n} {'long' if ints else 'double'}" for n, (_, ints) in columns.items())
    rows = list(zip(*(values for values, _ in columns.values()), strict=True))
    report = validate(spark.createDataFrame(rows, ddl), MULTIPLES_CONTRACT)
    got = {c.name: c.failed_rows for c in report.checks if c.check == "multipleOf"}
    assert got == {name: len(failing) for name, failing in multiples_failing().items()}


def string_with(**keywords: str) -> Contract:
    """A contract of one string field, v, with these schema keywords (and a rule: true)."""
    doc = one_rule("true", v="string").to_document()
    doc["schema"]["properties"]["v"].update(keywords)
    return Contract.from_document(doc)


@pytest.mark.filterwarnings("ignore:Possible nested set")  # re on "[[:alpha:]]"
@pytest.mark.parametrize(
    "pattern", [r"^[a-z]+(-[0-9]+)?$", r"\bx", r"^\d+$", r"(?=a)ab", r"^[[:alpha:]]+$"]
)
def test_patterns_on_object_columns_are_judged_as_per_record(pattern: str) -> None:
    # Object columns are searched by RE2 (Arrow) where it reads the pattern as the per
    # record validator does, else by Python's re: either way the verdicts are the same.
    values = ["ab", "ab-1", "ab\n", "éx", " x", "_x", "١٢", "12", "Ab", "a]", ":]"]
    contract = string_with(pattern=pattern)
    per_record = validator_for(contract)
    expected = [i for i, v in enumerate(values) if not per_record.is_valid({"v": v})]
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object)})
    assert validate(frame, contract).check("v: pattern").failing_indices == expected


@pytest.mark.parametrize(
    ("fmt", "values"),
    [
        ("email", ["a@b.co", "josé@example.com", "a..b@ex.com", "a@b", '"x y"@ex.com']),
        ("date-time", ["2024-01-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00Z"]),
        ("date", ["2024-02-29", "2023-02-29"]),
        ("hostname", ["ok.example", "a" * 64 + ".example"]),
    ],
)
def test_formats_are_judged_as_per_record(fmt: str, values: list[str]) -> None:
    contract = string_with(format=fmt)
    per_record = validator_for(contract)
    expected = [i for i, v in enumerate(values) if not per_record.is_valid({"v": v})]
    assert expected  # the cases include values each way
    for frame in (pd.DataFrame({"v": values}), pl.DataFrame({"v": values})):
        check = validate(frame, contract).check(f"v: format:{fmt}")
        assert check.failing_indices == expected, type(frame)


@pytest.mark.parametrize("fmt", sorted(FORMAT_QUICK))
def test_what_a_quick_format_pattern_matches_is_valid(fmt: str) -> None:
    # The patterns let values pass without the exact check: they must match valid ones only.
    pattern, longest = FORMAT_QUICK[fmt]
    validator = jsonschema_rs.validator_for({"format": fmt}, validate_formats=True)
    python = for_engine(pattern, "python")

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(python, fullmatch=True))
    def matched_is_valid(value: str) -> None:
        if longest is None or len(value) <= longest:
            assert validator.is_valid(value), value

    matched_is_valid()


# A macro over a list column runs row-wise; there too an integer field stored as floats
# (pandas' nullable ints) holds integers: % is defined on them.
ROW_WISE_QTY = one_rule('this.tags.exists(t, t == "vip") || this.qty % 2 == 0', qty="integer")


def test_rules_evaluated_row_wise_see_integers_stored_as_floats() -> None:
    rows: dict[str, list[Any]] = {"qty": [2.0, 3.0, None], "tags": [["a"], ["a"], ["a"]]}
    records: list[dict[str, Any]] = [
        {"qty": 2, "tags": ["a"]},
        {"qty": 3, "tags": ["a"]},
        {"tags": ["a"]},
    ]
    assert failed_per_record(ROW_WISE_QTY.rules[0].expression, records) == 2
    for frame in (pd.DataFrame(rows), pl.DataFrame(rows)):
        report = validate(frame, ROW_WISE_QTY)
        assert report.rules_row_wise == 1
        assert report.check("r").failing_indices == [1, 2], report.backend


@pytest.mark.slow
def test_spark_row_wise_rules_see_structs_and_integers(spark: Any) -> None:
    # The UDF's arguments: a struct is a Row (a tuple), an integer field stored as doubles.
    contract = one_rule(
        'has(this.meta.k) && (this.tags.exists(t, t == "vip") || this.qty % 2 == 0)',
        qty="integer",
        meta="object",
    )
    df = spark.createDataFrame(
        [(2.0, ("v",), ["a"]), (3.0, ("v",), ["a"]), (4.0, (None,), ["a"])],
        "qty double, meta struct<k string>, tags array<string>",
    )
    report = validate(df, contract)
    assert report.rules_row_wise == 1
    assert report.check("r").failed_rows == 2


@pytest.mark.slow
def test_spark_reads_timestamps_of_any_fraction_length(spark: Any) -> None:
    # Go's RFC3339Nano: nine digits, cut to microseconds as pandas and polars do.
    doc = one_rule(
        "timestamp(this.ts) < timestamp('2024-05-01T11:00:00.5Z')", ts="string"
    ).to_document()
    doc["sla"] = {"freshness": {"field": "ts", "max_delay": "PT1H"}}
    contract = Contract.from_document(doc)
    values = ["2024-05-01T11:00:00.123456789Z", "2024-05-01T11:00:00.9999999+00:00"]
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    for frame in (
        spark.createDataFrame([(v,) for v in values], "ts string"),
        pl.DataFrame({"ts": values}),
    ):
        report = validate(frame, contract, now=now)
        assert report.check("r").failed_rows == 1, report.backend
        freshness = report.check("freshness")
        assert freshness.measured == pytest.approx(3599.000001), report.backend


@pytest.mark.slow
def test_spark_split_gives_rows_as_they_came(spark: Any) -> None:
    from enforcers.batch import split

    contract = Contract.from_document(
        {
            "name": "shop.split",
            "owner": {"team": "checkout"},
            "schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "cust": {"type": "object", "properties": {"email": {"type": "string"}}},
                },
            },
        }
    )
    df = spark.createDataFrame(
        [(1, ("a@b.co",)), (0, ("c@d.co",))], "id long, cust struct<email string>"
    )
    good, bad = split(df, validate(df, contract))
    assert good.schema == bad.schema == df.schema
    assert [r.asDict(recursive=True) for r in good.collect()] == [
        {"id": 1, "cust": {"email": "a@b.co"}}
    ]
    assert bad.count() == 1


# A field of no one type: JSON Schema's checks of strings judge strings only, and those of
# numbers numbers; enum compares objects as JSON does.
UNTYPED = Contract.from_document(
    {
        "name": "shop.untyped",
        "owner": {"team": "checkout"},
        "schema": {
            "type": "object",
            "properties": {
                "u": {"type": ["string", "number"], "minimum": 5, "maxLength": 3},
                "v": {"maxLength": 3},
                "o": {"enum": [{"a": 1, "b": 2}, {"c": 3}]},
                "s": {"type": "string", "minimum": 5, "maxItems": 1},  # never apply
            },
        },
    }
)
UNTYPED_ROWS: list[dict[str, Any]] = [
    {"u": "abcd", "v": 12345, "o": {"b": 2, "a": 1}, "s": "ab"},
    {"u": 1, "v": "abcd", "o": {"a": 2}, "s": "abc"},
    {"u": 10, "v": "abc"},
]


def test_checks_of_one_type_judge_values_of_that_type() -> None:
    per_record = validator_for(UNTYPED)
    failing = {
        f"{e.path.lstrip('/')}: {e.rule}": i
        for i, r in enumerate(UNTYPED_ROWS)
        for e in per_record.validate(r)
    }
    assert failing == {"u: maxLength": 0, "u: minimum": 1, "v: maxLength": 1, "o: enum": 1}
    report = validate(pd.DataFrame(UNTYPED_ROWS), UNTYPED)
    assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == {
        name: [i] for name, i in failing.items()
    }
    # Arrow-backed structs (read_parquet(dtype_backend="pyarrow")) hold every field.
    objects = pa.table({"o": [{"a": 1, "b": 2}, {"a": 2, "b": None}, {"a": None, "b": None}]})
    report = validate(objects.to_pandas(types_mapper=pd.ArrowDtype), UNTYPED)
    assert report.check("o: enum").failing_indices == [1, 2]
    # A polars column holds one type: a check of another judges none of its values.
    frame = pl.DataFrame(
        {
            "u": ["abcd", "ab"],
            "v": [12345, 7],
            "o": [{"a": 1, "b": 2}, {"a": 2, "b": None}],
            "s": ["ab", "abc"],
        }
    )
    report = validate(frame, UNTYPED)
    assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == {
        "u: maxLength": [0],
        "o: enum": [1],
    }


@pytest.mark.slow
def test_spark_applies_checks_of_one_type_to_columns_of_that_type(spark: Any) -> None:
    df = spark.createDataFrame(
        [("abcd", 12345, "ab"), ("ab", 7, "abc")], "u string, v long, s string"
    )
    report = validate(df, UNTYPED)
    assert {c.name: c.failed_rows for c in report.checks if c.failed_rows} == {"u: maxLength": 1}


def test_a_check_that_raises_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from enforcers.batch.backends import pandas as backend

    def broken(*args: Any) -> Any:
        raise TypeError("cannot compare")

    monkeypatch.setattr(backend, "value_mask", broken)
    with pytest.raises(ValueError, match=r"'v: maxLength' on column 'v'.*cannot compare"):
        validate(pd.DataFrame({"v": ["abcd"]}), UNTYPED)


CODE = Contract.from_document(
    {
        "name": "t.codes",
        "owner": {"team": "t"},
        "schema": {
            "type": "object",
            "$defs": {"code": {"type": "string", "maxLength": 10, "pattern": "^[A-Z]"}},
            "properties": {"code": {"$ref": "#/$defs/code", "maxLength": 5, "pattern": "[0-9]$"}},
        },
    }
)
CODE_ROWS = [{"code": "ABCDEF1"}, {"code": "abcdefghijkl"}, {"code": "A1"}]


def test_a_check_declared_twice_is_one_check_or_two_names(tmp_path: Path) -> None:
    # The stricter maxLength (5) is the one check; both patterns apply, each by a name.
    want = {"code: maxLength": [0, 1], "code: pattern": [1], "code: pattern#2": [1]}
    for frame in (pd.DataFrame(CODE_ROWS), pl.DataFrame(CODE_ROWS)):
        report = validate(frame, CODE)
        assert [c.name for c in report.checks] == ["code: type", *want]
        assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == want
    path = tmp_path / "codes.parquet"
    pl.DataFrame(CODE_ROWS).write_parquet(path)
    report = validate_file(path, CODE, chunk_rows=2)  # counts added up across chunks
    assert {c.name: (c.failed_rows, c.failing_indices) for c in report.checks} == {
        "code: type": (0, []),
        "code: maxLength": (2, [0, 1]),
        "code: pattern": (1, [1]),
        "code: pattern#2": (1, [1]),
    }


def test_streamed_json_lines_check_list_items_as_they_came(tmp_path: Path) -> None:
    contract = Contract.from_document(
        {
            "name": "t.tags",
            "owner": {"team": "t"},
            "schema": {
                "type": "object",
                "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
            },
        }
    )
    rows = [{"tags": ["x"]}, {"tags": [1]}, {"tags": ["a", True]}, {}]
    per_record = validator_for(contract)
    assert [i for i, r in enumerate(rows) if not per_record.is_valid(r)] == [1, 2]
    lines = tmp_path / "tags.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = validate_file(lines, contract)
    assert {c.name: c.failing_indices for c in report.checks if c.failed_rows} == {
        "tags: items": [1, 2]
    }
