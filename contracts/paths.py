"""Field paths (``customer.email`` or ``/customer/email``) and their lookup in a JSON Schema.

A path names a field of the record. Arrays are transparent: ``line_items.sku`` is the
``sku`` of every element of ``line_items``. Lookup follows local ``$ref`` and every branch
of ``allOf``/``anyOf``/``oneOf``/``if``/``then``/``else``, so a field declared in any branch
exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "FieldPath",
    "field_schemas",
    "is_date_time",
    "iter_fields",
    "parse_path",
    "plain_date_times",
    "pointer_segment",
]

FieldPath = tuple[str, ...]

_BRANCHES = ("allOf", "anyOf", "oneOf")
_CONDITIONAL = ("if", "then", "else")


def parse_path(text: str) -> FieldPath:
    """Split a dotted path or a JSON pointer into segments."""
    if text.startswith("/"):
        return tuple(s.replace("~1", "/").replace("~0", "~") for s in text[1:].split("/"))
    return tuple(text.split("."))


def pointer_segment(key: str) -> str:
    """`key` as one JSON pointer segment (RFC 6901): ``a/b`` becomes ``a~1b``."""
    return key.replace("~", "~0").replace("/", "~1")


def format_path(path: FieldPath) -> str:
    return ".".join(path)


def _deref(root: Mapping[str, Any], node: Any, seen: frozenset[str]) -> Iterator[Any]:
    """Yield `node` with local references followed (cycles stop quietly)."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if not ref.startswith("#") or ref in seen:
            break
        seen = seen | {ref}
        target = _resolve_pointer(root, ref[1:])
        if target is None:
            break
        # Siblings of $ref apply too (2020-12), so keep the referring node as a branch.
        rest = {k: v for k, v in node.items() if k != "$ref"}
        if rest:
            yield rest
        node = target
    yield node


def _resolve_pointer(root: Mapping[str, Any], pointer: str) -> Any:
    node: Any = root
    for raw in pointer.split("/")[1:] if pointer else []:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and (key.isascii() and key.isdigit()) and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _alternatives(root: Mapping[str, Any], node: Any, seen: frozenset[str]) -> Iterator[Any]:
    """Every schema that applies to the same instance as `node`: itself and its branches."""
    for resolved in _deref(root, node, seen):
        if not isinstance(resolved, Mapping):
            continue
        yield resolved
        for key in _BRANCHES:
            for branch in resolved.get(key, ()):
                yield from _alternatives(root, branch, seen)
        for key in _CONDITIONAL:
            if key in resolved:
                yield from _alternatives(root, resolved[key], seen)


def _elements(node: Mapping[str, Any]) -> Iterator[Any]:
    items = node.get("items")
    if isinstance(items, Mapping):
        yield items
    elif isinstance(items, list):  # draft-07 tuple form
        yield from items
    yield from node.get("prefixItems", ())


def field_schemas(root: Mapping[str, Any] | bool, path: FieldPath) -> list[Mapping[str, Any]]:
    """The subschemas that describe `path` in `root`; empty when the schema has no such field."""
    if not isinstance(root, Mapping):
        return []
    frontier: list[Any] = [root]
    for segment in path:
        nxt: list[Any] = []
        for node in frontier:
            nxt.extend(_children(root, node, segment))
        if not nxt:
            return []
        frontier = nxt
    return [s for node in frontier for s in _alternatives(root, node, frozenset())]


def _children(root: Mapping[str, Any], node: Any, segment: str) -> Iterator[Any]:
    for alt in _alternatives(root, node, frozenset()):
        props = alt.get("properties")
        if isinstance(props, Mapping) and segment in props:
            yield props[segment]
        for element in _elements(alt):
            yield from _children(root, element, segment)


def iter_fields(root: Mapping[str, Any] | bool, prefix: FieldPath = ()) -> Iterator[FieldPath]:
    """Every declared field path, depth first (used for hints and for flattening)."""
    if not isinstance(root, Mapping):
        return
    seen: set[FieldPath] = set()

    def walk(node: Any, here: FieldPath, depth: int) -> Iterator[FieldPath]:
        if depth > 32:
            return
        for alt in _alternatives(root, node, frozenset()):
            for name, child in (alt.get("properties") or {}).items():
                path = (*here, name)
                if path not in seen:
                    seen.add(path)
                    yield path
                yield from walk(child, path, depth + 1)
            for element in _elements(alt):
                yield from walk(element, here, depth + 1)

    yield from walk(root, prefix, 0)


def is_date_time(root: Mapping[str, Any] | bool, path: FieldPath) -> bool:
    """Whether the field is declared as an RFC 3339 date-time string."""
    return any(s.get("format") == "date-time" for s in field_schemas(root, path))


def plain_date_times(root: Mapping[str, Any] | bool) -> frozenset[FieldPath]:
    """Fields that a record valid against `root` holds as RFC 3339 text whenever a string.

    Strict, unlike `is_date_time`: only fields reached through plain ``properties`` with
    ``format: date-time`` there (a field behind ``$ref`` or a branch may hold other text).
    """
    found: set[FieldPath] = set()

    def visit(node: Any, path: FieldPath) -> None:
        if not isinstance(node, Mapping):
            return
        if path and node.get("format") == "date-time":
            found.add(path)
        properties = node.get("properties")
        if isinstance(properties, Mapping):
            for name, child in properties.items():
                visit(child, (*path, str(name)))

    visit(root, ())
    return frozenset(found)
