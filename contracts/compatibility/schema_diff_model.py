"""Normalisation of JSON Schema documents into the small model that the schema diff compares.

Confluent's diff does not work on raw JSON: it first parses a schema into typed objects (a
``StringSchema``, an ``ObjectSchema``, a ``CombinedSchema``...). Its verdicts depend on that
classification, e.g. ``{"properties": {}}`` is an object schema although it has no ``type``, and
``{"type": "string", "enum": ["a"]}`` is an ``allOf`` of a string schema and an enum schema. This
module reproduces that classification for drafts 4 to 7, 2019-09 and 2020-12:

* a dict becomes one *part* per group of keywords it uses (``$ref``, ``enum``, each of
  ``allOf``/``anyOf``/``oneOf``, ``not``, ``const``, ``type``, the keywords of each JSON type not
  claimed by ``type``, ``if``). No part makes an :class:`EmptyNode`, one part is the node itself,
  several parts make a synthetic ``allOf``;
* ``"type": [...]`` becomes an ``anyOf`` of one node per type;
* ``$ref`` is kept as a :class:`RefNode` resolved lazily (so recursive schemas stay finite) against
  the document, its ``$defs``/``definitions``, embedded ``$id`` resources and anchors.

Loading is lazy where schemas are wide: an object's ``properties`` is a :class:`NodeMap` that
classifies each property's schema on first access (unless where a schema is reached from may
matter, see ``_Loader._scopes_matter``), and the document is only searched for ``$id`` resources
and anchors when a reference needs one. A diff that skips equal subtrees thus never loads them.

Nodes compare by identity (``eq=False``), which the diff uses for memoisation and cycle detection.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from typing import Any, Final
from urllib.parse import unquote, urldefrag, urljoin

import re2

__all__ = [
    "ArrayNode",
    "BooleanNode",
    "CombinedNode",
    "ConditionalNode",
    "ConstNode",
    "Criterion",
    "Document",
    "EmptyNode",
    "EnumNode",
    "FalseNode",
    "Meta",
    "Node",
    "NodeMap",
    "NotNode",
    "NullNode",
    "NumberNode",
    "ObjectNode",
    "RefNode",
    "StringNode",
    "UnresolvedNode",
    "canonical_json",
    "deref",
    "json_text",
    "load_schema",
    "pattern_matches",
]

Number = int | float
_Child = Callable[[Any], "Node"]


def canonical_json(value: Any) -> str:
    """A stable text form of a JSON value: equal JSON values give equal strings.

    Unlike ``==`` it keeps ``true`` apart from ``1``; like JSON Schema it equates ``1`` and ``1.0``.
    """
    return json.dumps(
        _integral(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr
    )


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_integral(v) for v in value]
    return value


class Criterion(enum.StrEnum):
    """How the subschemas of a combined schema combine (the value is the keyword)."""

    ALL = "allOf"
    ANY = "anyOf"
    ONE = "oneOf"


@dataclass(frozen=True, slots=True)
class Meta:
    """Annotations Confluent compares on every schema."""

    id: str | None = None
    title: str | None = None
    description: str | None = None
    default: str | None = None
    """Canonical JSON of ``default``, ``None`` when the schema has no default."""


NO_META: Final = Meta()


class Document:
    """One loaded schema document, as a whole: what decides how each of its schemas is read."""

    def __init__(self, root: Any, dialect: _Dialect) -> None:
        self.root = root
        self.dialect = dialect
        self._mentions: dict[str, bool] = {}

    @cached_property
    def text(self) -> str | None:
        """The document as JSON text (computed once); ``None`` when it is not plain JSON data."""
        return json_text(self.root)

    def mentions(self, token: str) -> bool:
        """Whether ``token`` occurs in the document's JSON text (``True`` if it has none)."""
        found = self._mentions.get(token)
        if found is None:
            text = self.text
            found = self._mentions[token] = text is None or token in text
        return found


def json_text(value: Any) -> str | None:
    """``value`` as JSON text, keys in their order; ``None`` when it is not plain JSON data.

    Unlike ``==`` the text tells ``true`` from ``1``, so equal texts mean equal JSON values.
    """
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError):  # not JSON data, or a circular structure
        return None


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON data: {type(value).__name__}")


# Separators fixed, as text is searched for e.g. '"$id": "'. Without the check for circular
# structures (a bit faster): they fail on recursion depth instead.
_ENCODER: Final = json.JSONEncoder(check_circular=False, separators=(", ", ": "), default=_as_dict)


@dataclass(eq=False, slots=True)
class Node:
    """One classified schema, built from the JSON value ``source``."""

    source: Any = field(repr=False)
    tag: str = field(default="", kw_only=True)
    """Tells apart the nodes that one dict splits into (its ``type`` part, its ``enum`` part...)."""
    meta: Meta = field(default=NO_META, kw_only=True)
    document: Document | None = field(default=None, kw_only=True, repr=False)
    """The document the schema was loaded from (set on whole schemas, not on their parts)."""
    inferred: bool = field(default=False, kw_only=True)
    """The JSON type was inferred from keywords, not declared: other types pass too."""
    _key: str | None = field(default=None, init=False, repr=False)

    @property
    def key(self) -> str:
        """Equal for equal schemas: collapses repeated subschemas of a combined schema."""
        if self._key is None:  # computed on demand: serialising every subtree is costly
            self._key = self.tag + canonical_json(self.source)
        return self._key


@dataclass(eq=False, slots=True)
class EmptyNode(Node):
    """``true``, ``{}`` or a schema with annotations only: accepts everything."""


@dataclass(eq=False, slots=True)
class FalseNode(Node):
    """``false``: accepts nothing."""


@dataclass(eq=False, slots=True)
class BooleanNode(Node):
    """``"type": "boolean"``."""


@dataclass(eq=False, slots=True)
class NullNode(Node):
    """``"type": "null"``."""


@dataclass(eq=False, slots=True)
class ConditionalNode(Node):
    """``if``/``then``/``else``: which of `then` and `else` applies depends on `condition`."""

    condition: Node = field(default_factory=lambda: EmptyNode(True))
    then: Node | None = None
    otherwise: Node | None = None


@dataclass(eq=False, slots=True)
class StringNode(Node):
    min_length: Number | None = None
    max_length: Number | None = None
    pattern: str | None = None
    format: str | None = None  # asserted by Accord's validators, so a change matters


@dataclass(eq=False, slots=True)
class NumberNode(Node):
    integer: bool = False
    minimum: Number | None = None
    maximum: Number | None = None
    exclusive_minimum: Number | None = None
    exclusive_maximum: Number | None = None
    multiple_of: Number | None = None
    minimum_excluded: bool = False
    """Draft 4 ``"exclusiveMinimum": true``: ``minimum`` itself is not allowed."""
    maximum_excluded: bool = False
    """Draft 4 ``"exclusiveMaximum": true``: ``maximum`` itself is not allowed."""


@dataclass(eq=False, slots=True)
class EnumNode(Node):
    values: frozenset[str] = frozenset()
    """Canonical JSON of each allowed value."""


@dataclass(eq=False, slots=True)
class ConstNode(Node):
    value: str = ""
    """Canonical JSON of the allowed value."""


@dataclass(eq=False, slots=True)
class CombinedNode(Node):
    criterion: Criterion = Criterion.ALL
    subschemas: tuple[Node, ...] = ()


@dataclass(eq=False, slots=True)
class NotNode(Node):
    negated: Node = field(default_factory=lambda: EmptyNode(True))


class NodeMap(Mapping[str, Node]):
    """Schemas by name (an object's ``properties``), each classified on first access."""

    __slots__ = ("_load", "_nodes", "_raw", "_value")

    def __init__(self, value: Any = None, load: _Child | None = None) -> None:
        self._value: Mapping[str, Any] = value if isinstance(value, Mapping) else {}
        self._load = load
        self._nodes: dict[str, Node] = {}
        self._raw: Mapping[str, Any] | None = None

    @property
    def raw(self) -> Mapping[str, Any]:
        """The JSON value of each schema, by name, in document order (nothing is loaded)."""
        if self._raw is None:
            value = self._value
            if all(map(isinstance, value.values(), repeat((dict, bool)))):  # usually: no copy
                self._raw = value
            else:  # values that are not schemas are ignored
                self._raw = {k: v for k, v in value.items() if isinstance(v, Mapping | bool)}
        return self._raw

    def __getitem__(self, name: str) -> Node:
        node = self._nodes.get(name)
        if node is None:
            raw = self.raw[name]
            assert self._load is not None
            node = self._nodes[name] = self._load(raw)
        return node

    def load_all(self) -> None:
        for name in self.raw:
            self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def __contains__(self, name: object) -> bool:
        return name in self.raw

    def __repr__(self) -> str:
        return f"NodeMap({list(self.raw)!r})"


@dataclass(eq=False, slots=True)
class ObjectNode(Node):
    properties: NodeMap = field(default_factory=NodeMap)
    required: frozenset[str] = frozenset()
    pattern_properties: tuple[tuple[str, Node], ...] = ()
    property_names: Node | None = None  # the schema every property name must meet
    additional_allowed: bool = True
    additional_schema: Node | None = None
    """The schema of ``additionalProperties`` when it is one (``true`` and absent give ``None``)."""
    unevaluated: Node | None = None
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)
    schema_dependencies: dict[str, Node] = field(default_factory=dict)
    min_properties: Number | None = None
    max_properties: Number | None = None


@dataclass(eq=False, slots=True)
class ArrayNode(Node):
    all_items: Node | None = None
    """The one schema for every item (``items`` as a schema)."""
    tuple_items: tuple[Node, ...] = ()
    """Positional item schemas (``prefixItems``, or ``items`` as an array before 2020-12)."""
    additional_allowed: bool = True
    additional_schema: Node | None = None
    """Items after ``tuple_items`` (``additionalItems``, or ``items`` beside ``prefixItems``)."""
    unevaluated: Node | None = None
    contains: Node | None = None
    min_items: Number | None = None
    max_items: Number | None = None
    unique_items: bool = False
    min_contains: Number | None = None
    max_contains: Number | None = None


@dataclass(eq=False, slots=True)
class UnresolvedNode(Node):
    """A ``$ref`` that does not resolve inside the document (e.g. to another subject)."""

    ref: str = ""


@dataclass(eq=False, slots=True)
class RefNode(Node):
    """A ``$ref``; :func:`deref` replaces it by its target."""

    ref: str = ""
    loader: _Loader | None = field(default=None, repr=False)
    base: str = ""
    resource: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _target: Node | None = field(default=None, init=False, repr=False)

    def target(self) -> Node:
        if self._target is None:
            assert self.loader is not None
            self._target = self.loader.resolve(self.ref, self.base, self.resource)
        return self._target


def deref(node: Node) -> Node:
    """Follow ``$ref`` chains to the schema they name."""
    seen: set[int] = set()
    while isinstance(node, RefNode):
        if id(node) in seen:  # a chain of references that only refer to each other
            return UnresolvedNode(node.source, ref=node.ref)
        seen.add(id(node))
        node = node.target()
    return node


@dataclass(frozen=True, slots=True)
class _Dialect:
    """What the schema's ``$schema`` changes in how Confluent reads it."""

    prefix_items: bool
    """2020-12: ``prefixItems`` is the tuple and ``items`` the schema of the rest."""
    ref_overrides_siblings: bool
    """Before 2019-09 a ``$ref`` makes every sibling keyword ignored."""
    id_keyword: str | None
    """The keyword compared for ``ID_CHANGED`` (Confluent's 2019+ parser drops ``$id``)."""
    empty_properties_is_empty: bool
    """Confluent's 2019+ parser does not make ``"properties": {}`` alone an object schema."""


_DRAFT4 = _Dialect(False, True, "id", False)
_DRAFT7 = _Dialect(False, True, "$id", False)
_DRAFT2019 = _Dialect(False, False, None, True)
_DRAFT2020 = _Dialect(True, False, None, True)


def _dialect_of(schema: Any) -> _Dialect:
    uri = schema.get("$schema") if isinstance(schema, Mapping) else None
    if not isinstance(uri, str):
        return _DRAFT7  # Confluent's default
    if "2020-12" in uri:
        return _DRAFT2020
    if "2019-09" in uri:
        return _DRAFT2019
    if "draft-04" in uri or "draft-03" in uri:
        return _DRAFT4
    return _DRAFT7


_OBJECT_KEYWORDS: Final = frozenset(
    {
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "minProperties",
        "maxProperties",
        "dependencies",
        "propertyNames",
        "unevaluatedProperties",
        "dependentRequired",
        "dependentSchemas",
    }
)
_ARRAY_KEYWORDS: Final = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "unevaluatedItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
    }
)
_NUMBER_KEYWORDS: Final = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
_STRING_KEYWORDS: Final = frozenset({"minLength", "maxLength", "pattern", "format"})

# Keywords whose value is one subschema, a list of them, or a map of names to them.
_SCHEMA_VALUED: Final = (
    "additionalItems",
    "additionalProperties",
    "contains",
    "else",
    "if",
    "items",
    "not",
    "propertyNames",
    "then",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_SCHEMA_LIST_VALUED: Final = ("allOf", "anyOf", "oneOf", "items", "prefixItems")
_SCHEMA_MAP_VALUED: Final = (
    "$defs",
    "definitions",
    "dependencies",
    "dependentSchemas",
    "patternProperties",
    "properties",
)


def _number(value: Any) -> Number | None:
    # bool is an int in Python but never a number in JSON.
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _subschemas(schema: Mapping[str, Any]) -> Iterator[Any]:
    """Every direct subschema of ``schema``, wherever a keyword holds one."""
    for keyword in _SCHEMA_VALUED:
        value = schema.get(keyword)
        if isinstance(value, Mapping | bool):
            yield value
    for keyword in _SCHEMA_LIST_VALUED:
        value = schema.get(keyword)
        if isinstance(value, list):
            yield from value
    for keyword in _SCHEMA_MAP_VALUED:
        value = schema.get(keyword)
        if isinstance(value, Mapping):
            yield from (v for v in value.values() if isinstance(v, Mapping | bool))


def _pointer(document: Any, pointer: str) -> Any:
    """Resolve a JSON pointer (already without its ``#``); ``None`` when it leads nowhere."""
    node = document
    for raw in pointer.split("/")[1:]:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif (
            isinstance(node, list)
            and (token.isascii() and token.isdigit())
            and int(token) < len(node)
        ):
            node = node[int(token)]
        else:
            return None
    return node


class _Loader:
    """Classifies the schemas of one document and resolves its references."""

    def __init__(self, root: Mapping[str, Any] | bool) -> None:
        self.dialect = _dialect_of(root)
        self.document = Document(root, self.dialect)
        self._nodes: dict[int, Node] = {}
        self._resources: dict[str, Mapping[str, Any]] = {}
        self._anchors: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._unindexed = root if isinstance(root, Mapping) else None
        self._eager = self._scopes_matter(root)

    def _scopes_matter(self, root: Mapping[str, Any] | bool) -> bool:
        """Whether a schema's node may depend on how it is reached, so loading must be eager.

        A reference inside a schema resolves against the schema's resource, which is set by the
        ``$id`` of the schema or of the schemas it is reached through; a ``$ref`` may reach a
        schema through another path than its parents do. When the document has both references
        and ``$id`` below the root, every schema is loaded up front through its parents, so that
        a reference finds it scoped as they have it.
        """
        if not isinstance(root, Mapping) or not self.document.mentions('"$ref"'):
            return False
        text = self.document.text
        if text is None:  # not plain JSON data: be safe
            return True
        keyword = self.dialect.id_keyword or "$id"
        below_root = text.count(f'"{keyword}": "') - (
            1 if isinstance(root.get(keyword), str) else 0
        )
        return below_root > 0

    # -- scoping and references ------------------------------------------------------------

    def _scope(
        self, schema: Mapping[str, Any], base: str, resource: Mapping[str, Any]
    ) -> tuple[str, Mapping[str, Any]]:
        """The base URI and resource document that apply inside ``schema``."""
        keyword = self.dialect.id_keyword or "$id"
        ident = schema.get(keyword)
        if isinstance(ident, str) and ident and not ident.startswith("#"):
            return urldefrag(urljoin(base, ident))[0], schema
        return base, resource

    def _index_once(self) -> None:
        """Find the document's embedded resources and anchors, when a reference first needs one."""
        root, self._unindexed = self._unindexed, None
        if root is not None:
            self._resources[""] = root
            self._index(root, "", root)

    def _index(self, schema: Mapping[str, Any], base: str, resource: Mapping[str, Any]) -> None:
        """Record the embedded resources and anchors that references may name."""
        base, resource = self._scope(schema, base, resource)
        if resource is schema and base:
            self._resources.setdefault(base, schema)
        ident = schema.get(self.dialect.id_keyword or "$id")
        if isinstance(ident, str) and ident.startswith("#") and len(ident) > 1:
            self._anchors.setdefault((base, ident[1:]), schema)  # draft 6/7 plain-name id
        anchor = schema.get("$anchor")
        if isinstance(anchor, str):
            self._anchors.setdefault((base, anchor), schema)
        for child in _subschemas(schema):
            if isinstance(child, Mapping):
                self._index(child, base, resource)

    def resolve(self, ref: str, base: str, resource: Mapping[str, Any]) -> Node:
        if ref.startswith("#"):
            uri, fragment, document = base, ref[1:], resource
        else:
            uri, fragment = urldefrag(urljoin(base, ref))
            self._index_once()
            found = self._resources.get(uri)
            if found is None:
                return UnresolvedNode({"$ref": ref}, ref=ref)
            document = found
        if not fragment:
            target: Any = document
        elif fragment.startswith("/"):
            target = _pointer(document, fragment)
        else:
            self._index_once()
            target = self._anchors.get((uri, fragment))
        if not isinstance(target, Mapping | bool):
            return UnresolvedNode({"$ref": ref}, ref=ref)
        return self.load(target, uri, document)

    # -- classification --------------------------------------------------------------------

    def load(self, schema: Any, base: str, resource: Mapping[str, Any]) -> Node:
        if schema is True:
            return EmptyNode(True)
        if schema is False:
            return FalseNode(False)
        if not isinstance(schema, Mapping):
            raise TypeError(f"a JSON Schema must be an object or a boolean, not {schema!r}")
        node = self._nodes.get(id(schema))
        if node is None:
            node = self._classify(schema, *self._scope(schema, base, resource))
            node.document = self.document
            self._nodes[id(schema)] = node
        return node

    def _meta(self, schema: Mapping[str, Any]) -> Meta:
        def text(keyword: str | None) -> str | None:
            value = schema.get(keyword) if keyword else None
            return value if isinstance(value, str) else None

        default = canonical_json(schema["default"]) if "default" in schema else None
        return Meta(text(self.dialect.id_keyword), text("title"), text("description"), default)

    def _classify(self, schema: Mapping[str, Any], base: str, resource: Mapping[str, Any]) -> Node:
        parts = self._parts(schema, base, resource)
        node: Node
        if not parts:
            node = EmptyNode(schema)
        elif len(parts) == 1:
            node = parts[0]
            node.tag = ""  # the part is the whole schema
        else:
            node = CombinedNode(schema, criterion=Criterion.ALL, subschemas=tuple(parts))
        node.meta = self._meta(schema)
        return node

    def _parts(
        self, schema: Mapping[str, Any], base: str, resource: Mapping[str, Any]
    ) -> list[Node]:
        """One node per keyword group, in the order Confluent's parser extracts them."""
        parts: list[Node] = []

        def child(value: Any) -> Node:
            return self.load(value, base, resource)

        ref = schema.get("$ref")
        if isinstance(ref, str):
            parts.append(
                RefNode(schema, tag="$ref:", ref=ref, loader=self, base=base, resource=resource)
            )
            if self.dialect.ref_overrides_siblings:
                return parts
        if isinstance(schema.get("enum"), list):
            values = frozenset(canonical_json(v) for v in schema["enum"])
            parts.append(EnumNode(schema, tag="enum:", values=values))
        for criterion in Criterion:
            subschemas = schema.get(criterion.value)
            if isinstance(subschemas, list):
                subs = tuple(child(s) for s in subschemas)
                parts.append(
                    CombinedNode(schema, tag=f"{criterion}:", criterion=criterion, subschemas=subs)
                )
        if "not" in schema:
            parts.append(NotNode(schema, tag="not:", negated=child(schema["not"])))
        if "const" in schema:
            parts.append(ConstNode(schema, tag="const:", value=canonical_json(schema["const"])))

        claimed: set[str] = set()
        declared = schema.get("type")
        names = [declared] if isinstance(declared, str) else declared
        if isinstance(names, list):
            known = [n for n in names if isinstance(n, str) and n in _TYPE_GROUPS]
            typed = [self._typed(name, schema, f"{name}:", child) for name in known]
            claimed.update(_TYPE_GROUPS[name] for name in known)
            if isinstance(declared, str):
                parts.extend(typed)
            else:  # even a one-element list is a union for Confluent
                parts.append(
                    CombinedNode(
                        schema, tag="type:", criterion=Criterion.ANY, subschemas=tuple(typed)
                    )
                )
        for group in ("object", "array", "number", "string"):
            if group not in claimed and self._sniff(group, schema):
                sniffed = self._typed(group, schema, f"{group}?:", child)
                sniffed.inferred = True
                parts.append(sniffed)

        if "if" in schema:
            parts.append(
                ConditionalNode(
                    schema,
                    tag="if:",
                    condition=child(schema["if"]),
                    then=child(schema["then"]) if "then" in schema else None,
                    otherwise=child(schema["else"]) if "else" in schema else None,
                )
            )
        return parts

    def _sniff(self, group: str, schema: Mapping[str, Any]) -> bool:
        """Does ``schema`` use a keyword of the JSON type ``group`` without declaring the type?"""
        keywords = _SNIFFED[group]
        if group == "object" and self.dialect.empty_properties_is_empty:
            return any(
                k in schema and not (k == "properties" and schema[k] == {}) for k in keywords
            )
        return not keywords.isdisjoint(schema)

    def _typed(self, name: str, schema: Mapping[str, Any], tag: str, child: _Child) -> Node:
        """The node for JSON type ``name`` built from the keywords of that type in ``schema``."""
        if name == "string":
            return StringNode(
                schema,
                tag=tag,
                min_length=_number(schema.get("minLength")),
                max_length=_number(schema.get("maxLength")),
                pattern=schema["pattern"] if isinstance(schema.get("pattern"), str) else None,
                format=schema["format"] if isinstance(schema.get("format"), str) else None,
            )
        if name in ("number", "integer"):
            return _number_node(schema, tag, integer=name == "integer")
        if name == "object":
            return self._object(schema, tag, child)
        if name == "array":
            return self._array(schema, tag, child)
        if name == "boolean":
            return BooleanNode(schema, tag=tag)
        return NullNode(schema, tag=tag)

    def _object(self, schema: Mapping[str, Any], tag: str, child: _Child) -> ObjectNode:
        def schema_map(keyword: str) -> dict[str, Node]:
            value = schema.get(keyword)
            if not isinstance(value, Mapping):
                return {}
            return {k: child(v) for k, v in value.items() if isinstance(v, Mapping | bool)}

        additional = schema.get("additionalProperties", True)
        required = schema.get("required")
        property_dependencies: dict[str, frozenset[str]] = {}
        schema_dependencies: dict[str, Node] = {}
        for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
            value = schema.get(keyword)
            if not isinstance(value, Mapping):
                continue
            for name, dependency in value.items():
                if isinstance(dependency, list):
                    names = frozenset(d for d in dependency if isinstance(d, str))
                    property_dependencies[name] = names
                elif isinstance(dependency, Mapping | bool):
                    schema_dependencies[name] = child(dependency)
        unevaluated = schema.get("unevaluatedProperties")
        return ObjectNode(
            schema,
            tag=tag,
            properties=self._properties(schema, child),
            required=frozenset(r for r in required if isinstance(r, str))
            if isinstance(required, list)
            else frozenset(),
            pattern_properties=tuple(schema_map("patternProperties").items()),
            property_names=(
                child(schema["propertyNames"])
                if isinstance(schema.get("propertyNames"), Mapping | bool)
                else None
            ),
            additional_allowed=additional is not False,
            additional_schema=child(additional) if isinstance(additional, Mapping) else None,
            unevaluated=child(unevaluated) if isinstance(unevaluated, Mapping | bool) else None,
            property_dependencies=property_dependencies,
            schema_dependencies=schema_dependencies,
            min_properties=_number(schema.get("minProperties")),
            max_properties=_number(schema.get("maxProperties")),
        )

    def _properties(self, schema: Mapping[str, Any], child: _Child) -> NodeMap:
        """An object's properties, loaded as the diff reads them (objects may be wide)."""
        properties = NodeMap(schema.get("properties"), child)
        if self._eager:
            properties.load_all()
        return properties

    def _array(self, schema: Mapping[str, Any], tag: str, child: _Child) -> ArrayNode:
        items = schema.get("items")
        if self.dialect.prefix_items:
            prefix = schema.get("prefixItems")
            tuple_schemas = prefix if isinstance(prefix, list) else []
            # With prefixItems, or as a boolean, items only constrains the items after the tuple.
            rest_is_items = isinstance(prefix, list) or isinstance(items, bool)
            all_items = None if rest_is_items or items is None else items
            additional = items if rest_is_items and items is not None else True
        else:
            tuple_schemas = items if isinstance(items, list) else []
            all_items = items if isinstance(items, Mapping | bool) else None
            additional = schema.get("additionalItems", True)
        contains = schema.get("contains")
        unevaluated = schema.get("unevaluatedItems")
        min_contains = _number(schema.get("minContains"))
        if min_contains is None and contains is not None:
            min_contains = 1  # the default, so that omitting it and writing 1 compare equal
        return ArrayNode(
            schema,
            tag=tag,
            all_items=child(all_items) if all_items is not None else None,
            tuple_items=tuple(child(s) for s in tuple_schemas),
            additional_allowed=additional is not False,
            additional_schema=child(additional) if isinstance(additional, Mapping) else None,
            unevaluated=child(unevaluated) if isinstance(unevaluated, Mapping | bool) else None,
            contains=child(contains) if isinstance(contains, Mapping | bool) else None,
            min_items=_number(schema.get("minItems")),
            max_items=_number(schema.get("maxItems")),
            unique_items=schema.get("uniqueItems") is True,
            min_contains=min_contains,
            max_contains=_number(schema.get("maxContains")),
        )


def _number_node(schema: Mapping[str, Any], tag: str, *, integer: bool) -> NumberNode:
    return NumberNode(
        schema,
        tag=tag,
        integer=integer,
        minimum=_number(schema.get("minimum")),
        maximum=_number(schema.get("maximum")),
        exclusive_minimum=_number(schema.get("exclusiveMinimum")),
        exclusive_maximum=_number(schema.get("exclusiveMaximum")),
        multiple_of=_number(schema.get("multipleOf")),
        minimum_excluded=schema.get("exclusiveMinimum") is True,
        maximum_excluded=schema.get("exclusiveMaximum") is True,
    )


# The keyword group each JSON type claims, so that it is not sniffed a second time.
_TYPE_GROUPS: Final = {
    "string": "string",
    "number": "number",
    "integer": "number",
    "object": "object",
    "array": "array",
    "boolean": "boolean",
    "null": "null",
}
_SNIFFED: Final = {
    "object": _OBJECT_KEYWORDS,
    "array": _ARRAY_KEYWORDS,
    "number": _NUMBER_KEYWORDS,
    "string": _STRING_KEYWORDS,
}


def load_schema(schema: Mapping[str, Any] | bool) -> Node:
    """Classify a whole JSON Schema document into the diff's model."""
    if not isinstance(schema, Mapping | bool):
        raise TypeError(
            f"a JSON Schema must be an object or a boolean, not {type(schema).__name__}"
        )
    root: Mapping[str, Any] = schema if isinstance(schema, Mapping) else {}
    return _Loader(schema).load(schema, "", root)


def pattern_matches(pattern: str, name: str) -> bool:
    """ECMA-262 ``pattern`` search, approximated with RE2 (linear time, whatever the pattern:
    the registry runs this on schemas it is sent), else with Python's ``re`` for what RE2
    lacks (lookaround, backreferences; the registry refuses such patterns); bad patterns
    never match."""
    compiled = _re2(pattern)
    if compiled is not None:
        return compiled.search(name) is not None
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=1024)
def _re2(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except (re2.error, TypeError, ValueError):
        return None
