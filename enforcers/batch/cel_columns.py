"""CEL rules compiled to column expressions: one vectorized pass per rule, per backend.

The compiler walks the same cel-python parse tree as `enforcers.cel_python` and mirrors its
semantics exactly, over columns instead of one record: a rule *passes* on a row exactly when
the per-record evaluator returns ``True`` on that row's record view (`RowView`). Every
intermediate value carries two masks besides its data: `null` (the value is null) and `err`
(evaluating it raised, e.g. ``null < 1`` or a missing column), so that ``||``/``&&`` let a
deciding side absorb an error on the other, as CEL and the per-record code do, and an error
that is left fails the row.

How a table row is a record (`RowView`): columns are fields by dotted path
(``customer.email`` is ``this.customer.email``); a null cell is a field that may be read as
``null`` but that `has()` reports absent; naive datetimes are UTC.

What is not vectorized raises `Unsupported` at compile time and the rule runs row-wise over
`RowView` records (counted in the report): macros (``all``, ``exists``, ``map``...), indexing
into lists, maps, ``string()``/``bytes``, and mixed-kind operations whose Python meaning is
not a column operation (``"ab" * 2``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import lark

from contracts.durations import parse_duration
from contracts.rules import RECORD, compile_rule
from enforcers.cel_python import _literal_value
from enforcers.patterns import for_engine

__all__ = [
    "INT_MIN",
    "ColumnKind",
    "Ops",
    "RowView",
    "Unsupported",
    "Val",
    "compile_columns",
    "row_view",
]

Node = lark.Tree[lark.Token]
E = TypeVar("E")  # a backend's column expression (pandas Series/ndarray, pl.Expr, Column)

# Kinds of values the compiler reasons about statically.
ColumnKind = str  # "int" "float" "bool" "string" "timestamp" "duration" "null" "list" "any"
_NUMERIC = ("int", "float")
MISSING = "missing"  # a field no column holds: reading it raises on every row
# Strings the vectorized timestamp() parses; others go to Python's parser per distinct value.
TIMESTAMP_FAST = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class Unsupported(Exception):
    """This expression is not compiled to columns; the rule runs row-wise."""


@dataclass(frozen=True, slots=True)
class Val(Generic[E]):
    data: Any  # backend data (garbage where null or err); a Python value when `const`
    kind: ColumnKind
    null: E | None = None  # mask: the value is null; None: never
    err: E | None = None  # mask: evaluating it raised; None: never
    const: bool = False  # data is a Python constant
    path: tuple[str, ...] | None = None  # the field path, for has() and objects


class Ops(Generic[E]):
    """What a backend provides: columns, masks and the vectorized operations."""

    def column(self, name: str) -> tuple[Any, ColumnKind, E | None]:
        """(data, kind, null mask or None) of a column; KeyError if there is none."""
        raise NotImplementedError

    def columns(self) -> Sequence[str]:
        raise NotImplementedError

    def mask(self, value: bool) -> E:
        raise NotImplementedError

    def m_and(self, a: E, b: E) -> E:
        raise NotImplementedError

    def m_or(self, a: E, b: E) -> E:
        raise NotImplementedError

    def m_not(self, a: E) -> E:
        raise NotImplementedError

    def truth(self, data: Any) -> E:
        """A mask from boolean data (null/garbage read as False)."""
        raise NotImplementedError

    def where(self, cond: E, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def compare(self, op: str, a: Any, b: Any) -> Any:
        """Boolean data of ``a op b`` for op in < <= > >= == != (operands non-null)."""
        raise NotImplementedError

    def arith(self, op: str, a: Any, b: Any) -> Any:
        """``a op b`` for op in + - * and true division ``/``."""
        raise NotImplementedError

    def int_arith(self, op: str, a: Any, b: Any) -> tuple[Any, E]:
        """64-bit integer ``a op b`` for op in + - *, and the rows where it overflowed
        (CEL's integers are 64 bits: an overflow is an error)."""
        raise NotImplementedError

    def int_div(self, a: Any, b: Any) -> Any:
        """Integer division truncated toward zero (b non-zero)."""
        raise NotImplementedError

    def is_zero(self, a: Any) -> E:
        raise NotImplementedError

    def neg(self, a: Any) -> Any:
        raise NotImplementedError

    def isin(self, data: Any, values: list[Any]) -> Any:
        raise NotImplementedError

    def str_len(self, data: Any) -> Any:
        raise NotImplementedError

    def list_len(self, data: Any) -> Any:
        raise NotImplementedError

    def str_method(self, method: str, data: Any, arg: str) -> Any:
        """startsWith endsWith contains matches (arg: a constant string)."""
        raise NotImplementedError

    def str_case(self, data: Any, upper: bool) -> Any:
        raise NotImplementedError

    def concat(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def to_float(self, data: Any) -> Any:
        raise NotImplementedError

    def trunc_int(self, data: Any) -> tuple[Any, E]:
        """int() of a float column: (data, error mask for NaN, inf and values out of the
        64-bit range, which CEL's int() refuses)."""
        raise NotImplementedError

    def timestamp(self, data: Any) -> tuple[Any, E]:
        """Parse strings as `_timestamp` does: (UTC datetimes, error mask)."""
        raise NotImplementedError

    def ts_column(self, data: Any) -> Any:
        """A datetime column as UTC (naive is UTC)."""
        raise NotImplementedError

    def constant(self, value: Any, kind: ColumnKind) -> Any:
        """A Python constant as data usable with the backend's operations."""
        return value


@dataclass(frozen=True, slots=True)
class CompiledColumns:
    expression: str
    tree: Node

    def passes(self, ops: Ops[E]) -> E:
        """The mask of rows where the rule is True (raises Unsupported for this frame)."""
        value = _Compiler(ops).expr(self.tree)
        if value.kind not in ("bool", "any", "null"):
            return ops.mask(False)
        if value.const:
            ok = value.data is True
            result = ops.mask(ok)
        else:
            result = ops.truth(value.data)
        bad = _or(ops, value.null, value.err)
        return result if bad is None else ops.m_and(result, ops.m_not(bad))


def compile_columns(expression: str) -> CompiledColumns:
    """The rule's tree, ready to compile against a frame (`CompiledColumns.passes`)."""
    return CompiledColumns(expression, compile_rule(expression).tree)


INT_MIN = -(2**63)


def _or(ops: Ops[E], a: E | None, b: E | None) -> E | None:
    if a is None:
        return b
    if b is None:
        return a
    return ops.m_or(a, b)


def _and(ops: Ops[E], a: E | None, b: E | None) -> E | None:
    """`a & b` where None means an all-False mask."""
    if a is None or b is None:
        return None
    return ops.m_and(a, b)


def _leaf(node: Node) -> Node:
    while len(node.children) == 1 and isinstance(node.children[0], lark.Tree):
        node = node.children[0]
    return node


_FUNCTIONS = ("size", "timestamp", "duration", "double", "int", "matches")
_METHODS = ("startsWith", "endsWith", "contains", "matches", "size", "lowerAscii", "upperAscii")
_RELATIONS = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
}


class _Compiler(Generic[E]):
    def __init__(self, ops: Ops[E]) -> None:
        self.ops = ops
        self.names = set(ops.columns())

    # -- helpers -------------------------------------------------------------------------

    def child(self, node: Node, i: int) -> Node:
        c = node.children[i]
        if not isinstance(c, lark.Tree):
            raise Unsupported(f"token in {node.data}")
        return c

    def args(self, node: Node, index: int) -> list[Node]:
        if len(node.children) <= index:
            return []
        return [c for c in self.child(node, index).children if isinstance(c, lark.Tree)]

    def errors(self, *values: Val[E]) -> E | None:
        mask: E | None = None
        for v in values:
            mask = _or(self.ops, mask, v.err)
        return mask

    def nulls(self, *values: Val[E]) -> E | None:
        mask: E | None = None
        for v in values:
            mask = _or(self.ops, mask, v.null)
        return mask

    def materialize(self, v: Val[E]) -> Any:
        return self.ops.constant(v.data, v.kind) if v.const else v.data

    def scalar(self, v: Val[E]) -> Val[E]:
        """Reject object (prefix) values where a scalar is needed."""
        if v.kind == "object":
            raise Unsupported("an object used as a value")
        return v

    def condition(self, v: Val[E]) -> tuple[E | None, E | None]:
        """(truth mask, error mask) of `v` used as a condition (`_truthy`)."""
        v = self.scalar(v)
        if v.const:
            if isinstance(v.data, bool):
                return (self.ops.mask(True) if v.data else None), None
            return None, self.ops.mask(True)
        if v.kind == "bool":
            # No data: a value that fails on every row (`failing`), true on none.
            truth = None if v.data is None else self.ops.truth(v.data)
            return truth, _or(self.ops, v.null, v.err)
        if v.kind == MISSING:
            return None, self.ops.mask(True)
        if v.kind == "any":
            raise Unsupported("a condition of unknown type")
        return None, self.ops.mask(True)  # not a bool: _truthy raises

    def boolean(self, truth: E | None, err: E | None) -> Val[E]:
        data = truth if truth is not None else self.ops.mask(False)
        return Val(data, "bool", None, err)

    # -- the grammar ---------------------------------------------------------------------

    def expr(self, node: Node) -> Val[E]:
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise Unsupported(node.data)
        result: Val[E] = handler(node)
        return result

    def _single(self, node: Node) -> Val[E]:
        return self.expr(self.child(node, 0))

    _member = _single
    _primary = _single
    _paren_expr = _single

    def _expr(self, node: Node) -> Val[E]:
        if len(node.children) == 1:
            return self._single(node)
        cond = self.expr(self.child(node, 0))
        yes = self.scalar(self.expr(self.child(node, 1)))
        no = self.scalar(self.expr(self.child(node, 2)))
        truth, cerr = self.condition(cond)
        ops = self.ops
        if MISSING in (yes.kind, no.kind) or "null" in (yes.kind, no.kind):
            raise Unsupported("a conditional with a null or missing branch")
        kind = _common_kind(yes, no)
        t = truth if truth is not None else ops.mask(False)
        nt = ops.m_not(t)
        if cerr is not None:
            nt = ops.m_and(nt, ops.m_not(cerr))
        err = _or(ops, cerr, _or(ops, _and(ops, t, yes.err), _and(ops, nt, no.err)))
        null = _or(ops, _and(ops, t, yes.null), _and(ops, nt, no.null))
        data = ops.where(t, self.materialize(yes), self.materialize(no))
        return Val(data, kind, null, err)

    def _logical(self, node: Node, is_or: bool) -> Val[E]:
        if len(node.children) == 1:
            return self._single(node)
        ops = self.ops
        lt, lerr = self.clean(self.condition(self.expr(self.child(node, 0))))
        rt, rerr = self.clean(self.condition(self.expr(self.child(node, 1))))
        # CEL's || and && are commutative: a side that decides (true for ||, false for &&)
        # wins over an error on the other side, whichever side that is.
        if is_or:
            truth = _or(ops, lt, rt)
            decided = truth
        else:
            truth = _and(ops, lt, rt)
            decided = _or(ops, self.clean_false(lt, lerr), self.clean_false(rt, rerr))
        err = _or(ops, lerr, rerr)
        if err is not None and decided is not None:
            err = ops.m_and(err, ops.m_not(decided))
        return self.boolean(truth, err)

    def clean(self, condition: tuple[E | None, E | None]) -> tuple[E | None, E | None]:
        """(truth, error) masks with no row in both: an error is not true."""
        truth, err = condition
        if truth is not None and err is not None:
            truth = self.ops.m_and(truth, self.ops.m_not(err))
        return truth, err

    def clean_false(self, truth: E | None, err: E | None) -> E:
        """Rows of a `clean` condition that are false without an error."""
        ops = self.ops
        if truth is None:
            return ops.m_not(err) if err is not None else ops.mask(True)
        false = ops.m_not(truth)
        return false if err is None else ops.m_and(false, ops.m_not(err))

    def _conditionalor(self, node: Node) -> Val[E]:
        return self._logical(node, is_or=True)

    def _conditionaland(self, node: Node) -> Val[E]:
        return self._logical(node, is_or=False)

    def _binary(self, node: Node) -> Val[E]:
        if len(node.children) == 1:
            return self._single(node)
        op_node = self.child(node, 0)
        left = self.scalar(self.expr(self.child(op_node, 0)))
        right = self.expr(self.child(node, 1))
        op = op_node.data
        if op == "relation_in":
            return self.membership(left, right)
        right = self.scalar(right)
        if op in ("relation_eq", "relation_ne"):
            return self.equality(left, right, op == "relation_ne")
        if op in _RELATIONS:
            return self.ordering(_RELATIONS[op], left, right)
        return self.arithmetic(op, left, right)

    _relation = _binary
    _addition = _binary
    _multiplication = _binary

    def _unary(self, node: Node) -> Val[E]:
        if len(node.children) == 1:
            return self._single(node)
        op = self.child(node, 0).data
        operand = self.scalar(self.expr(self.child(node, 1)))
        if op == "unary_not":
            truth, err = self.condition(operand)
            ops = self.ops
            return self.boolean(ops.m_not(truth) if truth is not None else ops.mask(True), err)
        if op == "unary_neg":
            if operand.kind not in (*_NUMERIC, "duration"):
                raise Unsupported("negation of a non-number")
            if operand.const:
                return replace(operand, data=-operand.data)
            if operand.kind == "int":
                data, overflow = self.ops.int_arith("-", 0, operand.data)
                bad = _or(self.ops, operand.err, operand.null)
                return Val(data, "int", None, _or(self.ops, bad, overflow))
            return Val(
                self.ops.neg(operand.data),
                operand.kind,
                None,
                _or(self.ops, operand.err, operand.null),
            )
        raise Unsupported(op)

    # -- fields --------------------------------------------------------------------------

    def _ident(self, node: Node) -> Val[E]:
        if str(node.children[0]) != RECORD:
            raise Unsupported(f"identifier {node.children[0]}")
        return Val(None, "object", path=())

    def field(self, path: tuple[str, ...]) -> Val[E]:
        name = ".".join(path)
        if name in self.names:
            data, kind, null = self.ops.column(name)
            if kind == "timestamp":
                data = self.ops.ts_column(data)
            return Val(data, kind, null, None, path=path)
        if any(n.startswith(name + ".") for n in self.names):
            return Val(None, "object", path=path)
        # No such field in any row: reading it raises (KeyError) on every row.
        return self.failing(MISSING)

    def failing(self, kind: ColumnKind) -> Val[E]:
        """A value whose evaluation raises on every row."""
        return Val(None, kind, None, self.ops.mask(True))

    def _member_dot(self, node: Node) -> Val[E]:
        target = self.expr(self.child(node, 0))
        if target.kind == MISSING:
            return target
        if target.kind != "object" or target.path is None:
            raise Unsupported("selection on a non-object value")
        return self.field((*target.path, str(node.children[1])))

    def _member_index(self, node: Node) -> Val[E]:
        target = self.expr(self.child(node, 0))
        key = self.expr(self.child(node, 1))
        if target.kind == MISSING:
            return target
        if target.kind != "object" or target.path is None or not key.const:
            raise Unsupported("indexing")
        if not isinstance(key.data, str):
            raise Unsupported("indexing with a non-string key")
        return self.field((*target.path, key.data))

    def _has(self, args: list[Node]) -> Val[E]:
        selection = _leaf(args[0]) if len(args) == 1 else None
        if selection is None or selection.data != "member_dot":
            raise Unsupported("has() needs a field selection")
        target = self.expr(self.child(selection, 0))
        if target.kind == MISSING:
            return target
        if target.kind != "object" or target.path is None:
            raise Unsupported("has() on a non-object value")
        name = ".".join((*target.path, str(selection.children[1])))
        ops = self.ops
        present: E | None = None
        for column in self.names:
            if column == name or column.startswith(name + "."):
                _, _, null = ops.column(column)
                here = ops.m_not(null) if null is not None else ops.mask(True)
                present = _or(ops, present, here)
        return self.boolean(present, None)

    # -- literals ------------------------------------------------------------------------

    def _literal(self, node: Node) -> Val[E]:
        token = node.children[0]
        assert isinstance(token, lark.Token)
        try:
            value = _literal_value(token)
        except Exception as exc:  # bytes and other literals the Python backend refuses
            raise Unsupported(f"literal {token.type}") from exc
        return Val(value, _kind_of(value), None, None, const=True)

    def _list_lit(self, node: Node) -> Val[E]:
        items = [self.expr(a) for a in self.args(node, 0)]
        if not all(i.const for i in items):
            raise Unsupported("a list literal of non-constants")
        return Val([i.data for i in items], "list", None, None, const=True)

    # -- functions and methods -----------------------------------------------------------

    def _ident_arg(self, node: Node) -> Val[E]:
        name = str(node.children[0])
        args = self.args(node, 1)
        if name == "has":
            return self._has(args)
        values = [self.scalar(self.expr(a)) for a in args]
        if any(v.kind == MISSING for v in values) and name in _FUNCTIONS:
            return self.failing("any")
        if name == "size" and len(values) == 1:
            return self.size(values[0])
        if name == "timestamp" and len(values) == 1:
            return self.timestamp(values[0])
        if name == "duration" and len(values) == 1:
            v = values[0]
            if v.const and isinstance(v.data, str):
                try:
                    return Val(parse_duration(v.data), "duration", const=True)
                except ValueError:
                    return Val(None, "any", None, self.ops.mask(True))
            raise Unsupported("duration() of a column")
        if name == "double" and len(values) == 1 and values[0].kind in _NUMERIC:
            v = values[0]
            if v.const:
                return Val(float(v.data), "float", const=True)
            return Val(self.ops.to_float(v.data), "float", None, _or(self.ops, v.err, v.null))
        if name == "int" and len(values) == 1 and values[0].kind in _NUMERIC:
            v = values[0]
            if v.const:
                raise Unsupported("int() of a constant")
            err = _or(self.ops, v.err, v.null)
            if v.kind == "int":
                return Val(v.data, "int", None, err)
            data, bad = self.ops.trunc_int(v.data)
            return Val(data, "int", None, _or(self.ops, err, bad))
        if name == "matches" and len(values) == 2:
            return self.string_method("matches", values[0], values[1])
        raise Unsupported(f"function {name}")

    def _member_dot_arg(self, node: Node) -> Val[E]:
        method = str(node.children[1])
        if method in ("all", "exists", "exists_one", "map", "filter"):
            raise Unsupported(f"macro {method}")
        target = self.scalar(self.expr(self.child(node, 0)))
        args = [self.scalar(self.expr(a)) for a in self.args(node, 2)]
        if MISSING in (target.kind, *(a.kind for a in args)) and method in _METHODS:
            return self.failing("any")
        if method in ("startsWith", "endsWith", "contains", "matches") and len(args) == 1:
            return self.string_method(method, target, args[0])
        if method == "size" and not args:
            return self.size(target)
        if method in ("lowerAscii", "upperAscii") and not args:
            if target.kind != "string" or target.const:
                raise Unsupported(f"{method} of a non-string column")
            data = self.ops.str_case(target.data, upper=method == "upperAscii")
            return Val(data, "string", None, _or(self.ops, target.err, target.null))
        raise Unsupported(f"method {method}")

    def string_method(self, method: str, target: Val[E], arg: Val[E]) -> Val[E]:
        if target.const or target.kind != "string":
            raise Unsupported(f"{method} on a non-string column")
        if not (arg.const and isinstance(arg.data, str)):
            raise Unsupported(f"{method} with a non-constant argument")
        if method == "matches":
            try:
                re.compile(for_engine(arg.data, "python", "re2"))  # as the record's rule
            except re.error:
                return Val(None, "bool", None, self.ops.mask(True))
        data = self.ops.str_method(method, target.data, arg.data)
        return Val(data, "bool", None, _or(self.ops, target.err, target.null))

    def size(self, v: Val[E]) -> Val[E]:
        if v.const:
            if isinstance(v.data, str | list):
                return Val(len(v.data), "int", const=True)
            raise Unsupported("size() of a constant")
        err = _or(self.ops, v.err, v.null)
        if v.kind == "string":
            return Val(self.ops.str_len(v.data), "int", None, err)
        if v.kind == "list":
            return Val(self.ops.list_len(v.data), "int", None, err)
        raise Unsupported(f"size() of a {v.kind} column")

    def timestamp(self, v: Val[E]) -> Val[E]:
        if v.const:
            raise Unsupported("timestamp() of a constant")
        err = _or(self.ops, v.err, v.null)
        if v.kind == "timestamp":
            return Val(v.data, "timestamp", None, err)
        if v.kind != "string":
            if v.kind == "any":
                raise Unsupported("timestamp() of a column of unknown type")
            return Val(None, "timestamp", None, self.ops.mask(True))
        data, bad = self.ops.timestamp(v.data)
        return Val(data, "timestamp", None, _or(self.ops, err, bad))

    # -- operators -----------------------------------------------------------------------

    def membership(self, left: Val[E], right: Val[E]) -> Val[E]:
        if not (right.const and isinstance(right.data, list)):
            raise Unsupported("`in` over a non-literal list")
        values = right.data
        if left.kind == MISSING:
            return self.failing("bool")
        if left.const:
            raise Unsupported("`in` of a constant")
        if left.kind == "null":
            return Val(None in values, "bool", const=True)
        kinds = {_kind_of(v) for v in values} - {"null"}
        for kind in kinds:
            _relate(left.kind, kind, equality=True)  # raises where Python's == is not ours
        same = [v for v in values if v is not None and _comparable(left.kind, _kind_of(v), True)]
        ops = self.ops
        data = ops.isin(left.data, same) if same else ops.mask(False)
        if left.null is not None:
            data = ops.where(left.null, ops.mask(None in values), data)
        return Val(data, "bool", None, left.err)

    def equality(self, left: Val[E], right: Val[E], negate: bool) -> Val[E]:
        ops = self.ops
        if MISSING in (left.kind, right.kind):
            return self.failing("bool")
        err = self.errors(left, right)
        if left.const and right.const:
            raise Unsupported("comparison of constants")
        if left.kind == "null" or right.kind == "null":
            other = right if left.kind == "null" else left
            is_null = other.null if other.null is not None else ops.mask(False)
            return Val(ops.m_not(is_null) if negate else is_null, "bool", None, err)
        if not _relate(left.kind, right.kind, equality=True):
            # Python: values of unrelated types are unequal; two nulls are equal.
            both = _and(ops, left.null, right.null)
            data = both if both is not None else ops.mask(False)
            return Val(ops.m_not(data) if negate else data, "bool", None, err)
        data = ops.compare(
            "!=" if negate else "==", self.materialize(left), self.materialize(right)
        )
        ln, rn = left.null, right.null
        if ln is not None or rn is not None:
            # A null equals only a null.
            either = _or(ops, ln, rn)
            assert either is not None
            both = _and(ops, ln, rn)
            result = both if both is not None else ops.mask(False)
            data = ops.where(either, ops.m_not(result) if negate else result, data)
        return Val(data, "bool", None, err)

    def ordering(self, op: str, left: Val[E], right: Val[E]) -> Val[E]:
        ops = self.ops
        if MISSING in (left.kind, right.kind) or "null" in (left.kind, right.kind):
            return self.failing("bool")
        if left.const and right.const:
            raise Unsupported("comparison of constants")
        if not _relate(left.kind, right.kind, equality=False):
            return self.failing("bool")  # TypeError in Python
        err = _or(ops, self.errors(left, right), self.nulls(left, right))
        data = ops.compare(op, self.materialize(left), self.materialize(right))
        return Val(data, "bool", None, err)

    def arithmetic(self, op: str, left: Val[E], right: Val[E]) -> Val[E]:
        ops = self.ops
        if MISSING in (left.kind, right.kind) or "null" in (left.kind, right.kind):
            return self.failing("any")
        if left.const and right.const:
            raise Unsupported("arithmetic on constants")
        err = _or(ops, self.errors(left, right), self.nulls(left, right))
        lk, rk = left.kind, right.kind
        a, b = self.materialize(left), self.materialize(right)
        symbol = {"addition_add": "+", "addition_sub": "-", "multiplication_mul": "*"}.get(op)
        if symbol is not None and lk == rk == "int":
            data, overflow = ops.int_arith(symbol, a, b)
            return Val(data, "int", None, _or(ops, err, overflow))
        if op == "addition_add":
            if lk in _NUMERIC and rk in _NUMERIC:
                return Val(ops.arith("+", a, b), _numeric(lk, rk), None, err)
            if lk == rk == "string":
                return Val(ops.concat(a, b), "string", None, err)
            if {lk, rk} == {"timestamp", "duration"} or lk == rk == "duration":
                kind = "duration" if lk == rk else "timestamp"
                if lk == "duration" and rk == "timestamp":
                    a, b = b, a
                return Val(ops.arith("+", a, b), kind, None, err)
        elif op == "addition_sub":
            if lk in _NUMERIC and rk in _NUMERIC:
                return Val(ops.arith("-", a, b), _numeric(lk, rk), None, err)
            if lk == rk == "timestamp" or lk == rk == "duration":
                return Val(ops.arith("-", a, b), "duration", None, err)
            if lk == "timestamp" and rk == "duration":
                return Val(ops.arith("-", a, b), "timestamp", None, err)
        elif op == "multiplication_mul":
            if lk in _NUMERIC and rk in _NUMERIC:
                return Val(ops.arith("*", a, b), _numeric(lk, rk), None, err)
        elif op in ("multiplication_div", "multiplication_mod") and (
            lk in _NUMERIC and rk in _NUMERIC
        ):
            err = _or(ops, err, self.zero(right))
            if lk == rk == "int":
                # The one quotient 64 bits cannot hold: the smallest int divided by -1.
                smallest = ops.m_and(self.equals(a, INT_MIN), self.equals(b, -1))
                err = _or(ops, err, smallest)
                quotient = ops.int_div(a, b)
                if op == "multiplication_div":
                    return Val(quotient, "int", None, err)
                product, overflow = ops.int_arith("*", quotient, b)
                remainder, _ = ops.int_arith("-", a, product)
                return Val(remainder, "int", None, _or(ops, err, overflow))
            if op == "multiplication_div":
                return Val(ops.arith("/", a, b), "float", None, err)
            return self.failing("any")  # % takes integers
        if {lk, rk} & {"any", "list", "bool", "object"}:
            raise Unsupported(f"arithmetic on {lk} and {rk}")
        if op == "multiplication_mul" and {lk, rk} & {"string", "duration"}:
            raise Unsupported("string repetition or duration scaling")
        return self.failing("any")  # TypeError in Python

    def equals(self, data: Any, value: int) -> E:
        """Rows where `data` (materialized) is `value`."""
        ops = self.ops
        return ops.truth(ops.compare("==", data, value))

    def zero(self, v: Val[E]) -> E | None:
        if v.const:
            return self.ops.mask(True) if v.data == 0 else None
        return self.ops.is_zero(v.data)


def _numeric(a: ColumnKind, b: ColumnKind) -> ColumnKind:
    return "int" if a == b == "int" else "float"


def _kind_of(value: Any) -> ColumnKind:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, timedelta):
        return "duration"
    return "any"


def _comparable(a: ColumnKind, b: ColumnKind, equality: bool) -> bool:
    if a in _NUMERIC and b in _NUMERIC:
        return True
    if a == b and a in ("string", "timestamp", "duration"):
        return True
    return equality and a == b == "bool"


def _relate(a: ColumnKind, b: ColumnKind, *, equality: bool) -> bool:
    """Whether the kinds compare as columns; raise Unsupported where Python's answer is not
    a plain column comparison (bools are ints; unknown kinds)."""
    if _comparable(a, b, equality):
        return True
    kinds = {a, b}
    if kinds & {"any", "list", "object"}:
        raise Unsupported(f"comparing {a} with {b}")
    if "bool" in kinds and kinds & {*_NUMERIC, "bool"}:
        raise Unsupported("comparing bools with numbers")
    return False


def _common_kind(a: Val[Any], b: Val[Any]) -> ColumnKind:
    if a.kind == "null":
        return b.kind
    if b.kind == "null" or a.kind == b.kind:
        return a.kind
    if a.kind in _NUMERIC and b.kind in _NUMERIC:
        raise Unsupported("a conditional mixing int and double")
    raise Unsupported("a conditional whose branches differ in type")


# -- the record view of a row ---------------------------------------------------------------


class RowView(Mapping[str, Any]):
    """One table row as the record a rule sees: dotted columns as nested fields.

    A null cell reads as ``None`` but is absent for `has()` (``key in view``); a prefix of
    dotted columns (``customer`` for ``customer.email``) is a nested view.
    """

    __slots__ = ("_prefix", "_row", "_tree")

    def __init__(self, row: Mapping[str, Any], tree: Mapping[str, Any], prefix: str = "") -> None:
        self._row, self._tree, self._prefix = row, tree, prefix

    def __getitem__(self, key: str) -> Any:
        node = self._tree[key]  # KeyError: no such field
        full = self._prefix + key
        if node is None:
            return _plain(self._row.get(full))
        return RowView(self._row, node, full + ".")

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str) or key not in self._tree:
            return False
        node = self._tree[key]
        full = self._prefix + key
        if node is None:
            return _plain(self._row.get(full)) is not None
        return any(
            _plain(v) is not None
            for k, v in self._row.items()
            if k == full or k.startswith(full + ".")
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._tree)

    def __len__(self) -> int:
        return len(self._tree)


def column_tree(columns: Sequence[str]) -> dict[str, Any]:
    """Dotted column names as a nested dict; leaves are None."""
    tree: dict[str, Any] = {}
    for name in columns:
        node = tree
        parts = name.split(".")
        for part in parts[:-1]:
            existing = node.get(part)
            if existing is None:
                existing = node[part] = {}
            node = existing
        node.setdefault(parts[-1], None)
    return tree


def row_view(row: Mapping[str, Any], tree: Mapping[str, Any]) -> RowView:
    return RowView(row, tree)


def _plain(value: Any) -> Any:
    """A cell as the per-record evaluator's Python value (NaN/NA are null)."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if value != value else value  # NaN
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, tuple) and hasattr(value, "asDict"):
        # A Spark Row (a struct cell, in a UDF) is a tuple: as a list it would lose its
        # field names.
        return value.asDict(recursive=True)
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        converted = value.tolist()  # numpy scalars and arrays
        return _plain(converted) if not isinstance(converted, list) else converted
    if isinstance(value, timedelta):
        return value
    return value
