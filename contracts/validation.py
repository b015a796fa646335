"""Every check a contract document must pass: the contract schema, then what it cannot say.

`check_document` never stops at the first problem: a reviewer fixes a file in one go. The
checks beyond the schema are written defensively, so they still run (and still report) on a
document that failed the schema somewhere else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import unquote

import jsonschema
import jsonschema_rs
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

import schemas
from contracts.documents import SourceDocument
from contracts.durations import DurationTooLong, parse_duration
from contracts.model import Contract, Severity
from contracts.paths import FieldPath, field_schemas, format_path, is_date_time, iter_fields
from contracts.paths import parse_path as parse_field_path
from contracts.problems import ContractError, Problem
from contracts.rules import RuleSyntaxError, compile_rule

__all__ = ["check_document", "load_contract", "record_validator_class", "schema_problems"]

_DIALECTS: dict[str, type[jsonschema.protocols.Validator]] = {
    "https://json-schema.org/draft/2020-12/schema": Draft202012Validator,
    "http://json-schema.org/draft-07/schema": Draft7Validator,
}


def _dialect_key(uri: str) -> str:
    return uri.rstrip("#")


def record_validator_class(
    schema: Mapping[str, Any] | bool,
) -> type[jsonschema.protocols.Validator]:
    """The validator for a record schema: 2020-12 unless ``$schema`` says draft-07."""
    if isinstance(schema, Mapping) and isinstance(schema.get("$schema"), str):
        uri = _dialect_key(schema["$schema"])
        if uri not in _DIALECTS:
            raise ValueError(f"unsupported $schema {schema['$schema']!r}")
        return _DIALECTS[uri]
    return Draft202012Validator


@cache
def _contract_validator() -> Draft202012Validator:
    return Draft202012Validator(
        schemas.load("contract"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_document(doc: SourceDocument) -> list[Problem]:
    """All problems of `doc`, each with its JSON pointer and, where known, its line."""
    problems = list(doc.problems)
    problems += _schema_problems(doc.data)
    if isinstance(doc.data, Mapping):
        problems += _record_schema_problems(doc.data)
        problems += _reference_problems(doc.data)
    located = [p.at_line(p.line or doc.line_of(p.path)) for p in problems]
    return sorted(located, key=lambda p: (p.line or 0, p.path))


def load_contract(doc: SourceDocument) -> Contract:
    """A typed contract from `doc`, or ContractError naming every error found."""
    problems = check_document(doc)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors:
        raise ContractError(doc.source, errors)
    return Contract.from_document(doc.data)


# -- the contract schema ------------------------------------------------------------------


def _schema_problems(data: Any) -> Iterator[Problem]:
    for error in _contract_validator().iter_errors(data):
        yield from _explain(error)


def _explain(error: ValidationError) -> Iterator[Problem]:
    path = _pointer(error.absolute_path)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    value: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(schema.get("properties", {}))
        for key in sorted(set(error.instance) - allowed):
            yield Problem(
                f"{path}/{key}",
                f"unknown key {key!r}{_hint(key, allowed)}",
                "unknown-key",
            )
        return
    if error.validator in ("oneOf", "anyOf") and error.context:
        if all(set(alt) == {"required"} for alt in value):
            names = [alt["required"][0] for alt in value]
            present = [
                n for n in names if isinstance(error.instance, Mapping) and n in error.instance
            ]
            verb = "takes only one of" if present else "needs one of"
            yield Problem(path, f"{verb}: {', '.join(names)}", "schema")
            return
        deepest = best_match(error.context)
        if deepest is not None:
            yield from _explain(deepest)
            return
    if error.validator == "enum" and isinstance(error.instance, str):
        choices = [str(c) for c in value]
        hint = _hint(error.instance, choices)
        message = f"{error.instance!r} is not one of {', '.join(choices)}{hint}"
        yield Problem(path, message, "schema")
        return
    if error.validator == "pattern" and "description" in schema:
        yield Problem(path, f"{error.instance!r} is invalid: {schema['description']}", "schema")
        return
    if error.validator == "propertyNames":
        yield Problem(path, f"{error.instance!r} is not a valid field path", "schema")
        return
    yield Problem(path, error.message, "schema")


# -- the embedded record schema -----------------------------------------------------------


def schema_problems(schema: Mapping[str, Any] | bool) -> list[Problem]:
    """What `check_document` finds wrong with a record schema standing alone (a bare JSON
    Schema file): not valid for its draft, a pattern that does not compile, a `$ref` that
    is remote or names nothing. Paths are JSON pointers into `schema`."""
    return [
        replace(problem, path=problem.path.removeprefix("/schema"))
        for problem in _record_schema_problems({"schema": schema})
    ]


def _record_schema_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    schema = data.get("schema")
    if not isinstance(schema, Mapping):
        return
    try:
        cls = record_validator_class(schema)
    except ValueError as exc:
        yield Problem("/schema/$schema", f"{exc}; use 2020-12 or draft-07", "invalid-schema")
        return
    meta = cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)
    # jsonschema walks the 2020-12 meta-schema's $dynamicRefs slowly (~0.3 s for 1,000
    # properties); the compiled validator answers "valid" in a millisecond, and only an
    # invalid schema pays for jsonschema's detailed errors.
    fast_ok = jsonschema_rs.meta.is_valid(dict(schema)) and _patterns_compile(schema)
    for error in () if fast_ok else meta.iter_errors(schema):
        # The deepest cause names the keyword at fault; the top error only says "not valid".
        cause = best_match([error]) if not error.context else best_match(error.context)
        target = cause if cause is not None else error
        yield Problem(
            "/schema" + _pointer(target.absolute_path),
            f"not a valid JSON Schema: {target.message}",
            "invalid-schema",
        )
    # A nested $id (but a draft-07 "#name" one) changes what a relative $ref means: such
    # schemas are left to validators.
    resolvable = not any(
        pointer != "/schema/$id" and not i.startswith("#") for pointer, i in _keyword(schema, "$id")
    )
    for pointer, ref in _keyword(schema, "$ref"):
        if not ref.startswith("#"):
            yield Problem(
                pointer,
                f"$ref {ref!r} is not local: contracts are self-contained, "
                "put shared definitions under $defs",
                "remote-ref",
            )
        elif resolvable and not _resolves(schema, ref):
            yield Problem(
                pointer,
                f"$ref {ref!r} points at nothing in this schema (no validator could be built)",
                "unresolved-ref",
            )


def _resolves(schema: Mapping[str, Any], ref: str) -> bool:
    """Whether the local `ref` ("#", "#/$defs/a", "#anchor") names a part of `schema`."""
    fragment = unquote(ref[1:])
    if not fragment:
        return True
    if not fragment.startswith("/"):
        # A plain name: an $anchor, a 2020-12 $dynamicAnchor, or a draft-07 "$id": "#name".
        anchors = {
            name
            for keyword in ("$anchor", "$dynamicAnchor")
            for _, name in _keyword(schema, keyword)
        }
        anchors.update(i[1:] for _, i in _keyword(schema, "$id") if i.startswith("#"))
        return fragment in anchors
    node: Any = schema
    for raw in fragment[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _patterns_compile(node: Any) -> bool:
    """Whether every `pattern` and `patternProperties` key is a valid regular expression."""
    if isinstance(node, Mapping):
        patterns = [node.get("pattern"), *(node.get("patternProperties") or ())]
        for pattern in patterns:
            if isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error:
                    return False
        return all(_patterns_compile(v) for v in node.values())
    if isinstance(node, list):
        return all(_patterns_compile(v) for v in node)
    return True


# Keywords whose values are data, not schemas: a "$ref" key inside them is just a key.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})
# Keywords whose values map names to schemas: a name there ("default") is no keyword.
_NAMED_SCHEMAS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def _keyword(
    node: Any, keyword: str, pointer: str = "/schema", *, names: bool = False
) -> Iterator[tuple[str, str]]:
    """Every text value of `keyword` in a schema, with its pointer. `names`: `node` maps
    names to schemas."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{pointer}/{key}"
            if names:
                yield from _keyword(value, keyword, here)
            elif key == keyword and isinstance(value, str):
                yield here, value
            elif key not in _DATA_KEYWORDS:
                yield from _keyword(value, keyword, here, names=key in _NAMED_SCHEMAS)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _keyword(item, keyword, f"{pointer}/{i}")


# -- fields named by semantics, quality, sla and rules ------------------------------------

_FIELD_PATH = re.compile(r"^(/[^/]+)+$|^[A-Za-z_$][A-Za-z0-9_$-]*(\.[A-Za-z_$][A-Za-z0-9_$-]*)*$")


class _Fields:
    """Field lookup in one record schema, with hints built lazily."""

    def __init__(self, schema: Mapping[str, Any] | bool) -> None:
        self.schema = schema
        self._known: list[str] | None = None

    def missing(self, path: FieldPath) -> str | None:
        if field_schemas(self.schema, path):
            return None
        if self._known is None:
            self._known = [format_path(p) for p in iter_fields(self.schema)]
        shown = format_path(path)
        return f"field {shown!r}, which the schema does not declare{_hint(shown, self._known)}"


def _reference_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    schema = data.get("schema")
    if not isinstance(schema, Mapping | bool):
        return
    fields = _Fields(schema)

    def check(pointer: str, text: Any) -> Iterator[Problem]:
        if isinstance(text, str) and _FIELD_PATH.match(text):
            message = fields.missing(parse_field_path(text))
            if message:
                yield Problem(pointer, f"names {message}", "unknown-field")

    semantics = data.get("semantics")
    if isinstance(semantics, Mapping):
        for key in semantics:
            yield from check(f"/semantics/{_escape(key)}", key)

    for i, q in enumerate(_list(data.get("quality"))):
        if isinstance(q, Mapping):
            yield from check(f"/quality/{i}/field", q.get("field"))
            for j, name in enumerate(_list(q.get("fields"))):
                yield from check(f"/quality/{i}/fields/{j}", name)
    yield from _duplicate_names(data, "quality")

    sla = data.get("sla")
    if isinstance(sla, Mapping):
        yield from _sla_problems(sla, schema, check)

    for i, rule in enumerate(_list(data.get("rules"))):
        if isinstance(rule, Mapping) and isinstance(rule.get("expression"), str):
            yield from _rule_problems(f"/rules/{i}/expression", rule["expression"], fields)
    yield from _duplicate_names(data, "rules")


def _sla_problems(
    sla: Mapping[str, Any], schema: Mapping[str, Any] | bool, check: Any
) -> Iterator[Problem]:
    fresh = sla.get("freshness")
    if isinstance(fresh, Mapping) and isinstance(fresh.get("field"), str):
        found = list(check("/sla/freshness/field", fresh["field"]))
        yield from found
        if not found and not is_date_time(schema, parse_field_path(fresh["field"])):
            yield Problem(
                "/sla/freshness/field",
                f"freshness field {fresh['field']!r} must be a string with format date-time",
                "freshness-field",
            )
    volume = sla.get("volume")
    if isinstance(volume, Mapping):
        low, high = volume.get("min"), volume.get("max")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            yield Problem("/sla/volume", f"min ({low}) is greater than max ({high})", "schema")
    durations = [
        (
            "/sla/freshness/max_delay",
            fresh.get("max_delay") if isinstance(fresh, Mapping) else None,
        ),
        ("/sla/volume/window", volume.get("window") if isinstance(volume, Mapping) else None),
        ("/sla/retention", sla.get("retention")),
    ]
    for pointer, text in durations:
        if isinstance(text, str):
            yield from _duration_problems(pointer, text)


# SLA evaluation computes "now - duration": a century keeps that far inside datetime's range.
MAX_SLA_DURATION = timedelta(days=36525)


def _duration_problems(pointer: str, text: str) -> Iterator[Problem]:
    try:
        duration = parse_duration(text)
    except DurationTooLong:
        duration = timedelta.max
    except ValueError:
        return  # not a duration at all: the schema's pattern says so
    if duration <= timedelta(0):
        yield Problem(pointer, f"{text!r} is no time at all: it must be longer than 0", "sla")
    elif duration > MAX_SLA_DURATION:
        yield Problem(pointer, f"{text!r} is longer than the most allowed, 100 years", "sla")


def _rule_problems(pointer: str, expression: str, fields: _Fields) -> Iterator[Problem]:
    try:
        compiled = compile_rule(expression)
    except RuleSyntaxError as exc:
        yield Problem(pointer, str(exc), "rule-syntax")
        return
    for path in sorted(compiled.fields):
        message = fields.missing(path)
        if message:
            yield Problem(pointer, f"rule reads {message}", "unknown-field")


def _duplicate_names(data: Mapping[str, Any], key: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, item in enumerate(_list(data.get(key))):
        name = item.get("name") if isinstance(item, Mapping) else None
        if isinstance(name, str):
            if name in seen:
                yield Problem(f"/{key}/{i}/name", f"duplicate name {name!r}", "duplicate-name")
            seen.add(name)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
