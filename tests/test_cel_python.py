"""The CEL → Python backend agrees with cel-python's interpreter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from contracts import compile_rule
from enforcers.cel_python import (
    _ERRORS,
    CelEvaluationError,
    _define,
    _rule_source,
    compile_all,
    compile_cel,
)
from enforcers.cel_python import _interpreted as interpreted

EXPRESSIONS = [
    "this.a > 0",
    "this.a + this.b * 2 - 1 >= this.b",
    "this.a / 3 == -1 || this.a % 3 == 2",
    "this.a > 0 && this.b < 10",
    "!(this.a == this.b)",
    "this.a == 1 ? this.b > 0 : this.b < 0",
    "has(this.c) && this.c.startsWith('x')",
    "!has(this.c) || size(this.c) <= 3",
    "this.tags.all(t, t != 'bad')",
    "this.tags.exists(t, t == 'vip')",
    "this.tags.exists_one(t, t.endsWith('!'))",
    "size(this.tags.filter(t, t.contains('a'))) < 2",
    "this.tags.map(t, size(t)).all(n, n < 5)",
    "this.c in ['x', 'xy', 'xyz']",
    "'a' in this.tags",
    "string(this.a) != '7'",
    "double(this.a) / 2.0 >= 0.0",
    "this.c.matches('^x+$')",
    "this.tags.all(t, this.tags.exists(u, u == t))",
    "this.tags.exists(t, this.tags.all(u, u == t || size(u) > this.a))",
    # An error on one side (no field c) that the other side decides, as CEL's commutative
    # && and || and its all/exists let it.
    "this.c.startsWith('x') || !has(this.c)",
    "size(this.c) > 2 && this.a > 0",
    "!(this.c == 'x' && this.a > 0)",
    "this.tags.exists(t, t.startsWith(this.c) || t == 'vip')",
    "this.tags.all(t, t != this.c && t != 'bad')",
    "this.tags.all(t, size(t) < this.c.size()) || this.a > 10",
]

records = st.fixed_dictionaries(
    {
        "a": st.integers(-20, 20),
        "b": st.integers(-20, 20),
        "tags": st.lists(st.sampled_from(["a", "vip", "bad", "ok!", "b!", "zz"]), max_size=4),
    },
    optional={"c": st.sampled_from(["x", "xy", "xyzw", "abc", ""])},
)


def outcome(evaluate: Any, record: dict[str, Any]) -> Any:
    try:
        return evaluate(record)
    except CelEvaluationError:
        return "error"


@pytest.mark.parametrize("expression", EXPRESSIONS)
@settings(max_examples=60, deadline=None)
@given(record=records)
def test_native_agrees_with_interpreter(expression: str, record: dict[str, Any]) -> None:
    compiled = compile_cel(expression)
    assert compiled.native, expression
    reference = interpreted(compile_rule(expression).tree)
    expected = outcome(reference, record)
    assert outcome(compiled.evaluate, record) == expected


@settings(max_examples=200, deadline=None)
@given(
    record=records,
    chosen=st.lists(st.sampled_from(EXPRESSIONS), min_size=1, max_size=3, unique=True),
)
def test_all_rules_hold_exactly_when_each_rule_is_true(
    record: dict[str, Any], chosen: list[str]
) -> None:
    all_hold = compile_all(tuple(chosen))
    assert all_hold is not None
    each = all(outcome(compile_cel(e).evaluate, record) is True for e in chosen)
    if all_hold(record):
        assert each
    elif each:
        # The fast path short-circuits left to right; an error it met that CEL lets the
        # other side absorb only sends the record on to each rule, which decides.
        assert any(raises_left_to_right(e, record) for e in chosen)


def raises_left_to_right(expression: str, record: dict[str, Any]) -> bool:
    plain = _define(_rule_source(compile_rule(expression).tree, exact=False), expression)
    try:
        plain(record)
    except _ERRORS:
        return True
    return False


def test_the_fast_path_is_false_where_has_meets_a_non_map() -> None:
    # has() on a list is an error per rule; the fast path must not read it as "absent".
    record = {"a": 1, "b": 1, "tags": [], "c": ["x"]}
    fast = compile_all(("!has(this.c.x)",))
    assert fast is not None
    assert fast(record) is False
    assert outcome(compile_cel("!has(this.c.x)").evaluate, record) == "error"


_RFC3339 = jsonschema_rs.validator_for({"format": "date-time"}, validate_formats=True)


@st.composite
def rfc3339_texts(draw: st.DrawFn) -> str:
    """Texts that a schema with ``format: date-time`` lets through, edge cases included."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
    year = draw(st.sampled_from([f"{moment.year:04d}", "0000"]))
    day = draw(st.sampled_from([f"{moment:%m-%d}", "02-29"]))  # Feb 29 in any year
    second = draw(st.sampled_from([f"{moment:%S}", "60"]))  # a leap second
    fraction = draw(st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ".123456789"]))
    zone = draw(st.sampled_from(["Z", "Z", "Z", "z", "+00:00", "+05:30", "-01:00"]))
    separator = draw(st.sampled_from(["T", "T", "t"]))
    text = f"{year}-{day}{separator}{moment:%H:%M}:{second}{fraction}{zone}"
    assume(_RFC3339.is_valid(text))
    return text


@settings(max_examples=500, deadline=None)
@given(
    a=rfc3339_texts(),
    b=rfc3339_texts(),
    op=st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
    data=st.data(),
)
def test_checked_date_times_compare_as_their_times_do(
    a: str, b: str, op: str, data: st.DataObject
) -> None:
    # Fields the schema asserts as date-times compare as text on the fast path; the verdict
    # must be the per-rule one, which parses both (or fails to).
    if data.draw(st.booleans()):  # the common case: one shape, a digit or two apart
        i = data.draw(st.sampled_from([3, 6, 9, 12, 15, 18]))
        b = a[:i] + data.draw(st.sampled_from("0123456789")) + a[i + 1 :]
        assume(_RFC3339.is_valid(b))
    expression = f"timestamp(this.a) {op} timestamp(this.b)"
    fast = compile_all((expression,), frozenset({("a",), ("b",)}))
    assert fast is not None
    record = {"a": a, "b": b}
    assert fast(record) is (outcome(compile_cel(expression).evaluate, record) is True)


def test_checked_date_times_take_the_text_comparison() -> None:
    expression = "timestamp(this.a) < timestamp(this.b)"
    fast = compile_all((expression,), frozenset({("a",), ("b",)}))
    unchecked = compile_all((expression,), frozenset({("a",)}))
    assert fast is not None and unchecked is not None
    assert "_times_lt" in fast.__code__.co_names
    assert "_times_lt" not in unchecked.__code__.co_names
    record = {"a": "2024-01-01T00:00:00Z", "b": "2024-01-01T00:00:01Z"}
    assert fast(record) is unchecked(record) is True


def test_integer_division_truncates_like_cel() -> None:
    assert compile_cel("-7 / 2 == -3 && -7 % 2 == -1").evaluate({}) is True


def test_timestamps_compare() -> None:
    rule = compile_cel("timestamp(this.b) >= timestamp(this.a)")
    assert rule.evaluate({"a": "2024-01-01T00:00:00Z", "b": "2024-01-01T01:00:00+01:00"}) is True
    with pytest.raises(CelEvaluationError):
        rule.evaluate({"a": "2024-01-01T00:00:00", "b": "2024-01-01T00:00:00Z"})


def test_missing_field_is_an_evaluation_error() -> None:
    with pytest.raises(CelEvaluationError, match="no such field 'nope'"):
        compile_cel("this.nope > 1").evaluate({})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("this.x.y > 0 || true", True),
        ("this.x.y > 0 || !has(this.x)", True),
        ("this.a / 0 == 1 || this.a == 1", True),
        ("this.a < 's' || true", True),
        ("this.x.y > 0 && false", False),
        ("!(this.x.y > 0 && this.a > 5)", True),
        ("this.items.all(i, i.n > 0)", False),  # an item that fails wins over one that raises
        ("this.items.exists(i, i.n > 0)", True),  # ... and one that passes, for exists
        ("!this.items.all(i, i.n > 0) && this.a == 1", True),
    ],
)
def test_a_deciding_side_absorbs_an_error_on_the_other(expression: str, expected: bool) -> None:
    # CEL's && and || are commutative, and all()/exists() look at every item: the answer
    # does not depend on the order the plain left-to-right code met the error in.
    record = {"a": 1, "items": [{}, {"n": -1}, {"n": 1}]}
    assert compile_cel(expression).evaluate(record) is expected
    assert interpreted(compile_rule(expression).tree)(record) is expected


@pytest.mark.parametrize(
    "expression",
    [
        # Values out of range and patterns from the record raise what Python raises for
        # them; they are evaluation errors like any other, and a deciding side absorbs them.
        "timestamp(this.t) + duration('48h') > timestamp('2020-01-01T00:00:00Z')",
        "double(this.big) > 0.0",
        "this.s.matches(this.p)",
    ],
)
def test_values_out_of_range_are_evaluation_errors(expression: str) -> None:
    record = {"t": "9999-12-31T23:00:00Z", "big": 10**400, "s": "a", "p": "(unclosed"}
    with pytest.raises(CelEvaluationError):
        compile_cel(expression).evaluate(record)
    assert compile_cel(f"this.nope > 0 || {expression} || true").evaluate(record) is True
    assert compile_cel(f"({expression}) && false").evaluate(record) is False


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("this.x.y > 0 || false", "no such field 'x'"),
        ("this.a > 5 && this.x.y > 0 || this.x > 1", "no such field 'x'"),
        ("this.items.exists(i, i.n > 5)", "no such field 'n'"),
    ],
)
def test_an_error_nothing_absorbs_is_reported_as_met(expression: str, message: str) -> None:
    with pytest.raises(CelEvaluationError, match=message):
        compile_cel(expression).evaluate({"a": 1, "items": [{}, {"n": -1}]})


def test_conditions_must_be_bool() -> None:
    with pytest.raises(CelEvaluationError, match="expected a bool"):
        compile_cel("this.a && true").evaluate({"a": 1})


def test_unsupported_constructs_fall_back_to_the_interpreter() -> None:
    rule = compile_cel("timestamp(this.t).getFullYear() == 2024")
    assert not rule.native
    assert rule.evaluate({"t": "2024-05-01T00:00:00Z"}) is True


def test_literals_cannot_inject_code() -> None:
    rule = compile_cel("this.s == \"'); import os; ('\"")
    assert rule.native and rule.source is not None
    assert rule.evaluate({"s": "'); import os; ('"}) is True
    assert "import os" not in rule.source.replace(repr("'); import os; ('"), "")


def test_all_rules_at_once() -> None:
    from enforcers.cel_python import compile_all

    both = compile_all(("this.a > 0", "has(this.c)"))
    assert both is not None
    assert both({"a": 1, "c": "x"}) is True
    assert both({"a": 0, "c": "x"}) is False  # a false rule
    assert both({"c": "x"}) is False  # an evaluation error
    assert compile_all(()) is not None and compile_all(())({}) is True
    assert compile_all(("timestamp(this.t).getFullYear() == 2024",)) is None  # not native
