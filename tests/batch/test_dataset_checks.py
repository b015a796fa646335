"""Quality and SLA checks, flattening of nested data, and what cannot map."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

from contracts import Contract
from enforcers import validate
from enforcers.batch import UnmappableField, table_spec
from enforcers.batch.files import validate_file

warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")
NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def contract(**parts: Any) -> Contract:
    doc = {
        "name": "t.data",
        "owner": {"team": "t"},
        "schema": {
            "type": "object",
            "properties": {
                "k": {"type": "integer"},
                "g": {"type": "string"},
                "v": {"type": ["string", "null"]},
                "ts": {"type": "string", "format": "date-time"},
            },
        },
    }
    doc.update(parts)
    return Contract.from_document(doc)


FRAME = {
    "k": [1, 1, 2, 3, 3, 3],
    "g": ["a", "a", "a", "b", "b", "b"],
    "v": ["x", None, None, "y", None, "z"],
    "ts": [
        "2024-01-01T11:00:00Z",
        "2024-01-01T11:50:00+00:00",
        None,
        "bad",
        "2024-01-01T10:00:00Z",
        "2024-01-01T12:30:00+02:00",
    ],
}


@pytest.fixture(params=["pandas", "polars"])
def frame(request: pytest.FixtureRequest) -> Any:
    return pd.DataFrame(FRAME) if request.param == "pandas" else pl.DataFrame(FRAME)


def measured(frame: Any, quality: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    report = validate(frame, contract(quality=quality, **kw), now=NOW)
    return {c.name: (c.measured, c.passed) for c in report.checks if c.category != "schema"}


def test_quality_checks(frame: Any) -> None:
    got = measured(
        frame,
        [
            {"name": "nulls", "type": "null_rate", "field": "v", "must_be_less_than": 0.5},
            {"name": "dup_k", "type": "duplicate_rate", "field": "k", "must_be": 0},
            {
                "name": "dup_kg",
                "type": "duplicate_rate",
                "fields": ["k", "g"],
                "must_be_less_or_equal_to": 0.5,
            },
            {"name": "dup_v", "type": "duplicate_rate", "field": "v", "must_be_less_than": 1},
            {"name": "rows", "type": "row_count", "must_be_between": [1, 5]},
            {
                "name": "share",
                "type": "allowed_values",
                "field": "g",
                "values": ["a"],
                "must_be_greater_than": 0.4,
            },
            {"name": "missing", "type": "null_rate", "field": "nope", "must_be": 1},
        ],
    )
    assert got["nulls"] == (0.5, False)
    assert got["dup_k"] == (pytest.approx(3 / 6), False)
    assert got["dup_kg"] == (pytest.approx(3 / 6), True)
    assert got["dup_v"] == (pytest.approx(2 / 6), True)  # nulls compare equal: 2 repeats
    assert got["rows"] == (6.0, False)
    assert got["share"] == (0.5, True)
    assert got["missing"] == (1.0, True)


def test_warning_quality_does_not_fail(frame: Any) -> None:
    report = validate(
        frame,
        contract(
            quality=[{"name": "rows", "type": "row_count", "must_be": 1, "severity": "warning"}]
        ),
    )
    assert [w.name for w in report.warnings] == ["rows"]
    assert [f.name for f in report.failures] == ["ts: format:date-time"]  # "bad"


def test_custom_quality_is_not_enforced(frame: Any) -> None:
    report = validate(
        frame,
        contract(
            quality=[{"name": "c", "type": "custom", "engine": "sql", "implementation": "select 1"}]
        ),
    )
    check = report.check("c")
    assert not check.enforced and check not in report.failures
    assert "not enforced" in report.summary()


def test_freshness_and_volume(frame: Any) -> None:
    sla = {
        "freshness": {"field": "ts", "max_delay": "PT15M"},
        "volume": {"window": "PT1H", "min": 1, "max": 5},
    }
    report = validate(frame, contract(sla=sla), now=NOW)
    fresh = report.check("freshness")
    # Newest: 11:50Z (12:30+02:00 is 10:30Z); "bad" is ignored.
    assert fresh.measured == pytest.approx(600.0) and fresh.passed
    late = validate(frame, contract(sla=sla), now=NOW + timedelta(minutes=10))
    assert not late.check("freshness").passed
    volume = report.check("volume")
    assert volume.measured == 6 and not volume.passed


def test_freshness_of_datetime_column() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-01-01T11:55:00"])})  # naive: UTC
    report = validate(
        df, contract(sla={"freshness": {"field": "ts", "max_delay": "PT10M"}}), now=NOW
    )
    assert report.check("freshness").passed
    assert report.check("ts: type").passed  # a datetime column satisfies date-time


def test_freshness_of_datetimes_kept_as_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    # pandas keeps datetimes of mixed UTC offsets as objects.
    plus_two = timezone(timedelta(hours=2))
    times = [
        datetime(2024, 1, 1, 11, 30, tzinfo=UTC),
        datetime(2024, 1, 1, 13, 50, tzinfo=plus_two),
    ]
    df = pd.DataFrame({"ts": pd.Series([*times, None], dtype=object)})
    fresh = contract(sla={"freshness": {"field": "ts", "max_delay": "PT15M"}})
    assert validate(df, fresh, now=NOW).check("freshness").measured == pytest.approx(600.0)

    # Whatever goes wrong reading the times, the error names the check and the column.
    from enforcers.batch.backends.pandas import ColumnMemo

    def broken(*args: Any) -> Any:
        raise TypeError("unreadable")

    monkeypatch.setattr(ColumnMemo, "timestamps", broken)
    with pytest.raises(ValueError, match=r"freshness.*'ts'.*unreadable"):
        validate(df, fresh, now=NOW)


UNHASHABLE: dict[str, list[Any]] = {
    "tags": [["x"], ["y"], ["x"], None],
    "meta": [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {}, None],
}


def test_lists_and_objects_count_in_duplicates_and_uniqueness() -> None:
    doc = {
        "name": "t.cells",
        "owner": {"team": "t"},
        "schema": {
            "type": "object",
            "properties": {"tags": {"type": "array"}, "meta": {"type": "object"}},
        },
        "semantics": {"tags": {"unique": True}, "meta": {"unique": True}},
        "quality": [{"name": "dups", "type": "duplicate_rate", "must_be": 0}],
    }
    rows = [*zip(UNHASHABLE["tags"], UNHASHABLE["meta"], strict=True), (["x"], {"a": 1, "b": 2})]
    frame = pd.DataFrame(rows, columns=["tags", "meta"])
    for df in (frame, pl.DataFrame(frame.to_dict("list"))):
        report = validate(df, Contract.from_document(doc))
        assert report.check("tags: unique").failing_indices == [2, 4], type(df)
        # Objects equal in any key order; polars' structs hold every field (null: absent).
        assert report.check("meta: unique").failing_indices == [1, 4], type(df)
        assert report.check("dups").measured == pytest.approx(1 / 5), type(df)


@pytest.mark.slow
def test_spark_keys_maps_as_their_entries(spark: Any) -> None:
    doc = {
        "name": "t.maps",
        "owner": {"team": "t"},
        "schema": {"type": "object", "properties": {"attrs": {"type": "object"}}},
        "semantics": {"attrs": {"unique": True}},
        "quality": [{"name": "dups", "type": "duplicate_rate", "must_be": 0}],
    }
    # The same entries stored in another order: an equal object.
    df = spark.sql(
        "SELECT map('k', 'v', 'j', 'w') AS attrs UNION ALL SELECT map('j', 'w', 'k', 'v') "
        "UNION ALL SELECT map('k', 'x') UNION ALL SELECT CAST(NULL AS map<string, string>)"
    )
    report = validate(df, Contract.from_document(doc))
    assert report.check("attrs: unique").failed_rows == 1
    assert report.check("dups").measured == pytest.approx(1 / 4)


NAN_CONTRACT = {
    "schema": {"type": "object", "properties": {"x": {"type": "number", "maximum": 10}}},
    "quality": [
        {"name": "nulls", "type": "null_rate", "field": "x", "must_be_less_than": 1},
        {
            "name": "share",
            "type": "allowed_values",
            "field": "x",
            "values": [1.0, 2.0],
            "must_be": 1,
        },
    ],
}


def nan_outcome(report: Any) -> tuple[int, float | None, float | None]:
    return (
        report.check("x: maximum").failed_rows,
        report.check("nulls").measured,
        report.check("share").measured,
    )


def test_nan_is_missing_to_every_check() -> None:
    # As a null: it passes value checks, is counted by null_rate, and by no share.
    values = [1.0, float("nan"), 20.0, None]
    for df in (pd.DataFrame({"x": values}), pl.DataFrame({"x": values})):
        report = validate(
            df, Contract.from_document({"name": "t.nan", "owner": {"team": "t"}, **NAN_CONTRACT})
        )
        assert nan_outcome(report) == (1, 0.5, 0.5), type(df)


@pytest.mark.slow
def test_spark_takes_nan_as_missing(spark: Any) -> None:
    df = spark.createDataFrame([(1.0,), (float("nan"),), (20.0,), (None,)], "x double")
    report = validate(
        df, Contract.from_document({"name": "t.nan", "owner": {"team": "t"}, **NAN_CONTRACT})
    )
    assert nan_outcome(report) == (1, 0.5, 0.5)


def test_empty_frame(frame: Any) -> None:
    empty = frame.head(0)
    report = validate(
        empty,
        contract(
            quality=[{"name": "rows", "type": "row_count", "must_be_greater_than": 0}],
            sla={"freshness": {"field": "ts", "max_delay": "PT1H"}},
        ),
        now=NOW,
    )
    assert report.rows == 0
    assert not report.check("rows").passed and not report.check("freshness").passed


NESTED = {
    "type": "object",
    "required": ["id", "customer", "items"],
    "properties": {
        "id": {"type": "integer"},
        "customer": {
            "type": "object",
            "required": ["email"],
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "format": "email"},
                "tier": {"enum": ["gold", "silver"]},
            },
        },
        "shipping": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku"],
                "properties": {"sku": {"type": "string"}},
            },
        },
    },
}


def nested_contract() -> Contract:
    return contract(schema=NESTED, semantics={"customer.email": {"classification": "pii"}})


def test_nested_objects_flatten_to_dotted_columns() -> None:
    spec = table_spec(nested_contract())
    assert spec.whole == [
        "id",
        "customer.email",
        "customer.tier",
        "shipping.city",
        "shipping.zip",
        "items",
    ]
    assert spec.split == ["customer", "shipping"]  # a column of that name fails its type
    city = spec.column("shipping.city")
    assert city is not None and city.nullable and city.present_with == "shipping"


@pytest.mark.parametrize("kind", ["flat", "pandas-dicts", "polars-structs"])
def test_nested_data(kind: str) -> None:
    rows = [
        {"id": 1, "customer": {"email": "a@b.co", "tier": "gold"}, "shipping": {"city": "X"}},
        {"id": 2, "customer": {"email": "nope", "tier": "iron"}, "shipping": {"zip": "1"}},
        {"id": 3, "customer": {"email": "c@d.co", "tier": None}, "shipping": None},
    ]
    if kind == "flat":
        df: Any = pd.json_normalize(rows)
        df = df[[c for c in df.columns if c != "shipping"]]
    elif kind == "pandas-dicts":
        df = pd.DataFrame(rows)
    else:
        df = pl.DataFrame(rows)
    report = validate(df, nested_contract())
    counts = report.failure_counts()
    assert counts["customer.email: format:email"] == 1
    assert counts["customer.tier: enum"] == 1
    assert counts["shipping.city: required"] == 1  # zip present, city missing
    assert [n.field for n in report.not_checked] == ["items"]
    assert report.check("customer.email: format:email").samples[0]["customer.email"] == (
        "<redacted>"
    )


def test_arrays_of_objects_can_be_an_error() -> None:
    df = pd.DataFrame({"id": [1], "customer.email": ["a@b.co"]})
    with pytest.raises(UnmappableField, match=r"'items'.*array"):
        validate(df, nested_contract(), unmappable="error")


def test_list_columns_are_checked_row_wise() -> None:
    df = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "customer.email": ["a@b.co"] * 3,
            "items": [[{"sku": "a"}], [], [{"nosku": 1}]],
        }
    )
    report = validate(df, nested_contract())
    assert report.failure_counts() == {"items: minItems": 1, "items: items": 1}
    assert report.check("items: items").row_wise


def test_undeclared_and_missing_columns() -> None:
    df = pd.DataFrame({"customer.email": ["a@b.co", "x@y.zz"], "customer.extra": [None, 1]})
    counts = validate(df, nested_contract()).failure_counts()
    assert counts == {"id: required": 2, "customer.extra: additionalProperties": 1}


def test_row_wise_rule_fallback_is_counted() -> None:
    c = contract(
        rules=[
            {"name": "all_pos", "expression": "this.l.all(x, x > 0)"},
            {"name": "k_pos", "expression": "this.k > 0"},
        ]
    )
    for df in (
        pd.DataFrame({"k": [1, -1], "l": [[1, 2], [0]]}),
        pl.DataFrame({"k": [1, -1], "l": [[1, 2], [0]]}),
    ):
        report = validate(df, c)
        assert report.rules_row_wise == 1
        assert report.check("all_pos").row_wise and report.check("all_pos").failed_rows == 1
        assert report.check("k_pos").failed_rows == 1
        assert report.to_dict()["rules_row_wise"] == 1


def test_types() -> None:
    schema = {
        "type": "object",
        "properties": {
            "i": {"type": "integer"},
            "n": {"type": "number"},
            "s": {"type": "string"},
            "b": {"type": "boolean"},
        },
    }
    df = pd.DataFrame(
        {"i": [1.0, 2.5, None], "n": ["1", 2, 3.5], "s": ["a", 1, None], "b": [True, False, None]}
    )
    counts = validate(df, contract(schema=schema)).failure_counts()
    assert counts == {"i: type": 1, "n: type": 1, "s: type": 1}
    pl_counts = validate(
        pl.DataFrame({"i": [1.0, 2.5, None], "s": [1, 2, None]}), contract(schema=schema)
    ).failure_counts()
    assert pl_counts == {"i: type": 1, "s: type": 2}


def test_a_missing_required_column_fails_whatever_the_row_count(tmp_path: Path) -> None:
    required = contract(
        schema={
            "type": "object",
            "required": ["k", "g"],
            "properties": {"k": {"type": "integer"}, "g": {"type": "string"}},
        }
    )
    frames = [
        pd.DataFrame({"k": pd.Series([], dtype="int64")}),
        pl.DataFrame(schema={"k": pl.Int64}),
        pd.DataFrame(),
        pl.DataFrame(),
    ]
    for frame in frames:
        report = validate(frame, required)
        assert not report.passed
        assert report.check("g: required").failed_rows == 0  # no row, yet a breach
        assert not report.check("g: required").passed
    assert [c.name for c in validate(pd.DataFrame(), required).failures] == [
        "k: required",
        "g: required",
    ]
    header = tmp_path / "empty.csv"
    header.write_text("k\n")
    parquet = tmp_path / "empty.parquet"
    pl.DataFrame(schema={"k": pl.Int64}).write_parquet(parquet)
    for path in (header, parquet):
        assert [c.name for c in validate_file(path, required).failures] == ["g: required"]


@pytest.mark.parametrize("frame_kind", ["pandas", "polars"])
def test_quality_of_an_object_field_reads_its_fields(frame_kind: str) -> None:
    objects = contract(
        schema={
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "cust": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "zip": {"type": "string"}},
                },
            },
        },
        quality=[
            {"name": "nulls", "type": "null_rate", "field": "cust", "must_be_less_than": 0.5},
            {
                "name": "dups",
                "type": "duplicate_rate",
                "fields": ["cust"],
                "must_be_less_than": 0.5,
            },
        ],
    )
    rows = [
        {"id": 1, "cust": {"name": "a", "zip": "1"}},
        {"id": 2, "cust": {"name": "a", "zip": None}},  # null only when all its fields are
        {"id": 3, "cust": {"name": "a", "zip": "1"}},  # a repeat of the first
        {"id": 4, "cust": None},
    ]
    frame = pd.DataFrame(rows) if frame_kind == "pandas" else pl.DataFrame(rows)
    report = validate(frame, objects)
    assert report.check("nulls").measured == 0.25
    assert report.check("dups").measured == 0.25
