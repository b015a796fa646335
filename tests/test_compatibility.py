"""Both layers of the compatibility check, modes, transitivity and consumer impact."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contracts import CompatibilityMode, Contract, Policy, load_file
from contracts.compatibility import Breaks, check_compatibility, check_schemas
from contracts.consumers import Consumer
from tests.conftest import EXAMPLES

M = CompatibilityMode


@pytest.fixture
def orders() -> Contract:
    return load_file(str(EXAMPLES / "orders.created.yaml"))


def changed(base: Contract, edit: Any) -> Contract:
    doc = copy.deepcopy(base.to_document())
    edit(doc)
    return Contract.from_document(doc)


def kinds(report: Any) -> dict[str, tuple[str, bool]]:
    return {c.type: (c.breaks.value, c.compatible) for c in report.changes}


def test_identical_contract_is_compatible_with_no_changes(orders: Contract) -> None:
    report = check_compatibility(orders, [(1, orders)])
    assert report.compatible and report.changes == ()
    assert report.checked_versions == (1,)


def test_first_version_is_always_compatible(orders: Contract) -> None:
    report = check_compatibility(orders, [])
    assert report.compatible and report.checked_versions == ()


# Each contract-layer change: its type, the side it breaks, and the verdict per mode.
CONTRACT_CHANGES = [
    (
        "unit",
        lambda d: d["semantics"]["total.amount_minor"].update(unit="EUR"),
        "FIELD_UNIT_CHANGED",
        "both",
    ),
    (
        "pii added",
        lambda d: d["semantics"]["customer.customer_id"].update(classification="pii"),
        "FIELD_CLASSIFICATION_ESCALATED",
        "consumers",
    ),
    (
        "pii removed",
        lambda d: d["semantics"]["customer.email"].update(classification="internal"),
        "FIELD_CLASSIFICATION_RELAXED",
        "none",
    ),
    (
        "description only",
        lambda d: d["semantics"]["order_id"].update(description="new words"),
        "FIELD_DESCRIPTION_CHANGED",
        "none",
    ),
    (
        "rule added",
        lambda d: d["rules"].append(
            {"name": "few_items", "expression": "size(this.line_items) < 50"}
        ),
        "RULE_ADDED",
        "producers",
    ),
    ("rule removed", lambda d: d["rules"].pop(0), "RULE_REMOVED", "consumers"),
    (
        "rule changed",
        lambda d: d["rules"][1].update(expression="this.line_items.all(i, i.quantity > 0)"),
        "RULE_CHANGED",
        "both",
    ),
    (
        "quality tightened",
        lambda d: d["quality"][2].update(must_be_greater_or_equal_to=10),
        "QUALITY_THRESHOLD_TIGHTENED",
        "producers",
    ),
    (
        "quality loosened",
        lambda d: d["quality"][2].update(must_be_greater_or_equal_to=0),
        "QUALITY_THRESHOLD_LOOSENED",
        "consumers",
    ),
    (
        "freshness loosened",
        lambda d: d["sla"]["freshness"].update(max_delay="PT1H"),
        "SLA_LOOSENED",
        "consumers",
    ),
    (
        "freshness tightened",
        lambda d: d["sla"]["freshness"].update(max_delay="PT5M"),
        "SLA_TIGHTENED",
        "producers",
    ),
    ("volume widened", lambda d: d["sla"]["volume"].update(min=10), "SLA_LOOSENED", "consumers"),
    (
        "volume narrowed",
        lambda d: d["sla"]["volume"].update(min=1000),
        "SLA_TIGHTENED",
        "producers",
    ),
    (
        "availability lowered",
        lambda d: d["sla"].update(availability=0.99),
        "SLA_LOOSENED",
        "consumers",
    ),
    ("sla removed", lambda d: d["sla"].pop("volume"), "SLA_REMOVED", "consumers"),
    ("owner", lambda d: d["owner"].update(team="fulfilment"), "OWNER_CHANGED", "none"),
    ("status", lambda d: d.update(status="deprecated"), "STATUS_CHANGED", "none"),
]


@pytest.mark.parametrize(
    ("edit", "kind", "side"),
    [c[1:] for c in CONTRACT_CHANGES],
    ids=[c[0] for c in CONTRACT_CHANGES],
)
def test_contract_layer_change(orders: Contract, edit: Any, kind: str, side: str) -> None:
    new = changed(orders, edit)
    expected_by_mode = {
        M.NONE: True,
        M.BACKWARD: side not in ("producers", "both"),
        M.FORWARD: side not in ("consumers", "both"),
        M.FULL: side == "none",
    }
    for mode, compatible in expected_by_mode.items():
        report = check_compatibility(new, [(1, orders)], mode=mode)
        assert kinds(report) == {kind: (side, compatible)}, mode
        assert report.compatible is compatible
        [change] = report.changes
        assert change.layer.value == "contract" and change.path.startswith("/")


def test_schema_layer_sides(orders: Contract) -> None:
    narrowed = changed(
        orders, lambda d: d["schema"]["properties"]["coupon_code"].update(maxLength=8)
    )
    assert kinds(check_compatibility(narrowed, [(1, orders)], mode=M.FULL)) == {
        "MAX_LENGTH_DECREASED": ("producers", False)
    }
    assert check_compatibility(narrowed, [(1, orders)], mode=M.FORWARD).compatible
    # Adding an optional property to a closed model: old readers reject the new field.
    added = changed(orders, lambda d: d["schema"]["properties"].update(note={"type": "string"}))
    report = check_compatibility(added, [(1, orders)], mode=M.FORWARD)
    assert kinds(report) == {
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL": ("consumers", False)
    }
    assert report.changes[0].path == "/schema/properties/note"
    assert check_compatibility(added, [(1, orders)], mode=M.BACKWARD).compatible
    retyped = changed(
        orders, lambda d: d["schema"]["properties"].update(coupon_code={"type": "integer"})
    )
    assert kinds(check_compatibility(retyped, [(1, orders)], mode=M.BACKWARD)) == {
        "TYPE_CHANGED": ("both", False)
    }


def test_policy_decides_open_content_models() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    assert not check_schemas(old, new, policy=Policy.STRICT).compatible
    assert check_schemas(old, new, policy=Policy.LENIENT).compatible


def test_transitive_modes_check_every_earlier_version(orders: Contract) -> None:
    v1 = orders
    v2 = changed(v1, lambda d: d["schema"]["properties"]["coupon_code"].pop("maxLength"))
    v3 = changed(v2, lambda d: d["schema"]["properties"]["coupon_code"].update(maxLength=64))
    history = [(1, v1), (2, v2)]
    # Against v2 alone (no maxLength) adding maxLength 64 is a narrowing...
    assert not check_compatibility(v3, history, mode=M.BACKWARD).compatible
    # ...and FORWARD only compares with the latest, where it is fine.
    assert check_compatibility(v3, history, mode=M.FORWARD).compatible
    # Against v1 (maxLength 32), 64 widens: FORWARD_TRANSITIVE sees that.
    report = check_compatibility(v3, history, mode=M.FORWARD_TRANSITIVE)
    assert not report.compatible
    assert report.checked_versions == (1, 2)
    [breaking] = report.breaking
    assert (breaking.type, breaking.against_version) == ("MAX_LENGTH_INCREASED", 1)


def test_a_change_compatible_with_the_latest_can_still_break_an_older_version(
    orders: Contract,
) -> None:
    def coupon(schema: dict[str, Any]) -> Any:
        return lambda d: d["schema"]["properties"].update(coupon_code=schema)

    v1 = changed(orders, coupon({"type": "integer"}))
    v2 = changed(orders, coupon({}))  # anything
    v3 = changed(orders, coupon({"type": "string"}))
    # Against v2 the change narrows (FORWARD: fine); v1's readers cannot read a string.
    assert check_compatibility(v3, [(2, v2)], mode=M.FORWARD).compatible
    report = check_compatibility(v3, [(1, v1), (2, v2)], mode=M.FORWARD_TRANSITIVE)
    assert not report.compatible
    assert {c.against_version for c in report.breaking} == {1}


def test_a_change_is_judged_by_the_mode_it_changes_from(orders: Contract) -> None:
    # Turning the check off in the same change does not get the change past it.
    loosened = changed(
        orders,
        lambda d: (
            d["schema"]["properties"]["coupon_code"].update(maxLength=8),
            d["compatibility"].update(mode="NONE"),
        ),
    )
    report = check_compatibility(loosened, [(1, orders)])
    assert report.mode is M.BACKWARD and not report.compatible
    assert check_compatibility(loosened, [(1, orders)], mode=M.NONE).compatible  # on purpose


def test_consumers_are_named_only_for_fields_they_read(orders: Contract) -> None:
    consumers = [
        Consumer("finance-dwh", "finance", "fin@example.com", fields=("total",)),
        Consumer("crm-sync", "crm", fields=("customer.email",)),
        Consumer("audit", "security"),  # reads everything
        Consumer("legacy", "ops", max_version=0),  # pinned to versions before 1
    ]
    new = changed(orders, lambda d: d["semantics"]["total.amount_minor"].update(unit="EUR"))
    report = check_compatibility(new, [(1, orders)], consumers=consumers)
    assert [a.name for a in report.affected_consumers] == ["finance-dwh", "audit"]
    assert report.affected_consumers[0].contact == "fin@example.com"
    assert report.to_dict()["affected_consumers"][0]["changes"] == [
        "FIELD_UNIT_CHANGED /semantics/total.amount_minor/unit"
    ]

    unread = changed(orders, lambda d: d["schema"]["properties"]["coupon_code"].update(maxLength=8))
    only_specific = [c for c in consumers if c.fields]
    report = check_compatibility(unread, [(1, orders)], consumers=only_specific)
    assert not report.compatible and report.affected_consumers == ()
    assert report.breaking[0].message.endswith("no registered consumer reads this field")


def test_a_property_name_with_a_slash_is_one_pointer_segment(orders: Contract) -> None:
    def add(doc: dict[str, Any], kind: str) -> None:
        doc["schema"]["properties"]["ratio/share~x"] = {"type": kind}

    old = changed(orders, lambda d: add(d, "number"))
    new = changed(orders, lambda d: add(d, "string"))
    readers = [
        Consumer("bi", "analytics", fields=("/ratio~1share~0x",)),
        Consumer("x", "t", fields=("ratio",)),
    ]
    report = check_compatibility(new, [(1, old)], consumers=readers)
    (change,) = report.breaking
    assert change.path == "/schema/properties/ratio~1share~0x"
    assert "at ratio/share~x" in change.message
    assert [a.name for a in report.affected_consumers] == ["bi"]


def test_report_round_trips_through_json(orders: Contract) -> None:
    from contracts.compatibility import CompatibilityReport

    new = changed(orders, lambda d: d["sla"]["freshness"].update(max_delay="PT1H"))
    report = check_compatibility(new, [(1, orders)], mode=M.FULL, consumers=[Consumer("x", "t")])
    data = report.to_dict()
    assert set(data) >= {"compatible", "mode", "policy", "changes", "affected_consumers"}
    assert set(data["changes"][0]) >= {"type", "path", "layer", "breaks", "compatible", "message"}
    assert CompatibilityReport.from_dict(data) == report


def test_breaks_union() -> None:
    assert Breaks.NONE | Breaks.PRODUCERS is Breaks.PRODUCERS
    assert Breaks.PRODUCERS | Breaks.CONSUMERS is Breaks.BOTH
    assert Breaks.NONE | Breaks.NONE is Breaks.NONE


IF_A = {"properties": {"a": {"const": 1}}}


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward", "change"),
    [
        # Accord's validators assert formats: adding one narrows, removing one widens.
        ({"type": "string"}, {"type": "string", "format": "email"}, False, True, "FORMAT_ADDED"),
        ({"type": "string", "format": "email"}, {"type": "string"}, True, False, "FORMAT_REMOVED"),
        (
            {"type": "string", "format": "email"},
            {"type": "string", "format": "uuid"},
            False,
            False,
            "FORMAT_CHANGED",
        ),
        # if/then/else: branches compared as subschemas, a changed condition breaks both ways.
        (
            {"if": IF_A, "then": {"properties": {"b": {"type": "string"}}}},
            {"if": IF_A, "then": {"properties": {"b": {"type": "string", "maxLength": 3}}}},
            False,
            True,
            "MAX_LENGTH_ADDED",
        ),
        (
            {"if": IF_A, "else": {"properties": {"b": {"type": "integer"}}}},
            {"if": IF_A},
            True,
            False,
            "SCHEMA_REMOVED",
        ),
        (
            {"if": IF_A, "then": {"required": ["b"]}},
            {"if": {"properties": {"a": {"const": 2}}}, "then": {"required": ["b"]}},
            False,
            False,
            "CONDITION_CHANGED",
        ),
        # patternProperties by pattern; propertyNames as a subschema.
        (
            {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
            {"type": "object", "patternProperties": {"^x": {"type": "integer"}}},
            False,
            False,
            "TYPE_CHANGED",
        ),
        (
            {"type": "object"},
            {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
            False,
            True,
            "PATTERN_PROPERTY_ADDED",
        ),
        (
            {"type": "object", "patternProperties": {"^x": {}}, "additionalProperties": False},
            {"type": "object", "additionalProperties": False},
            False,
            True,
            "PATTERN_PROPERTY_REMOVED",
        ),
        (
            {"type": "object"},
            {"type": "object", "propertyNames": {"maxLength": 2}},
            False,
            True,
            "SCHEMA_ADDED",
        ),
        # A type inferred from keywords lets other types through; declaring it does not.
        (
            {"properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"a": {"type": "string"}}},
            False,
            True,
            "TYPE_NARROWED",
        ),
        ({"type": "number", "minimum": 0}, {"minimum": 0}, True, False, "TYPE_EXTENDED"),
        (
            {"if": {**IF_A, "description": "old"}, "then": {"required": ["b"]}},
            {"if": {**IF_A, "description": "new"}, "then": {"required": ["b"]}},
            True,
            True,
            None,
        ),
    ],
)
def test_what_accord_compares_beyond_confluent(
    old: Any, new: Any, backward: bool, forward: bool, change: str | None
) -> None:
    report = check_schemas(old, new, mode=M.BACKWARD)
    assert report.compatible is backward, report.changes
    assert check_schemas(old, new, mode=M.FORWARD).compatible is forward
    if change is not None:
        assert change in {c.type for c in report.changes}
