"""confluent-kafka's `SchemaRegistryClient` against a real registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka.schema_registry import (
    ConfigCompatibilityLevel,
    Metadata,
    MetadataProperties,
    RuleSet,
    SchemaRegistryClient,
    ServerConfig,
)
from confluent_kafka.schema_registry.error import SchemaRegistryError

from tests.confluent.conftest import json_schema, record

Names = Callable[[str], str]

ORDER = record("id", closed=True, id="string", amount="number")
WIDER = record("id", closed=True, id="string", amount="number", note="string")


def test_register_lookup_fetch(sr: SchemaRegistryClient, subject: Names, registry_url: str) -> None:
    name = subject("value")
    schema_id = sr.register_schema(name, json_schema(ORDER))
    assert sr.register_schema(name, json_schema(ORDER)) == schema_id
    sr.clear_caches()
    # Identical content registered again, by a fresh client: the same id.
    assert sr.register_schema(name, json_schema(ORDER)) == schema_id
    assert name in sr.get_subjects()
    assert sr.get_versions(name) == [1]
    found = sr.lookup_schema(name, json_schema(ORDER))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, name)
    fetched = sr.get_schema(schema_id)
    assert fetched.schema_type == "JSON" and json.loads(fetched.schema_str) == ORDER
    latest = sr.get_latest_version(name)
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert sr.get_version(name, 1).schema_id == schema_id
    assert sr.get_schema_types() == ["JSON"]
    assert sr.get_subjects_by_schema_id(schema_id) == [name]
    assert [(v.subject, v.version) for v in sr.get_schema_versions(schema_id)] == [(name, 1)]
    # The subject is a contract; the schema id is the version's global id.
    native = httpx.get(f"{registry_url}/contracts/{name}/versions/1").json()
    assert native["id"] == schema_id and native["contract"]["schema"] == ORDER
    with pytest.raises(SchemaRegistryError) as missing:
        sr.get_latest_version(subject("nothing"))
    assert (missing.value.http_status_code, missing.value.error_code) == (404, 40401)
    with pytest.raises(SchemaRegistryError) as no_id:
        sr.get_schema(10**9)
    assert no_id.value.error_code == 40403


@pytest.mark.parametrize(
    ("mode", "compatible"),
    [
        ("NONE", True),
        ("BACKWARD", False),
        ("FORWARD", True),
        ("FULL", False),
        ("BACKWARD_TRANSITIVE", False),
        ("FORWARD_TRANSITIVE", True),
        ("FULL_TRANSITIVE", False),
    ],
)
def test_compatibility_per_mode(
    sr: SchemaRegistryClient, subject: Names, mode: str, compatible: bool
) -> None:
    name = subject("value")
    assert sr.set_compatibility(name, mode) == {
        "compatibility": mode,
        "compatibilityPolicy": "STRICT",
    }
    assert sr.get_compatibility(name) == mode
    sr.register_schema(name, json_schema({"type": "string"}))
    shorter = json_schema({"type": "string", "maxLength": 5})
    assert sr.test_compatibility(name, shorter) is compatible
    assert sr.test_compatibility_all_versions(name, shorter) is compatible
    if compatible:
        assert sr.register_schema(name, shorter) > 0
        assert sr.get_versions(name) == [1, 2]
    else:
        with pytest.raises(SchemaRegistryError) as refused:
            sr.register_schema(name, shorter)
        assert (refused.value.http_status_code, refused.value.error_code) == (409, 40901)
        assert sr.get_versions(name) == [1]


def test_backward_allows_what_it_should(sr: SchemaRegistryClient, subject: Names) -> None:
    name = subject("value")
    first = sr.register_schema(name, json_schema(ORDER))
    assert sr.test_compatibility(name, json_schema(WIDER), version=1)
    second = sr.register_schema(name, json_schema(WIDER))
    assert second > first
    assert sr.get_latest_version(name).version == 2
    narrower = record("id", closed=True, id="integer", amount="number")
    assert not sr.test_compatibility(name, json_schema(narrower))


def test_config_per_subject_and_global(sr: SchemaRegistryClient, subject: Names) -> None:
    name = subject("value")
    sr.register_schema(name, json_schema({"type": "string"}))
    with pytest.raises(SchemaRegistryError) as unset:
        sr.get_compatibility(name)
    assert unset.value.error_code == 40408
    sr.set_config(name, ServerConfig(compatibility=ConfigCompatibilityLevel.FULL))
    assert sr.get_compatibility(name) == "FULL"
    assert sr.get_config(name).compatibility_level == "FULL"
    assert sr.delete_config(name).compatibility_level == "FULL"
    with pytest.raises(SchemaRegistryError):
        sr.get_compatibility(name)
    assert sr.get_compatibility() == "BACKWARD"
    try:
        sr.set_compatibility(level="NONE")
        assert sr.get_compatibility() == "NONE"
        # The subject follows the global config: anything goes now.
        sr.register_schema(name, json_schema({"type": "integer"}))
    finally:
        sr.set_compatibility(level="BACKWARD")
    assert sr.get_versions(name) == [1, 2]
    assert sr.update_mode(name, "READONLY") == "READONLY"
    assert sr.get_mode(name) == "READONLY"
    with pytest.raises(SchemaRegistryError) as readonly:
        sr.register_schema(name, json_schema({"type": "number"}))
    assert readonly.value.error_code == 42205
    assert sr.delete_mode(name) == "READONLY"
    assert sr.get_global_mode() == "READWRITE"


def test_delete_and_metadata_round_trip(sr: SchemaRegistryClient, subject: Names) -> None:
    name = subject("value")
    # (Not `tags`: the client cannot hash MetadataTags holding lists.)
    metadata = Metadata(
        tags=None, properties=MetadataProperties({"owner": "checkout"}), sensitive=["id"]
    )
    rules = RuleSet.from_dict(
        {
            "domainRules": [
                {
                    "name": "positive",
                    "kind": "CONDITION",
                    "mode": "WRITE",
                    "type": "CEL",
                    "expr": "message.amount > 0",
                }
            ]
        }
    )
    schema_id = sr.register_schema(name, json_schema(ORDER, metadata=metadata, rule_set=rules))
    fetched = sr.get_latest_version(name).schema
    assert fetched.metadata == metadata
    assert fetched.rule_set is not None and fetched.rule_set.domain_rules is not None
    assert fetched.rule_set.domain_rules[0].expr == "message.amount > 0"
    assert sr.get_latest_with_metadata(name, {"owner": "checkout"}).schema_id == schema_id
    second = sr.register_schema(name, json_schema(WIDER))
    assert sr.delete_version(name, 2) == 2
    assert sr.get_versions(name) == [1]
    assert sr.get_schema(second).schema_type == "JSON"  # ids stay readable
    assert sr.delete_subject(name) == [1]
    assert name not in sr.get_subjects()
    assert sr.delete_subject(name, permanent=True) == [1, 2]
    with pytest.raises(SchemaRegistryError):
        sr.get_versions(name, deleted=True)
