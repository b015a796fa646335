"""CEL business rules: compile once, and know which fields a rule reads.

The record is bound to ``this``. Parsing uses cel-python's grammar; the field analysis
walks its parse tree so lint can tell a rule that reads a field the schema lacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import celpy
import lark
from celpy.celparser import CELParseError

from contracts.paths import FieldPath

__all__ = ["CompiledRule", "RuleSyntaxError", "compile_rule"]

RECORD = "this"
_MACROS_WITH_VARIABLE = {"all", "exists", "exists_one", "map", "filter"}
_TYPE_NAMES = {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "type"}
_TYPE_NAMES |= {"null_type", "timestamp", "duration"}


class RuleSyntaxError(ValueError):
    """The expression is not valid CEL, or uses a name other than ``this``."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    expression: str
    tree: lark.Tree[lark.Token]
    fields: frozenset[FieldPath]


@cache
def _environment() -> celpy.Environment:
    return celpy.Environment()


@cache
def compile_rule(expression: str) -> CompiledRule:
    """Parse `expression` and collect the record fields it reads."""
    try:
        tree = _environment().compile(expression)
    except CELParseError as exc:
        column = getattr(exc, "column", None)
        where = f" at column {column}" if column else ""
        raise RuleSyntaxError(f"invalid CEL{where}: {_first_line(str(exc))!r}") from None
    fields: set[FieldPath] = set()
    unknown: set[str] = set()
    _walk(tree, {RECORD: ()}, fields, unknown)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise RuleSyntaxError(f"unknown name(s) {names}: the record is `{RECORD}`")
    return CompiledRule(expression, tree, frozenset(fields))


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "invalid CEL expression"


Scope = dict[str, FieldPath]
Node = lark.Tree[lark.Token]


def _children(node: Node) -> Iterator[Node]:
    for child in node.children:
        if isinstance(child, lark.Tree):
            yield child


def _child(node: Node, index: int) -> Node:
    child = node.children[index]
    assert isinstance(child, lark.Tree), f"expected a subtree in {node.data}"
    return child


def _token(node: Node, index: int) -> str:
    return str(node.children[index])


def _chain(node: Node, scope: Scope) -> FieldPath | None:
    """The field path of a pure selection chain (``this.a.b``, ``i.c``), else None."""
    node = _leaf(node)
    if node.data == "ident":
        return scope.get(_token(node, 0))
    if node.data == "member_dot":
        base = _chain(_child(node, 0), scope)
        return None if base is None else (*base, _token(node, 1))
    if node.data == "member_index":
        base = _chain(_child(node, 0), scope)
        key = _string_literal(_child(node, 1))
        if base is not None and key is not None:
            return (*base, key)
    return None


def _leaf(node: Node) -> Node:
    """Descend through the grammar's single-child wrappers (expr → ... → primary)."""
    while len(node.children) == 1 and isinstance(node.children[0], lark.Tree):
        node = node.children[0]
    return node


def _string_literal(node: Node) -> str | None:
    leaf = _leaf(node)
    if leaf.data == "literal":
        text = str(leaf.children[0])
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            return text[1:-1]
    return None


def _bare_ident(node: Node) -> str | None:
    leaf = _leaf(node)
    return str(leaf.children[0]) if leaf.data == "ident" else None


def _walk(
    node: Node,
    scope: Scope,
    fields: set[FieldPath],
    unknown: set[str],
) -> None:
    if node.data in ("member_dot", "member_index", "ident"):
        path = _chain(node, scope)
        if path is not None:
            if path:
                fields.add(path)
            if node.data != "member_index":
                return
    if node.data == "ident" and _token(node, 0) not in scope | dict.fromkeys(_TYPE_NAMES):
        unknown.add(_token(node, 0))
        return
    if node.data == "member_dot_arg":
        target, method = _child(node, 0), _token(node, 1)
        args = list(_children(_child(node, 2))) if len(node.children) > 2 else []
        variable = _bare_ident(args[0]) if args else None
        if method in _MACROS_WITH_VARIABLE and variable is not None and len(args) >= 2:
            _walk(target, scope, fields, unknown)
            base = _chain(target, scope)
            # Arrays are transparent in field paths, so the element has the array's path.
            inner = {**scope, variable: base if base is not None else ()}
            for arg in args[1:]:
                _walk(arg, inner, fields, unknown)
            return
    for child in _children(node):
        _walk(child, scope, fields, unknown)
