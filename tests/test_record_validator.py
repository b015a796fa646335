"""The compiled record validator: structured failures, PII masking, and agreement with the
reference implementation (jsonschema) on generated and hand-picked records."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from contracts import Contract, load_file
from enforcers.record_validator import RecordValidator, validator_for
from tests.conftest import EXAMPLE_FILES, EXAMPLES

ORDER = {
    "order_id": "6f1c2f8e-4a1b-4e8e-9c1a-2b3c4d5e6f70",
    "created_at": "2024-01-01T10:00:00Z",
    "shipped_at": "2024-01-02T08:00:00Z",
    "channel": "web",
    "customer": {"customer_id": "C12345678", "email": "ada@example.com", "country": "DE"},
    "line_items": [
        {"sku": "A1", "quantity": 2, "unit_price": {"amount_minor": 500, "currency": "EUR"}}
    ],
    "total": {"amount_minor": 1000, "currency": "EUR"},
}


@pytest.fixture(scope="module")
def orders() -> RecordValidator:
    return validator_for(load_file(str(EXAMPLES / "orders.created.yaml")), 3)


def test_valid_record(orders: RecordValidator) -> None:
    assert orders.validate(ORDER) == []
    assert orders.is_valid(ORDER)
    assert orders.rules_native == 3


def test_schema_failures_are_structured(orders: RecordValidator) -> None:
    record = copy.deepcopy(ORDER)
    record["channel"] = "fax"
    del record["total"]
    record["line_items"][0]["quantity"] = 0
    failures = {(f.kind, f.rule, f.path) for f in orders.validate(record)}
    assert failures == {
        ("schema", "enum", "/channel"),
        ("schema", "required", ""),
        ("schema", "minimum", "/line_items/0/quantity"),
    }
    assert all(f.contract == "orders.created" and f.version == 3 for f in orders.validate(record))


def test_rule_failures_name_the_rule_and_severity(orders: RecordValidator) -> None:
    record = copy.deepcopy(ORDER)
    record["shipped_at"] = "2023-12-31T00:00:00Z"
    record["total"]["amount_minor"] = 0
    failures = {f.rule: f for f in orders.validate(record)}
    assert set(failures) == {"shipped_after_created", "total_is_positive"}
    assert failures["shipped_after_created"].severity.value == "error"
    assert failures["total_is_positive"].severity.value == "warning"
    warning_only = copy.deepcopy(ORDER)
    warning_only["total"]["amount_minor"] = 0
    assert orders.is_valid(warning_only)  # a warning reports, it does not reject


def test_a_rule_whose_error_the_other_side_decides_holds(orders: RecordValidator) -> None:
    # CEL's || is commutative: a missing coupon raises on the left, and the right decides.
    doc = orders.contract.to_document()
    doc["rules"] = [
        {
            "name": "coupon_upper",
            "expression": "this.coupon_code.upperAscii() == this.coupon_code"
            " || !has(this.coupon_code)",
        },
    ]
    validator = RecordValidator(Contract.from_document(doc), 1)
    assert validator.validate_json(orjson.dumps(ORDER)) == (ORDER, [])
    lower = {**ORDER, "coupon_code": "spring"}
    [failure] = validator.validate(lower)
    assert (failure.kind, failure.rule) == ("rule", "coupon_upper")


def test_pii_values_never_appear_in_messages(orders: RecordValidator) -> None:
    record = copy.deepcopy(ORDER)
    record["customer"]["email"] = "ada.lovelace at example"
    [failure] = orders.validate(record)
    assert failure.path == "/customer/email" and failure.rule == "format"
    assert "ada.lovelace" not in failure.message and "<redacted>" in failure.message


@pytest.mark.parametrize(
    "record",
    [
        {**ORDER, "customer": "ada.lovelace@example.com"},  # the PII field's parent
        ["ada.lovelace@example.com"],  # the record itself
        {**ORDER, "customer": [{"email": "ada.lovelace@example.com"}]},
    ],
)
def test_pii_values_in_a_parent_never_appear_in_messages(
    orders: RecordValidator, record: Any
) -> None:
    # An error at a parent of a PII field quotes the parent's value, PII included.
    failures = orders.validate(record)
    assert failures
    assert all("ada.lovelace" not in f.message for f in failures), failures
    assert any("<redacted>" in f.message for f in failures)


def test_pii_values_never_appear_in_rule_messages() -> None:
    doc = load_file(str(EXAMPLES / "orders.created.yaml")).to_document()
    doc["rules"] = [
        {
            "name": "email_is_a_time",
            "expression": "timestamp(this.customer.email) > timestamp(this.created_at)",
        },
        {"name": "gives_the_email", "expression": "this.customer.email"},
    ]
    validator = RecordValidator(Contract.from_document(doc), 1)
    failures = validator.validate(ORDER)
    assert [f.rule for f in failures] == ["email_is_a_time", "gives_the_email"]
    assert all("ada@" not in f.message for f in failures), failures
    assert failures[1].message == "rule 'gives_the_email' gave a str, not a bool"
    # Without PII fields, the messages say what the rule met.
    doc["semantics"] = {}
    plain = RecordValidator(Contract.from_document(doc), 1)
    assert any("ada@" in f.message for f in plain.validate(ORDER))


def test_an_invalid_value_nested_too_deeply_to_describe_is_still_a_failure(
    orders: RecordValidator,
) -> None:
    # jsonschema-rs cannot describe an error inside a value nested past ~256 levels.
    deep = b"[" * 300 + b"]" * 300
    raw = orjson.dumps({**ORDER, "customer": None}).replace(b"null", deep)
    record, failures = orders.validate_json(raw)
    assert record is not None
    assert [(f.kind, f.rule, f.path) for f in failures] == [("schema", "schema", "")]
    assert "nested too deeply" in failures[0].message


def test_unparseable_bytes(orders: RecordValidator) -> None:
    record, failures = orders.validate_json(b'{"order_id": ')
    assert record is None and [(f.kind, f.rule) for f in failures] == [("parse", "json")]


def test_validators_are_cached_by_content() -> None:
    a = load_file(str(EXAMPLES / "orders.created.yaml"))
    b = Contract.from_document(a.to_document())
    assert validator_for(a, 1) is validator_for(b, 1)
    assert validator_for(a, 1) is not validator_for(a, 2)


def test_remote_refs_are_never_fetched() -> None:
    contract = Contract.from_document(
        {"name": "x", "owner": {"team": "t"}, "schema": {"$ref": "http://127.0.0.1:9/nothing.json"}}
    )
    with pytest.raises(Exception, match=r"(?i)offline|resolv|retriev"):
        RecordValidator(contract)


# -- differential: the compiled validator against the reference ---------------------------

# Where jsonschema-rs and jsonschema legitimately disagree, Accord follows jsonschema-rs;
# the README's "Record validation" section lists these with the reason.
DOCUMENTED_DIFFERENCES = [
    # ECMA-262 `$` does not match before a trailing newline; Python's `re` does.
    ({"type": "string", "pattern": "^a$"}, "a\n", False),
    # RFC 3339 allows a leap second; the reference's date-time checker rejects it.
    ({"type": "string", "format": "date-time"}, "1990-12-31T23:59:60Z", True),
    ({"type": "string", "format": "date-time"}, "1990-12-31T15:59:60-08:00", True),
    # `email` is RFC 5321 (ASCII); non-ASCII addresses are `idn-email`. The reference only
    # checks that there is an "@".
    ({"type": "string", "format": "email"}, "用户@例子.广告", False),
    ({"type": "string", "format": "email"}, "josé@example.com", False),
    ({"type": "string", "format": "email"}, "@", False),
    # 0.07 is a multiple of 0.01 in decimal; the reference divides in binary floating point.
    ({"type": "number", "multipleOf": 0.01}, 0.07, True),
]

AGREED_EDGE_CASES = [
    ({"type": "integer"}, 1.0, True),  # integer-valued floats are integers
    ({"type": "integer"}, 1.5, False),
    ({"type": "string", "format": "date-time"}, "2024-01-01T12:00:60Z", False),  # not 23:59
    ({"type": "string", "format": "date-time"}, "2024-01-01 00:00:00Z", False),
    ({"type": "string", "format": "date-time"}, "2024-01-01t00:00:00z", True),
    ({"type": "string", "format": "date"}, "2024-02-30", False),
    ({"type": "string", "format": "email"}, "a@b", True),
    ({"type": "string", "format": "uuid"}, "6f1c2f8e4a1b4e8e9c1a2b3c4d5e6f70", False),
    ({"type": "string", "format": "uri"}, "not a uri", False),
    ({"type": "string", "maxLength": 1}, "😀", True),  # length counts code points
    ({"type": "string", "pattern": "^a$"}, "a", True),
]


def compiled_verdict(schema: Any, instance: Any) -> bool:
    contract = Contract.from_document({"name": "x", "owner": {"team": "t"}, "schema": schema})
    return RecordValidator(contract).is_valid(instance)


def reference_verdict(schema: Any, instance: Any) -> bool:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return bool(validator.is_valid(instance))


@pytest.mark.parametrize(("schema", "instance", "expected"), AGREED_EDGE_CASES)
def test_edge_cases_agree(schema: Any, instance: Any, expected: bool) -> None:
    assert compiled_verdict(schema, instance) is expected
    assert reference_verdict(schema, instance) is expected


@pytest.mark.parametrize(("schema", "instance", "accord"), DOCUMENTED_DIFFERENCES)
def test_documented_differences_still_hold(schema: Any, instance: Any, accord: bool) -> None:
    assert compiled_verdict(schema, instance) is accord
    assert reference_verdict(schema, instance) is not accord


def _documented(instance: Any) -> bool:
    """Whether a disagreement is one of the documented kinds (anywhere in the record)."""
    if isinstance(instance, dict):
        return any(_documented(v) for v in instance.values())
    if isinstance(instance, list):
        return any(_documented(v) for v in instance)
    if isinstance(instance, str):
        return (
            instance.endswith("\n")
            or re.search(r"T\d\d:\d\d:60", instance) is not None
            or ("@" in instance and not instance.isascii())
        )
    return False


def _mutations(record: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    values = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=12)
    )

    def mutate(data: tuple[str, Any]) -> dict[str, Any]:
        key, value = data
        changed = copy.deepcopy(record)
        changed[key] = value
        return changed

    return (
        st.tuples(st.sampled_from(sorted(record)), values).map(mutate)
        if record
        else st.just(record)
    )


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_records_get_the_same_verdict(path: Any, data: st.DataObject) -> None:
    contract = load_file(str(path))
    schema = {k: v for k, v in dict(contract.schema).items() if k != "$schema"}
    record = data.draw(from_schema(schema), label="valid record")
    if data.draw(st.booleans(), label="mutate"):
        record = data.draw(_mutations(record), label="mutated record")
    compiled = validator_for(contract).validate(record)
    schema_ok = not [f for f in compiled if f.kind == "schema"]
    reference = reference_verdict(dict(contract.schema), record)
    if schema_ok != reference:
        assert _documented(record), (schema_ok, reference, record)
