"""Limits that keep one client from hurting the others: body size, document shape, regular
expressions, request rate.

- **Body size** (``ACCORD_MAX_BODY_BYTES``): enforced by `registry.auth.SecurityMiddleware`
  before the body is read — from ``Content-Length``, and by counting a chunked body as it
  arrives (`read_body`).
- **Document shape** (``ACCORD_MAX_SCHEMA_DEPTH``, ``ACCORD_MAX_SCHEMA_PROPERTIES``):
  `document_problems` runs on every parsed contract document (native API) and every
  Confluent schema, before anything walks them recursively.
- **Regular expressions**: every ``pattern`` and ``patternProperties`` key of a published
  schema must compile with RE2, which matches in linear time; backreferences and
  lookaround (what can take exponential time in a backtracking engine) are refused.
- **Rate** (``ACCORD_RATE_LIMIT``): a token bucket per token or client address, kept in
  this process (with N worker processes a client may get up to N times the rate).

`current()` gives the document limits of the app serving the request (a context variable
the middleware sets), so that intake code needs no settings passed down.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import re2

from contracts import Problem

__all__ = [
    "DocumentLimits",
    "RateLimiter",
    "current",
    "document_problems",
    "pattern_problem",
    "schema_problems",
    "use",
]


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    """How deep a document may nest, how many properties its schema may define, and how
    large a request body may be."""

    max_depth: int = 64
    max_properties: int = 10_000
    max_body_bytes: int = 1024 * 1024

    @property
    def key(self) -> str:
        return f"{self.max_depth}:{self.max_properties}"


_DEFAULT = DocumentLimits()
_CURRENT: ContextVar[DocumentLimits | None] = ContextVar("accord_document_limits", default=None)


def current() -> DocumentLimits:
    """The limits of the request being served (the defaults outside a request)."""
    return _CURRENT.get() or _DEFAULT


def use(limits: DocumentLimits) -> None:
    """Make `limits` the current ones for this request (its context)."""
    _CURRENT.set(limits)


# -- document shape --------------------------------------------------------------------------


def nesting_depth(data: Any, limit: int) -> tuple[int, str]:
    """The nesting depth of `data` (a scalar is 0) up to `limit` + 1, and where the first
    too-deep value is (a JSON pointer). Iterative: safe on any depth."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    deepest, where = 0, ""
    while stack:
        node, depth, pointer = stack.pop()
        if isinstance(node, Mapping):
            children: Iterator[tuple[str, Any]] = ((str(k), v) for k, v in node.items())
        elif isinstance(node, list):
            children = ((str(i), v) for i, v in enumerate(node))
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest, where = depth, pointer
            if depth > limit:
                return deepest, where
        for key, value in children:
            if isinstance(value, Mapping | list):
                escaped = key.replace("~", "~0").replace("/", "~1")
                stack.append((value, depth, f"{pointer}/{escaped}"))
    return deepest, where


def document_problems(data: Any, limits: DocumentLimits | None = None) -> list[Problem]:
    """A problem when `data` nests deeper than the limit (checked before anything recursive),
    or holds a number that JSON cannot (NaN, infinity, an integer beyond 64 bits: the
    document is stored and served as JSON)."""
    limits = limits or current()
    depth, where = nesting_depth(data, limits.max_depth)
    if depth > limits.max_depth:
        message = (
            f"the document nests more than {limits.max_depth} levels deep (ACCORD_MAX_SCHEMA_DEPTH)"
        )
        return [Problem(where, message, "too-deep")]
    odd = _unstorable_number(data)
    if odd is not None:
        where, value = odd
        return [Problem(where, f"{value!r} is not a number JSON can hold", "invalid-number")]
    return []


def _unstorable_number(data: Any) -> tuple[str, float | int] | None:
    """Where the first NaN, infinity or integer beyond 64 bits in `data` is (iteratively)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return pointer, node
        if isinstance(node, int) and not isinstance(node, bool) and not -(2**63) <= node < 2**64:
            return pointer, node
        if isinstance(node, Mapping):
            items: Iterator[tuple[str, Any]] = ((str(k), v) for k, v in node.items())
        elif isinstance(node, list):
            items = ((str(i), v) for i, v in enumerate(node))
        else:
            continue
        for key, value in items:
            escaped = key.replace("~", "~0").replace("/", "~1")
            stack.append((value, f"{pointer}/{escaped}"))
    return None


# Keywords whose value is a schema, a list of schemas, or a mapping of names to schemas.
_SCHEMA = frozenset(
    {
        "additionalProperties",
        "additionalItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "items",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
    }
)
_SCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_SCHEMA_MAP = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _schemas(schema: Any, pointer: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every subschema (objects only) of `schema` with its pointer; iterative."""
    stack: list[tuple[Any, str]] = [(schema, pointer)]
    while stack:
        node, here = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield node, here
        for keyword, value in node.items():
            if keyword in _SCHEMA_MAP and isinstance(value, Mapping):
                for name, child in value.items():
                    stack.append((child, f"{here}/{keyword}/{_escape(str(name))}"))
            elif keyword in _SCHEMA_LIST and isinstance(value, list):
                for i, child in enumerate(value):
                    stack.append((child, f"{here}/{keyword}/{i}"))
            elif keyword in _SCHEMA or keyword == "dependencies":
                if isinstance(value, Mapping) and keyword == "dependencies":
                    for name, child in value.items():
                        stack.append((child, f"{here}/{keyword}/{_escape(str(name))}"))
                else:
                    stack.append((value, f"{here}/{keyword}"))


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # refusals are the client's problem, not the server log's


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be accepted, or None: it must compile with RE2 (linear time)."""
    try:
        re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return (
            f"regular expression {pattern[:100]!r} is not accepted: {reason}; patterns must "
            "match in linear time (RE2 syntax: no backreferences or lookaround)"
        )
    except (TypeError, ValueError) as exc:  # e.g. a NUL byte
        return f"regular expression {pattern[:100]!r} is not accepted: {exc}"
    return None


def schema_problems(
    schema: Any, pointer: str = "/schema", limits: DocumentLimits | None = None
) -> list[Problem]:
    """Too many property definitions, and regular expressions RE2 cannot run, in `schema`."""
    limits = limits or current()
    problems: list[Problem] = []
    properties = 0
    for node, here in _schemas(schema, pointer):
        for keyword in ("properties", "patternProperties"):
            value = node.get(keyword)
            if isinstance(value, Mapping):
                properties += len(value)
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            why = pattern_problem(pattern)
            if why:
                problems.append(Problem(f"{here}/pattern", why, "unsafe-pattern"))
        keys = node.get("patternProperties")
        if isinstance(keys, Mapping):
            for key in keys:
                why = pattern_problem(str(key))
                if why:
                    where = f"{here}/patternProperties/{_escape(str(key))}"
                    problems.append(Problem(where, why, "unsafe-pattern"))
        if len(problems) >= 20:
            break
    cycle = _ref_cycle(schema)
    if cycle is not None:
        problems.append(
            Problem(
                pointer + cycle,
                "$ref cycle: this schema refers back to itself without descending into "
                "the data (a validator would loop forever)",
                "ref-cycle",
            )
        )
    if properties > limits.max_properties:
        problems.insert(
            0,
            Problem(
                pointer,
                f"the schema defines {properties} properties; the limit is "
                f"{limits.max_properties} (ACCORD_MAX_SCHEMA_PROPERTIES)",
                "too-many-properties",
            ),
        )
    return problems


# Keywords that apply a subschema to the same instance (not to a child of it).
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


def _resolve(root: Any, ref: str) -> tuple[str, Any] | None:
    """The target of a local JSON-pointer `$ref` ("#", "#/$defs/a"), or None."""
    if not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
        return None
    node = root
    for raw in ref[2:].split("/") if len(ref) > 1 else ():
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif (
            isinstance(node, list) and (part.isascii() and part.isdigit()) and int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return None
    return ref[1:], node


def _in_place(node: Mapping[str, Any], here: str, root: Any) -> Iterator[tuple[str, Any]]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve(root, ref)
        if target is not None:
            yield target
    for keyword in _IN_PLACE:
        value = node.get(keyword)
        if isinstance(value, list):
            for i, child in enumerate(value):
                yield f"{here}/{keyword}/{i}", child
        elif isinstance(value, Mapping) and keyword == "dependentSchemas":
            for name, child in value.items():
                yield f"{here}/{keyword}/{_escape(str(name))}", child
        elif isinstance(value, Mapping):
            yield f"{here}/{keyword}", value


def _ref_cycle(root: Any) -> str | None:
    """Where a cycle of `$ref`s (and in-place applicators) loops back without descending
    into the instance — `{"$ref": "#"}` inside `allOf` at the root, `a → b → a` — or None.
    Recursion through `properties`/`items` (trees, linked lists) is fine."""
    if not isinstance(root, Mapping):
        return None
    state: dict[int, int] = {}  # id(node) -> 1 on the path, 2 done
    for start, start_here in _schemas(root, ""):
        if id(start) in state:
            continue
        stack: list[tuple[Any, str, Iterator[tuple[str, Any]]]] = [
            (start, start_here, _in_place(start, start_here, root))
        ]
        state[id(start)] = 1
        while stack:
            node, here, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                state[id(node)] = 2
                stack.pop()
                continue
            child_here, child = step
            if not isinstance(child, Mapping):
                continue
            seen = state.get(id(child))
            if seen == 1:
                return here
            if seen is None:
                state[id(child)] = 1
                stack.append((child, child_here, _in_place(child, child_here, root)))
    return None


# -- rate ------------------------------------------------------------------------------------


class RateLimiter:
    """Token buckets: `count` requests per `per` seconds per key, bursts up to `count`.

    In-process and single-threaded (the event loop calls it); at most `max_keys` buckets,
    the least recently used dropped first.
    """

    def __init__(self, count: int, per: float, *, max_keys: int = 100_000) -> None:
        self.capacity = float(count)
        self.rate = count / per
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def acquire(self, key: str, now: float | None = None) -> float:
        """0 when a request of `key` may go ahead (and counts it); else the seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
