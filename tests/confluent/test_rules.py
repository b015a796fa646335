"""Confluent CEL conditions over `message` as Accord rules over `this`."""

from __future__ import annotations

import pytest

from registry.confluent.rules import accord_rules, mapped_names, message_to_this

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "status": {"type": "string"},
        "message": {"type": "string"},
    },
}


@pytest.mark.parametrize(
    ("confluent", "accord"),
    [
        ("message.amount > 0", "this.amount > 0"),
        ("message.amount>0&&message.status!='x'", "this.amount>0&&this.status!='x'"),
        ("has(message.status)", "has(this.status)"),
        ("message.message == 'message'", "this.message == 'message'"),  # field, string
        ('message.status in ["message", "b"]', 'this.status in ["message", "b"]'),
        ("size(message.status) < 10 // message", "size(this.status) < 10 // message"),
        ("message . amount > 0", "this . amount > 0"),
        (r"message.status.matches(r'\w+message')", r"this.status.matches(r'\w+message')"),
        ("message.status == '''it's a message'''", "this.status == '''it's a message'''"),
    ],
)
def test_message_becomes_this(confluent: str, accord: str) -> None:
    assert message_to_this(confluent) == accord


def test_an_expression_already_using_this_is_not_translated() -> None:
    assert message_to_this("this.amount > 0 && message.amount < 5") is None


def rule(name: str, expr: str, **extra: object) -> dict[str, object]:
    return {"name": name, "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": expr} | extra


def test_cel_conditions_become_rules_and_the_rest_does_not() -> None:
    rule_set = {
        "domainRules": [
            rule("positive", "message.amount > 0", doc="No free orders."),
            rule("lenient check", "message.amount < 1000", onFailure="NONE"),
            rule("dlq", "message.status != ''", onFailure="DLQ"),
            rule("disabled", "message.amount > 1", disabled=True),
            rule("unknown_field", "message.missing > 1"),
            rule("not_cel", "message.amount +", type="CEL"),
            {"name": "mask", "kind": "TRANSFORM", "type": "ENCRYPT", "tags": ["PII"]},
            rule("field", "value > 0", type="CEL_FIELD"),
        ],
        "migrationRules": [rule("up", "message", mode="UPGRADE")],
    }
    assert accord_rules(rule_set, SCHEMA) == [
        {
            "name": "positive",
            "expression": "this.amount > 0",
            "severity": "error",
            "description": "No free orders.",
        },
        {"name": "lenient_check", "expression": "this.amount < 1000", "severity": "warning"},
        {"name": "dlq", "expression": "this.status != ''", "severity": "error"},
    ]
    assert mapped_names(rule_set) == {
        "positive",
        "lenient_check",
        "dlq",
        "unknown_field",
        "not_cel",
    }


def test_no_rule_set_no_rules() -> None:
    assert accord_rules(None, SCHEMA) == []
    assert accord_rules({"migrationRules": []}, SCHEMA) == []
