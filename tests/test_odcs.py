"""ODCS v3 import and export: round trips both ways, the mapping field by field, and that
every exported document is valid ODCS (official JSON Schema and the official model)."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft201909Validator
from open_data_contract_standard.model import OpenDataContractStandard

import schemas
from contracts import (
    Contract,
    QualityType,
    Status,
    check_document,
    load_contract,
    load_file,
)
from contracts.documents import SourceDocument
from contracts.odcs import (
    API_VERSION,
    ConversionWarning,
    OdcsError,
    export_odcs,
    import_odcs,
    validate_odcs,
)
from tests.conftest import EXAMPLE_FILES

DATA = Path(__file__).parent / "data" / "odcs"
ODCS_FILES = sorted(DATA.glob("*.odcs.yaml"))
ODCS_SCHEMA = schemas.load("odcs-v3")


def odcs(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DATA / name).read_text())
    return doc


def assert_valid_odcs(doc: dict[str, Any]) -> None:
    """Valid against the official JSON Schema (its own draft) and the official model."""
    assert ODCS_SCHEMA["$schema"] == "https://json-schema.org/draft/2019-09/schema"
    errors = list(Draft201909Validator(ODCS_SCHEMA).iter_errors(doc))
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    OpenDataContractStandard.model_validate(doc)


def same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """The one thing a round trip changes on purpose: the export writes ODCS v3.2.0."""
    return {**json.loads(json.dumps(doc)), "apiVersion": API_VERSION}


# -- the contract's `extensions` (where document-level ODCS leftovers live) -------------------

MINIMAL: dict[str, Any] = {
    "name": "demo.events",
    "owner": {"team": "demo"},
    "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
}


def test_extensions_are_kept_verbatim_and_round_trip() -> None:
    doc = {**MINIMAL, "extensions": {"odcs": {"id": "x", "servers": [{"server": "p"}]}, "acme": {}}}
    assert check_document(SourceDocument(doc)) == []
    contract = load_contract(SourceDocument(doc))
    assert contract.extensions["odcs"]["servers"] == [{"server": "p"}]
    assert contract.to_document()["extensions"] == doc["extensions"]
    assert Contract.from_document(contract.to_document()) == contract
    assert "extensions" not in load_contract(SourceDocument(MINIMAL)).to_document()


@pytest.mark.parametrize(
    ("extensions", "path"),
    [
        ({"Bad Vendor": {}}, "/extensions"),
        ({"odcs": "not an object"}, "/extensions/odcs"),
        ([], "/extensions"),
    ],
)
def test_extensions_are_vendor_keyed_objects(extensions: Any, path: str) -> None:
    problems = check_document(SourceDocument({**MINIMAL, "extensions": extensions}))
    assert [p.path for p in problems] == [path]


def test_extensions_change_the_fingerprint() -> None:
    plain = load_contract(SourceDocument(MINIMAL))
    extended = load_contract(SourceDocument({**MINIMAL, "extensions": {"odcs": {"id": "x"}}}))
    assert plain.fingerprint != extended.fingerprint


# -- the shipped schema ---------------------------------------------------------------------


def test_shipped_schema_is_the_packages_file_byte_for_byte() -> None:
    from importlib import resources

    packaged = resources.files("open_data_contract_standard").joinpath("schema.json").read_bytes()
    shipped = (Path(schemas.__file__).parent / "odcs-v3.schema.json").read_bytes()
    assert shipped == packaged


# -- Accord -> ODCS -> Accord ----------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_round_trip_through_odcs(path: Path) -> None:
    contract = load_file(str(path))
    exported = export_odcs(contract)
    assert exported.warnings == []
    assert_valid_odcs(exported.document)
    back = import_odcs(exported.document)
    assert back.warnings == []
    assert back.contracts == [contract]
    assert back.contracts[0].fingerprint == contract.fingerprint


def test_examples_export_together_as_one_document() -> None:
    contracts = [load_file(str(p)) for p in EXAMPLE_FILES]
    exported = export_odcs(contracts)
    assert_valid_odcs(exported.document)
    assert [o["name"] for o in exported.document["schema"]] == [c.name for c in contracts]
    back = import_odcs(exported.document)
    assert back.contracts == contracts


def test_export_writes_what_odcs_readers_expect() -> None:
    contract = load_file(str(EXAMPLE_FILES[1]))  # orders.created
    doc = export_odcs(contract, version="7").document
    assert doc["version"] == "7" and doc["kind"] == "DataContract"
    assert doc["apiVersion"] == API_VERSION and doc["status"] == "active"
    assert doc["team"]["name"] == "checkout"
    assert doc["team"]["members"][0]["username"] == "checkout-oncall@example.com"
    assert {"channel": "#checkout-alerts", "tool": "slack"} in doc["support"]
    [obj] = doc["schema"]
    props = {p["name"]: p for p in obj["properties"]}
    assert props["order_id"]["primaryKey"] is True and props["order_id"]["required"] is True
    assert props["order_id"]["logicalTypeOptions"] == {"format": "uuid"}
    assert props["created_at"]["logicalType"] == "timestamp"
    email = {p["name"]: p for p in props["customer"]["properties"]}["email"]
    assert email["classification"] == "pii"
    # a $ref is inlined for readers; the reference itself is kept for Accord
    total = props["total"]
    assert [p["name"] for p in total["properties"]] == ["amount_minor", "currency"]
    kept = [cp for cp in total["customProperties"] if cp["property"] == "jsonSchema"]
    assert kept == [
        {
            "property": "jsonSchema",
            "value": {"replace": {"$ref": "#/$defs/money"}},
            "vendor": "accord",
        }
    ]
    sla = {item["property"]: item for item in doc["slaProperties"]}
    assert sla["latency"] == {
        "property": "latency",
        "value": 15,
        "unit": "min",
        "element": "orders.created.created_at",
    }
    assert sla["retention"]["value"] == 30 and sla["retention"]["unit"] == "d"
    assert sla["availability"]["value"] == 99.9 and sla["availability"]["unit"] == "%"
    assert sla["errorRate"]["value"] == 0.1
    rules = [cp for cp in obj["customProperties"] if cp["property"] == "rules"]
    assert rules[0]["vendor"] == "accord" and len(rules[0]["value"]) == 3


def test_accord_only_content_goes_to_custom_properties() -> None:
    contract = load_file(str(EXAMPLE_FILES[0]))  # analytics: rules, LENIENT mode, units
    [obj] = export_odcs(contract).document["schema"]
    kept = {cp["property"]: cp["value"] for cp in obj["customProperties"]}
    assert kept["compatibility"] == {"mode": "BACKWARD_TRANSITIVE", "policy": "LENIENT"}
    assert kept["jsonSchema"] == {
        "keywords": {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    }
    minutes = next(p for p in obj["properties"] if p["name"] == "active_minutes")
    assert minutes["customProperties"] == [
        {"property": "semantics", "value": {"unit": "minutes"}, "vendor": "accord"}
    ]


# -- ODCS -> Accord -> ODCS ------------------------------------------------------------------


@pytest.mark.parametrize("path", ODCS_FILES, ids=lambda p: p.name)
def test_odcs_documents_round_trip_through_accord(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert validate_odcs(doc) == []
    imported = import_odcs(doc)
    for c in imported.contracts:  # what Accord itself says of them
        assert [p for p in check_document(SourceDocument(c.to_document()))] == []
    exported = export_odcs(imported.contracts)
    assert_valid_odcs(exported.document)
    assert exported.warnings == []
    assert same_json(exported.document, normalized(doc))
    # and once more: a stable fixed point
    again = import_odcs(exported.document)
    assert again.contracts == imported.contracts


def test_import_does_not_touch_its_input() -> None:
    doc = odcs("full.odcs.yaml")
    before = copy.deepcopy(doc)
    import_odcs(doc)
    assert doc == before


def _full() -> dict[str, Contract]:
    return {c.name: c for c in import_odcs(odcs("full.odcs.yaml")).contracts}


def test_one_contract_per_schema_object_with_the_document_fields() -> None:
    contracts = _full()
    assert list(contracts) == ["orders", "line_items"]
    orders = contracts["orders"]
    assert orders.description == "One row per order placed."
    assert orders.status is Status.ACTIVE
    assert orders.tags == ("orders", "tier-1", "pii-inside")  # document tags, then object's
    assert contracts["line_items"].tags == ("orders", "tier-1", "lines")
    assert orders.owner.team == "checkout"
    contacts = [dataclasses.asdict(c) for c in orders.owner.contacts]
    assert contacts == [
        {"name": "Ana Lopez", "email": "ana@example.com", "slack": None, "role": "owner"},
        {"name": "Bob Smith", "email": "bob@example.com", "slack": None, "role": "data steward"},
        {"name": None, "email": None, "slack": "#checkout-help", "role": None},
        {"name": None, "email": "checkout-oncall@example.com", "slack": None, "role": None},
    ]
    odcs_ext = orders.extensions["odcs"]
    assert odcs_ext["version"] == "2.1.0" and odcs_ext["id"].startswith("7f3c2a1e")
    assert odcs_ext["domain"] == "sales" and odcs_ext["servers"][0]["type"] == "postgresql"
    assert odcs_ext["tags"] == ["needs review"]  # not a valid Accord tag
    assert odcs_ext["customProperties"][0] == {
        "property": "dataOwnerCostCenter",
        "value": "CC-1234",
    }
    assert odcs_ext["description"]["usage"] == "Finance reporting and fulfilment."


def test_logical_types_and_options_become_json_schema() -> None:
    schema = _full()["orders"].schema
    assert isinstance(schema, dict)
    p = schema["properties"]
    assert schema["type"] == "object"
    assert schema["required"] == ["order_id", "order_date", "created_at", "item_count"]
    assert p["order_id"] == {
        "type": "string",
        "format": "uuid",
        "x-odcs": p["order_id"]["x-odcs"],
    }
    assert p["order_date"]["format"] == "date"
    assert p["order_date"]["x-odcs"]["logicalTypeOptions"] == {
        "format": "yyyy-MM-dd",
        "minimum": "2020-01-01",
    }
    assert p["created_at"]["format"] == "date-time"
    assert p["pickup_time"] == {"type": "string", "format": "time"}
    assert p["country"]["minLength"] == 2 and p["country"]["pattern"] == "^[A-Z]{2}$"
    assert p["customer_email"]["format"] == "email" and p["customer_email"]["maxLength"] == 320
    assert p["status"]["enum"] == ["placed", "paid", "shipped"]
    total = p["total_amount"]
    assert (total["type"], total["minimum"], total["exclusiveMaximum"], total["multipleOf"]) == (
        "number",
        0,
        1000000,
        0.01,
    )
    assert total["x-odcs"]["logicalTypeOptions"] == {"format": "f64"}
    assert p["item_count"]["type"] == "integer" and p["item_count"]["exclusiveMinimum"] == 0
    assert p["is_gift"] == {"type": "boolean"}
    address = p["shipping_address"]
    assert address["type"] == "object" and address["minProperties"] == 1
    assert address["required"] == ["street", "city"]
    assert address["properties"]["geo"]["properties"]["lat"]["minimum"] == -90
    coupons = p["coupon_codes"]
    assert (coupons["type"], coupons["maxItems"], coupons["uniqueItems"]) == ("array", 5, True)
    assert coupons["items"]["maxLength"] == 32
    assert coupons["items"]["x-odcs"] == {"physicalType": "varchar(32)"}
    assert p["attributes"]["additionalProperties"] == {"type": "string", "maxLength": 100}
    assert p["embedding"]["items"] == {"type": "number"} and p["embedding"]["minItems"] == 3
    assert p["embedding"]["x-odcs"]["logicalType"] == "vector"
    assert schema["x-odcs"]["physicalName"] == "orders_v2"


def test_nested_arrays_of_objects() -> None:
    schema = _full()["line_items"].schema
    assert isinstance(schema, dict)
    discounts = schema["properties"]["discounts"]
    assert discounts["type"] == "array"
    assert discounts["items"]["properties"]["code"] == {"type": "string"}
    assert discounts["items"]["required"] == ["code"]


def test_semantics_from_property_fields() -> None:
    sem = _full()["orders"].semantics
    assert sem["order_id"].primary_key and sem["order_id"].unique
    assert sem["order_id"].description == "Order identifier."
    assert sem["order_id"].examples == ("3f0c9d7e-1b2a-4c3d-9e8f-0a1b2c3d4e5f",)
    assert sem["customer_email"].classification == "pii"
    assert sem["shipping_address.street"].classification == "pii"
    assert sem["total_amount"].classification == "confidential"
    assert sem["is_gift"].examples == (True, False)
    assert sem["shipping_address"].description == "Where the order ships to."


def test_quality_library_metrics_and_every_operator() -> None:
    checks = {q.name: q for q in _full()["orders"].quality}

    def said(name: str) -> tuple[Any, ...]:
        q = checks[name]
        assert q.threshold is not None
        return (q.type, q.field or q.fields, q.threshold.operator, q.threshold.value)

    assert said("order_id_not_null") == (QualityType.NULL_RATE, "order_id", "must_be", 0)
    assert said("order_id_unique") == (
        QualityType.DUPLICATE_RATE,
        "order_id",
        "must_not_be",
        0.01,
    )
    assert said("email_mostly_present") == (
        QualityType.NULL_RATE,
        "customer_email",
        "must_be_less_than",
        0.05,
    )
    assert checks["email_mostly_present"].severity.value == "warning"
    # invalid share <= 1% is an allowed share >= 99%
    assert said("known_countries") == (
        QualityType.ALLOWED_VALUES,
        "country",
        "must_be_greater_or_equal_to",
        0.99,
    )
    assert checks["known_countries"].values == ("DE", "FR", "NL")
    assert said("total_share_positive")[2:] == ("must_not_be_between", (0, 0.5))
    assert said("enough_orders") == (QualityType.ROW_COUNT, (), "must_be_greater_than", 100)
    assert said("at_most_many_orders")[2] == "must_be_greater_or_equal_to"
    assert said("orders_not_too_many")[2] == "must_be_less_than"
    assert said("daily_volume_in_range")[2:] == ("must_be_between", (10, 1000000))
    assert said("no_duplicate_order_lines") == (
        QualityType.DUPLICATE_RATE,
        ("order_id", "country"),
        "must_be",
        0,
    )
    assert all(q.enforced for q in checks.values() if q.type is not QualityType.CUSTOM)


def test_sql_and_custom_checks_are_kept_and_flagged_not_enforced() -> None:
    doc = odcs("full.odcs.yaml")
    result = import_odcs(doc)
    checks = {q.name: q for q in result.contracts[0].quality}
    sql = checks["totals_match_lines"]
    assert (sql.type, sql.engine, sql.enforced) == (QualityType.CUSTOM, "sql", False)
    assert sql.implementation.startswith("SELECT COUNT(*)")
    assert sql.threshold is not None and sql.threshold.operator == "must_be"
    ge = checks["ge_suite"]
    assert ge.engine == "great-expectations" and ge.implementation["kwargs"] == {"min_value": 1}
    text = checks["text"]
    assert text.engine == "odcs" and text.implementation["type"] == "text"
    flagged = {w.path for w in result.warnings if "not enforced" in w.message}
    assert flagged == {"/schema/0/quality/5", "/schema/0/quality/6", "/schema/0/quality/7"}


def test_sla_properties() -> None:
    contracts = _full()
    orders, lines = contracts["orders"].sla, contracts["line_items"].sla
    assert orders is not None and lines is not None
    assert orders.freshness is not None and orders.freshness.field == "created_at"
    assert orders.freshness.max_delay.total_seconds() == 4 * 3600
    assert lines.freshness is not None and lines.freshness.field == "updated_at"
    assert orders.volume is not None and orders.volume.window.days == 1
    assert orders.volume.min == 1  # delivered daily: at least a record a day
    assert lines.volume is None  # frequency named the orders object only
    assert orders.retention is not None and orders.retention.days == 3 * 365
    assert orders.availability == 0.999 and lines.availability == 0.999
    assert lines.max_breach_rate == 0.001 and orders.max_breach_rate is None
    kept = contracts["orders"].extensions["odcs"]["slaProperties"]
    assert kept[-1]["property"] == "generalAvailability"


def test_single_object_document() -> None:
    result = import_odcs(odcs("single.odcs.yaml"))
    [c] = result.contracts
    assert c.name == "payments" and c.status is Status.DRAFT  # "proposed"
    assert c.extensions["odcs"]["status"] == "proposed"
    assert c.owner.team == "Payments_Team"
    assert c.owner.contacts[0].name == "Clint Eastwood"
    assert c.owner.contacts[1].slack == "#payments"
    assert c.semantics["payment_id"].classification == "restricted"
    assert c.sla is not None and c.sla.freshness is not None
    assert c.sla.freshness.max_delay.total_seconds() == 15 * 60
    assert c.sla.retention is not None and c.sla.retention.days == 400
    assert [q.name for q in c.quality] == ["rowCount", "amount_nullValues"]


def test_warnings_list_everything_kept() -> None:
    warnings = import_odcs(odcs("full.odcs.yaml")).warnings
    assert all(isinstance(w, ConversionWarning) for w in warnings)
    text = {w.path: w.message for w in warnings}
    assert "servers" in text[""] and "price" in text[""] and "roles" in text[""]
    assert "physicalType" in text["/schema/0/properties/0"]
    assert "primaryKeyPosition" in text["/schema/0/properties/0"]
    assert "logicalTypeOptions.format" in text["/schema/0/properties/1"]
    assert "partitioned" in text["/schema/0/properties/1"]
    assert "relationships" in text["/schema/1/properties/0"]
    assert "businessName" in text["/schema/0"]
    assert "dimension" in text["/schema/0/properties/0/quality/1"]
    assert "schedule" in text["/schema/0/quality/1"]
    assert "driver" in text["/slaProperties/1"]
    assert "kept in extensions.odcs" in text["/slaProperties/6"]  # generalAvailability
    assert "dateIn" in text["/team"] and "scope" in text["/team"]
    assert "needs review" in text["/tags"]


# -- edits after a conversion win over what was kept ----------------------------------------


def test_an_accord_edit_wins_over_the_kept_odcs_item() -> None:
    [orders, _lines] = import_odcs(odcs("full.odcs.yaml")).contracts
    checks = list(orders.quality)
    i = next(j for j, q in enumerate(checks) if q.name == "order_id_not_null")
    assert checks[i].threshold is not None
    threshold = dataclasses.replace(checks[i].threshold, value=0.5)
    checks[i] = dataclasses.replace(checks[i], threshold=threshold)
    edited = dataclasses.replace(orders, quality=tuple(checks))
    result = export_odcs(edited)
    assert_valid_odcs(result.document)
    props = result.document["schema"][0]["properties"]
    items = {q["name"]: q for q in props[0]["quality"]}
    assert (
        items["order_id_not_null"]["mustBe"] == 50
        and items["order_id_not_null"]["unit"] == "percent"
    )
    assert any("changed since the ODCS import" in w.message for w in result.warnings)
    back = import_odcs(result.document).contracts[0]
    assert next(q for q in back.quality if q.name == "order_id_not_null").threshold == threshold


def test_an_odcs_edit_wins_over_the_kept_json_schema() -> None:
    doc = export_odcs(load_file(str(EXAMPLE_FILES[1]))).document
    shipped = next(p for p in doc["schema"][0]["properties"] if p["name"] == "shipped_at")
    shipped["logicalType"] = "string"  # was timestamp, kept type [string, null]
    result = import_odcs(doc)
    schema = result.contracts[0].schema
    assert isinstance(schema, dict)
    assert schema["properties"]["shipped_at"]["type"] == ["string", "null"]  # agrees: applied
    shipped["logicalType"] = "integer"
    result = import_odcs(doc)
    schema = result.contracts[0].schema
    assert isinstance(schema, dict)
    assert schema["properties"]["shipped_at"]["type"] == "integer"
    assert any("no longer agrees" in w.message for w in result.warnings)


# -- errors -----------------------------------------------------------------------------------


def test_invalid_odcs_is_refused_with_paths() -> None:
    doc = odcs("single.odcs.yaml")
    doc["schema"][0]["properties"][0]["logicalType"] = "text"
    del doc["id"]
    with pytest.raises(OdcsError) as info:
        import_odcs(doc)
    paths = {p.path for p in info.value.problems}
    assert "" in paths and any(p.startswith("/schema/0/properties/0") for p in paths)


def test_check_names_that_repeat_get_a_suffix_and_export_as_they_were() -> None:
    doc = odcs("minimal.odcs.yaml")
    doc["schema"][0]["quality"] = [
        {"name": "volume", "metric": "rowCount", "mustBeGreaterThan": 0},
        {"name": "volume", "metric": "rowCount", "mustBeLessThan": 1000, "severity": "warning"},
    ]
    doc["schema"][0]["properties"][0]["quality"] = [  # unnamed: named after the metric
        {"metric": "nullValues", "mustBe": 0},
        {"metric": "nullValues", "mustBeLessThan": 5, "unit": "percent", "severity": "warning"},
    ]
    imported = import_odcs(doc)
    [contract] = imported.contracts
    assert [(q.name, q.threshold and q.threshold.value) for q in contract.quality] == [
        ("volume", 0),
        ("volume_2", 1000),
        ("event_id_nullValues", 0),
        ("event_id_nullValues_2", 0.05),
    ]
    renamed = {w.path: w.message for w in imported.warnings if "already" in w.message}
    assert renamed == {
        "/schema/0/properties/0/quality/1": (
            "a check is named 'event_id_nullValues' already: 'event_id_nullValues_2'"
        ),
        "/schema/0/quality/1": "a check is named 'volume' already: 'volume_2'",
    }
    exported = export_odcs(imported.contracts).document
    assert exported["schema"][0]["quality"] == doc["schema"][0]["quality"]
    assert (
        exported["schema"][0]["properties"][0]["quality"]
        == doc["schema"][0]["properties"][0]["quality"]
    )
    assert import_odcs(exported).contracts == imported.contracts


def test_a_document_that_makes_an_invalid_contract_is_refused() -> None:
    doc = odcs("single.odcs.yaml")
    doc["schema"][0]["properties"][0]["logicalTypeOptions"] = {"pattern": "([unclosed"}
    with pytest.raises(OdcsError) as info:
        import_odcs(doc)
    [problem] = info.value.problems
    assert problem.path == "/schema/0" and "/schema/properties/payment_id" in problem.message


def test_no_schema_objects() -> None:
    with pytest.raises(OdcsError, match="no schema objects"):
        import_odcs({"apiVersion": "v3.2.0", "kind": "DataContract", "id": "x", "version": "1"})


def test_export_needs_a_contract() -> None:
    with pytest.raises(ValueError):
        export_odcs([])


# -- property-based ---------------------------------------------------------------------------

_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
_RATE = st.integers(0, 1000).map(lambda k: k / 1000)
_TEXT = st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), min_size=1, max_size=20)


@st.composite
def _leaf(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", "date-time", "date"]))
    node: dict[str, Any]
    if kind in ("date-time", "date"):
        node = {"type": "string", "format": kind}
    elif kind == "string":
        node = {"type": "string"}
        if draw(st.booleans()):
            node["maxLength"] = draw(st.integers(1, 100))
        if draw(st.booleans()):
            node["pattern"] = draw(st.sampled_from(["^[A-Z]{2}$", "^[a-z]+$", "^C[0-9]{8}$"]))
        if draw(st.booleans()):
            node["format"] = draw(st.sampled_from(["email", "uuid", "uri"]))
    elif kind in ("integer", "number"):
        node = {"type": kind}
        if draw(st.booleans()):
            node["minimum"] = draw(st.integers(-10, 10))
        if draw(st.booleans()):
            node[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = draw(st.integers(20, 99))
    else:
        node = {"type": "boolean"}
    if draw(st.booleans()) and kind == "string":
        node = {"enum": draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True))}
    if draw(st.integers(0, 4)) == 0:
        node["type"] = [node.get("type", "string"), "null"]
    if draw(st.integers(0, 3)) == 0:
        node["description"] = draw(_TEXT)
    return node


@st.composite
def _object(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    names = draw(st.lists(_NAMES, min_size=1, max_size=5, unique=True))
    props: dict[str, Any] = {}
    for name in names:
        choice = draw(st.integers(0, 9)) if depth < 2 else 0
        if choice == 8:
            props[name] = draw(_object(depth + 1))
        elif choice == 9:
            props[name] = {"type": "array", "items": draw(st.one_of(_leaf(), _object(depth + 1)))}
            if draw(st.booleans()):
                props[name]["maxItems"] = draw(st.integers(1, 9))
        else:
            props[name] = draw(_leaf())
    node: dict[str, Any] = {"type": "object", "properties": props}
    required = draw(st.lists(st.sampled_from(names), unique=True))
    if required:
        node["required"] = required
    if draw(st.booleans()):
        node["additionalProperties"] = False
    return node


def _top_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(schema["properties"].items())


@st.composite
def accord_contracts(draw: st.DrawFn) -> Contract:
    schema = draw(_object())
    fields = _top_fields(schema)
    names = [n for n, _ in fields]
    semantics: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(names), unique=True)):
        sem: dict[str, Any] = {}
        if draw(st.booleans()):
            sem["description"] = draw(_TEXT)
        if draw(st.booleans()):
            sem["unit"] = draw(st.sampled_from(["EUR", "ms", "pieces"]))
        if draw(st.booleans()):
            sem["classification"] = draw(st.sampled_from(["pii", "internal", "public"]))
        if draw(st.booleans()):
            sem["primary_key"] = True
        if draw(st.booleans()):
            sem["unique"] = True
        if draw(st.booleans()):
            sem["examples"] = draw(st.lists(_NAMES, min_size=1, max_size=2))
        if sem:
            semantics[name if draw(st.integers(0, 4)) else f"/{name}"] = sem
    ops = st.sampled_from(
        [
            "must_be",
            "must_not_be",
            "must_be_greater_than",
            "must_be_greater_or_equal_to",
            "must_be_less_than",
            "must_be_less_or_equal_to",
            "must_be_between",
            "must_not_be_between",
        ]
    )
    quality: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(
                ["null_rate", "duplicate_rate", "row_count", "allowed_values", "custom"]
            )
        )
        op = draw(ops)
        rate = (
            st.lists(_RATE, min_size=2, max_size=2, unique=True).map(sorted)
            if op.endswith("between")
            else _RATE
        )
        q: dict[str, Any] = {"name": f"check_{i}", "type": kind}
        if kind == "row_count":
            q[op] = (
                sorted(draw(st.lists(st.integers(0, 10**6), min_size=2, max_size=2, unique=True)))
                if op.endswith("between")
                else draw(st.integers(0, 10**6))
            )
        elif kind == "custom":
            q.update(engine="sql", implementation="SELECT COUNT(*) FROM t")
            if draw(st.booleans()):
                q[op] = draw(rate)
        else:
            q[op] = draw(rate)
            if kind == "duplicate_rate" and draw(st.booleans()):
                q["fields"] = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
            else:
                q["field"] = draw(st.sampled_from(names))
            if kind == "allowed_values":
                q["values"] = draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            q["severity"] = "warning"
        quality.append(q)
    sla: dict[str, Any] = {}
    times = [
        n
        for n, node in fields
        if node.get("format") == "date-time" and node.get("type") == "string"
    ]
    if times and draw(st.booleans()):
        sla["freshness"] = {
            "field": draw(st.sampled_from(times)),
            "max_delay": draw(st.sampled_from(["PT15M", "PT1H", "P1DT6H", "PT90S"])),
        }
    if draw(st.booleans()):
        sla["volume"] = {
            "window": draw(st.sampled_from(["PT1H", "P1D"])),
            "min": draw(st.integers(0, 10)),
        }
    if draw(st.booleans()):
        sla["retention"] = draw(st.sampled_from(["P30D", "P400D", "PT12H"]))
    if draw(st.booleans()):
        sla["availability"] = draw(st.integers(1, 1000).map(lambda k: k / 1000))
    if draw(st.booleans()):
        sla["max_breach_rate"] = draw(_RATE)
    contacts = draw(
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": _TEXT,
                    "email": _NAMES.map(lambda n: f"{n}@example.com"),
                    "slack": _NAMES.map(lambda n: f"#{n}"),
                    "role": st.sampled_from(["owner", "on-call"]),
                },
            ).filter(bool),
            max_size=3,
        )
    )
    doc: dict[str, Any] = {
        "name": draw(st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,6}){0,2}", fullmatch=True)),
        "owner": {
            "team": draw(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)),
            "contacts": contacts,
        },
        "status": draw(st.sampled_from([s.value for s in Status])),
        "tags": draw(st.lists(_NAMES, unique=True, max_size=3)),
        "schema": schema,
        "semantics": semantics,
        "quality": quality,
        "compatibility": draw(st.sampled_from(["BACKWARD", "FULL_TRANSITIVE", "NONE"])),
    }
    if not contacts:
        del doc["owner"]["contacts"]
    if sla:
        doc["sla"] = sla
    if draw(st.booleans()):
        doc["description"] = draw(_TEXT)
    return load_contract(SourceDocument(doc))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accord_contracts())
def test_any_contract_round_trips_through_odcs(contract: Contract) -> None:
    exported = export_odcs(contract)
    assert validate_odcs(exported.document) == []
    back = import_odcs(exported.document)
    assert [w for w in back.warnings if "not enforced by Accord" not in w.message] == []
    assert back.contracts == [contract]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(accord_contracts(), min_size=2, max_size=3, unique_by=lambda c: c.name))
def test_any_contracts_round_trip_as_one_document(contracts: list[Contract]) -> None:
    exported = export_odcs(contracts)
    assert validate_odcs(exported.document) == []
    assert import_odcs(exported.document).contracts == contracts


_LOGICAL = st.sampled_from(["string", "integer", "number", "boolean", "date", "timestamp"])


@st.composite
def _odcs_property(draw: st.DrawFn, name: str, depth: int = 0) -> dict[str, Any]:
    lt = (
        draw(st.sampled_from(["object", "array"]))
        if depth < 1 and draw(st.integers(0, 5)) == 0
        else draw(_LOGICAL)
    )
    p: dict[str, Any] = {"name": name, "logicalType": lt}
    if lt == "string" and draw(st.booleans()):
        p["logicalTypeOptions"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "maxLength": st.integers(1, 50),
                    "format": st.sampled_from(["email", "uuid"]),
                },
            )
        )
    if lt in ("integer", "number") and draw(st.booleans()):
        p["logicalTypeOptions"] = draw(
            st.fixed_dictionaries(
                {}, optional={"minimum": st.integers(-5, 5), "maximum": st.integers(10, 20)}
            )
        )
    if lt == "object":
        names = draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True))
        p["properties"] = [draw(_odcs_property(n, depth + 1)) for n in names]
    if lt == "array":
        p["items"] = {"logicalType": draw(_LOGICAL)}
    for key in ("required", "unique", "primaryKey"):
        if draw(st.integers(0, 3)) == 0:
            p[key] = True
    if draw(st.booleans()):
        p["description"] = draw(_TEXT)
    if draw(st.integers(0, 3)) == 0:
        p["classification"] = draw(st.sampled_from(["pii", "restricted", "public", "Gold"]))
    if draw(st.integers(0, 3)) == 0:
        p["physicalType"] = draw(st.sampled_from(["varchar(10)", "bigint", "jsonb"]))
    if lt not in ("object", "array") and draw(st.integers(0, 3)) == 0:
        # A name is scoped to its property in ODCS, and may repeat: nested properties of
        # one name, a warning and an error threshold of one metric.
        ops = st.sampled_from(["mustBe", "mustBeLessThan", "mustBeGreaterOrEqualTo"])
        p["quality"] = [
            {
                "name": f"{name}_nulls",
                "metric": "nullValues",
                "unit": "percent",
                draw(ops): draw(st.integers(0, 100)),
            }
            for _ in range(draw(st.integers(1, 2)))
        ]
    return p


@st.composite
def odcs_documents(draw: st.DrawFn) -> dict[str, Any]:
    objects = []
    for obj_name in draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True)):
        names = draw(st.lists(_NAMES, min_size=1, max_size=4, unique=True))
        obj: dict[str, Any] = {"name": obj_name, "logicalType": "object"}
        obj["properties"] = [draw(_odcs_property(n)) for n in names]
        if draw(st.booleans()):
            obj["description"] = draw(_TEXT)
        if draw(st.booleans()):
            obj["quality"] = [{"metric": "rowCount", "mustBeGreaterThan": draw(st.integers(0, 99))}]
        objects.append(obj)
    doc: dict[str, Any] = {
        "apiVersion": "v3.2.0",
        "kind": "DataContract",
        "id": draw(_NAMES),
        "version": draw(st.sampled_from(["1.0.0", "2.3.1"])),
        "status": draw(st.sampled_from(["active", "draft", "proposed", "Deprecated"])),
        "schema": objects,
    }
    if draw(st.booleans()):
        doc["team"] = {
            "name": draw(_NAMES),
            "members": [{"username": "a@example.com", "role": "owner"}],
        }
    if draw(st.booleans()):
        doc["tags"] = draw(st.lists(_NAMES, unique=True, max_size=3))
    if draw(st.booleans()):
        doc["slaProperties"] = [
            {"property": "retention", "value": draw(st.integers(1, 30)), "unit": "d"},
            {"property": "availability", "value": 99.5, "unit": "%"},
        ]
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odcs_documents())
def test_any_odcs_document_round_trips_through_accord(doc: dict[str, Any]) -> None:
    assert validate_odcs(doc) == []
    imported = import_odcs(doc)
    exported = export_odcs(imported.contracts)
    assert validate_odcs(exported.document) == []
    assert same_json(exported.document, normalized(doc))
