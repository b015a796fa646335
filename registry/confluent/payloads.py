"""Request bodies of the Schema Registry API: the schema, its metadata and rule set.

A JSON Schema arrives as a string. It is parsed and checked as the `schema` of a contract
would be; one without ``$schema`` that is only valid as draft-07 (Confluent's default
dialect, e.g. ``items`` as an array) gets ``"$schema": draft-07`` added, so that Accord's
validators read it as Confluent does. Parsed schemas compare as JSON values: whitespace and
key order never make two schemas different (``normalize`` is always on).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from contracts import Severity, check_document
from contracts.documents import SourceDocument
from registry import limits
from registry.cache import LruCache
from registry.confluent.errors import (
    SchemaRegistryError,
    invalid_ruleset,
    invalid_schema,
    not_permitted,
)

__all__ = [
    "DRAFT_07",
    "SCHEMA_TYPES",
    "SchemaRequest",
    "clean",
    "json_body",
    "parse_schema",
    "schema_request",
]

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SCHEMA_TYPES = ("JSON",)
RULE_LISTS = ("domainRules", "migrationRules", "encodingRules")

JsonSchema = Mapping[str, Any] | bool


@dataclass(frozen=True, slots=True)
class SchemaRequest:
    """A register, lookup or compatibility request, checked and normalised."""

    schema: JsonSchema
    metadata: dict[str, Any] | None  # None: not given (a register inherits the previous)
    rule_set: dict[str, Any] | None
    id: int | None = None
    version: int | None = None


def json_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400/422 in Confluent's format."""
    try:
        data = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        message = f"Unrecognized JSON in the request body: {exc}"
        raise SchemaRegistryError(400, 400, message) from None
    if not isinstance(data, dict):
        raise SchemaRegistryError(422, 422, "The request body must be a JSON object")
    # The schema is a string, checked on its own; metadata and ruleSet are stored as given
    # and must be as shallow as any document, or reading them back would fail.
    too_deep = limits.document_problems(data)
    if too_deep:
        where = too_deep[0].path or "/"
        raise SchemaRegistryError(422, 422, f"Invalid request body: {where}: {too_deep[0].message}")
    return data


def _problems(schema: Any) -> list[str]:
    doc = {"name": "subject", "owner": {"team": "unowned"}, "schema": schema}
    found = check_document(SourceDocument(doc))
    prefix = "not a valid JSON Schema: "
    return [
        f"{p.path.removeprefix('/schema') or '/'}: {p.message.removeprefix(prefix)}"
        for p in found
        if p.severity is Severity.ERROR
    ]


_parsed: LruCache[bytes, JsonSchema | str] = LruCache(1024)


def parse_schema(text: object) -> JsonSchema:
    """The JSON Schema in a request's `schema` string; 42201 when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise invalid_schema("Invalid schema: 'schema' must be a JSON Schema as a string")
    key = limits.current().key.encode() + hashlib.sha256(text.encode()).digest()
    found = _parsed.get(key)
    if found is None:
        found = _parse(text)
        _parsed.put(key, found)
    if isinstance(found, str):
        raise invalid_schema(found)
    return found


def _parse(text: str) -> JsonSchema | str:
    try:
        schema: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return f"Invalid schema: not JSON: {exc}"
    if not isinstance(schema, dict | bool):
        return "Invalid schema: a JSON Schema is an object or a boolean"
    limited = limits.document_problems(schema) or limits.schema_problems(schema, "")
    if limited:  # too deep, too many properties, a regular expression RE2 cannot run
        return f"Invalid schema: {limited[0].path or '/'}: {limited[0].message}"
    problems = _problems(schema)
    if problems and isinstance(schema, dict) and "$schema" not in schema:
        draft7 = {"$schema": DRAFT_07, **schema}
        if not _problems(draft7):
            return draft7
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"Invalid schema: {problems[0]}{more}"
    parsed: JsonSchema = schema
    return parsed


def clean(value: Any) -> Any:
    """`value` without empty members (``{}``, ``[]``, null): clients send them for "none"."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_schema("Invalid metadata: an object with tags, properties, sensitive")
    tags, properties = value.get("tags"), value.get("properties")
    sensitive = value.get("sensitive")
    ok = (
        (tags is None or (isinstance(tags, dict) and all(_strings(v) for v in tags.values())))
        and (
            properties is None
            or (
                isinstance(properties, dict)
                and all(isinstance(v, str) for v in properties.values())
            )
        )
        and (sensitive is None or _strings(sensitive))
    )
    if not ok:
        raise invalid_schema(
            "Invalid metadata: tags map paths to lists of strings, properties map names to "
            "strings, sensitive lists names"
        )
    cleaned: dict[str, Any] = clean(value)
    return cleaned  # {} when given empty: no metadata (None: not given, inherit)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _rule_set(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_ruleset("Invalid ruleSet: an object with domainRules, migrationRules")
    for key in RULE_LISTS:
        rules = value.get(key)
        if rules is None:
            continue
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise invalid_ruleset(f"Invalid ruleSet: {key} must be a list of rules")
        names: set[str] = set()
        for rule in rules:
            name = rule.get("name")
            if not isinstance(name, str) or not name:
                raise invalid_ruleset(f"Invalid ruleSet: every rule in {key} needs a name")
            if name in names:
                raise invalid_ruleset(f"Invalid ruleSet: duplicate rule name '{name}'")
            names.add(name)
    cleaned: dict[str, Any] = clean(value)
    return cleaned  # {} when given empty: no rules (None: not given, inherit)


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise not_permitted(f"'{key}' must be a positive integer")


def schema_request(body: bytes) -> SchemaRequest:
    """A register, lookup or compatibility body: {schema, schemaType, references, ...}."""
    data = json_body(body)
    schema_type = data.get("schemaType") or "AVRO"  # Confluent's default when absent
    if schema_type not in SCHEMA_TYPES:
        raise invalid_schema(
            f"Invalid schema: schemaType {schema_type} is not supported: Accord serves JSON "
            'Schema only (send "schemaType": "JSON")'
        )
    if data.get("references"):
        raise invalid_schema(
            "Invalid schema: schema references are not supported: a contract's schema is "
            "self-contained (put shared definitions under $defs)"
        )
    return SchemaRequest(
        schema=parse_schema(data.get("schema")),
        metadata=_metadata(data.get("metadata")),
        rule_set=_rule_set(data.get("ruleSet")),
        id=_optional_int(data, "id"),
        version=_optional_int(data, "version"),
    )
