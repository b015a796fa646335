"""CEL rules compiled to Python functions, for the per-record hot path.

A rule's parse tree (from `contracts.rules`) becomes the source of one Python function over
the record, compiled once. Every value taken from the rule enters the generated source via
``repr`` of an already-decoded literal, and names of the rule's own variables are replaced
by generated ones, so the generated code can only do what the expression says.

Semantics follow CEL. Its ``&&`` and ``||`` are commutative: a decisive side (false for
``&&``, true for ``||``) wins over an error on the other, and ``all``/``exists`` do the same
across items. The generated function short-circuits left to right, as Python does, which is
exact unless it raises; only then is a second function run, which evaluates every side.
Integers are 64 bits, as in CEL (an overflow is an error); otherwise arithmetic is Python's
(int and double mix, no ±Inf from division, ``true == 1``): the README lists where that
departs from CEL.
Expressions outside the supported subset fall back to cel-python's interpreter — correct,
but ~100x slower; `CompiledCel.native` tells which one a rule got.
"""

from __future__ import annotations

import ast
import contextlib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import celpy
import lark
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from contracts.durations import parse_duration
from contracts.rules import RECORD, compile_rule
from enforcers.patterns import for_engine

__all__ = ["CelEvaluationError", "CompiledCel", "compile_all", "compile_cel"]

Node = lark.Tree[lark.Token]
Evaluate = Callable[[Any], Any]


class CelEvaluationError(Exception):
    """The expression could not be evaluated on this record (missing field, bad type...)."""


class _Unsupported(Exception):
    """The expression uses something the Python backend does not translate."""


@dataclass(frozen=True, slots=True)
class CompiledCel:
    expression: str
    evaluate: Evaluate  # record -> value; raises CelEvaluationError
    native: bool  # False: evaluated by the cel-python interpreter
    source: str | None = None  # the generated Python, for debugging


@cache
def compile_cel(expression: str) -> CompiledCel:
    """Compile `expression` (over ``this``) once; raise RuleSyntaxError if it is not CEL."""
    tree = compile_rule(expression).tree
    try:
        source = _rule_source(tree, exact=False)
    except _Unsupported:
        return CompiledCel(expression, _interpreted(tree), native=False)
    exact_source = _rule_source(tree, exact=True)
    function = _define(source, expression)
    exact = _define(exact_source, expression) if exact_source != source else None
    return CompiledCel(expression, _guarded(function, exact), native=True, source=source)


def _rule_source(tree: Node, *, exact: bool) -> str:
    generator = _Generator(exact=exact)
    return generator.module(f"def _rule(this):\n    return {generator.body(tree)}\n")


def _define(source: str, expression: str) -> Evaluate:
    namespace: dict[str, Any] = dict(_RUNTIME)
    exec(compile(source, f"<cel {expression!r}>", "exec"), namespace)
    function: Evaluate = namespace["_rule"]
    return function


@cache
def compile_all(
    expressions: tuple[str, ...], date_times: frozenset[tuple[str, ...]] = frozenset()
) -> Evaluate | None:
    """One function that is True exactly when every expression evaluates to ``true``.

    The fast path of a record that passes all its rules: one call and one ``try`` instead
    of one per rule. Anything else (false, an error) answers False, and the caller asks
    each rule on its own to say why. None when some expression is not native.

    `date_times`: fields of ``this`` (as paths) that the caller has validated as RFC 3339
    date-times wherever they are strings (a JSON Schema ``format``, asserted). Comparisons
    of two of them through ``timestamp()`` then compare the texts when that is exact.
    """
    generator = _Generator(membership_only=True, date_times=date_times)
    bodies = []
    for expression in expressions:
        try:
            bodies.append(generator.body(compile_rule(expression).tree))
        except _Unsupported:
            return None
    conjunction = " and ".join(f"({body}) is True" for body in bodies) or "True"
    source = generator.module(
        "def _all(this):\n"
        "    try:\n"
        f"        return {conjunction}\n"
        "    except Exception:\n"
        "        return False\n"
    )
    namespace: dict[str, Any] = dict(_RUNTIME)
    namespace["__builtins__"] = {**namespace["__builtins__"], "Exception": Exception}
    exec(compile(source, "<cel rules>", "exec"), namespace)
    function: Evaluate = namespace["_all"]
    return function


# What evaluating a rule on a record can raise: a missing field, a wrong type, a bad index,
# a value out of range (a date past 9999, a huge int as a double), a pattern from the record.
_ERRORS = (KeyError, TypeError, IndexError, ValueError, ArithmeticError, AttributeError, re.error)


def _guarded(function: Evaluate, exact: Evaluate | None) -> Evaluate:
    """`function`, its errors as CelEvaluationError; where it raised, `exact` decides.

    `exact` (None: the same as `function`) evaluates both sides of every ``&&``/``||`` and
    every item of ``all``/``exists``, so a decisive side absorbs an error as in CEL. An
    error it cannot absorb is reported as `function` raised it.
    """

    def evaluate(record: Any) -> Any:
        try:
            return function(record)
        except _ERRORS as exc:
            if exact is not None:
                with contextlib.suppress(*_ERRORS, RecursionError):
                    return exact(record)
            raise CelEvaluationError(_describe(exc)) from None
        except RecursionError:
            raise CelEvaluationError("expression nests too deeply for this record") from None

    return evaluate


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such field {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"


def _interpreted(tree: Node) -> Evaluate:
    program = celpy.Environment().program(tree)

    def evaluate(record: Any) -> Any:
        try:
            result: Any = program.evaluate({RECORD: json_to_cel(record)})
        except CELEvalError as exc:
            result = exc
        if isinstance(result, CELEvalError):
            raise CelEvaluationError(str(result.args[0] if result.args else result))
        # cel-python's own types subclass Python's; hand back the plain values.
        if isinstance(result, celpy.celtypes.BoolType):
            return bool(result)
        return result

    return evaluate


# -- runtime: the few helpers generated code calls ------------------------------------------


def _timestamp(value: Any) -> datetime:
    if type(value) is not str:  # the record's own strings first: they are the common case
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise TypeError(f"timestamp() takes a string, not {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return parsed


def _compare_times(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """`compare` of ``timestamp(a)`` and ``timestamp(b)``, for texts known to be RFC 3339.

    Two such texts of one length, in UTC ("...Z") with "T" between date and time, order as
    their times do. Left to `_timestamp` are the RFC 3339 texts it refuses (a leap second,
    the year 0000, a lowercase "t") and those it rounds (more than six fraction digits).
    """

    def compare_times(a: Any, b: Any) -> bool:
        if (
            type(a) is str
            and type(b) is str
            and len(a) == len(b) <= 27
            and a[-1] == b[-1] == "Z"
            and a[10] == b[10] == "T"
            and a[17] != "6" != b[17]
            and a > "0001" < b
        ):
            return compare(a, b)
        return compare(_timestamp(a), _timestamp(b))

    return compare_times


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def _int64(value: Any) -> Any:
    """`value`, unless it is an int that CEL's 64-bit integers cannot hold."""
    if type(value) is int and not _INT_MIN <= value <= _INT_MAX:
        raise OverflowError("integer overflow: the result does not fit in 64 bits")
    return value


def _add(a: Any, b: Any) -> Any:
    return _int64(a + b)


def _sub(a: Any, b: Any) -> Any:
    return _int64(a - b)


def _mul(a: Any, b: Any) -> Any:
    return _int64(a * b)


def _neg(a: Any) -> Any:
    return _int64(-a)


def _int_div(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b == 0:
            raise ZeroDivisionError("division by zero")
        quotient = abs(a) // abs(b)
        return _int64(quotient if (a >= 0) == (b >= 0) else -quotient)
    return a / b


def _int_mod(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return a - _int_div(a, b) * b
    raise TypeError("% takes integers")


def _has(container: Any, key: str) -> bool:
    if isinstance(container, Mapping):
        return key in container
    raise TypeError(f"has() on a {type(container).__name__}")


def _size(value: Any) -> int:
    if isinstance(value, str | bytes | list | tuple | Mapping):
        return len(value)
    raise TypeError(f"size() of a {type(value).__name__}")


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _matches(text: str, pattern: str) -> bool:
    return _regex(pattern).search(text) is not None


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # CEL's regexes are RE2's: `$` only at the very end, ASCII \d, \w and \s.
    return re.compile(for_engine(pattern, "python", "re2"))


def _int(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, float) and not -(2.0**63) <= value < 2.0**63:  # NaN too
        raise ValueError("int() out of range")
    result: int = _int64(int(value))  # int("99999999999999999999") is out of range too
    return result


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise TypeError(f"expected a bool, got {type(value).__name__}")


def _cel_or(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """CEL's ``||``: true when either side is, even if the other raises."""
    try:
        if _truthy(left()):
            return True
    except _ERRORS:
        if _truthy(right()):
            return True
        raise
    return _truthy(right())


def _cel_and(left: Callable[[], Any], right: Callable[[], Any]) -> bool:
    """CEL's ``&&``: false when either side is, even if the other raises."""
    try:
        if not _truthy(left()):
            return False
    except _ERRORS:
        if not _truthy(right()):
            return False
        raise
    return _truthy(right())


_RUNTIME: dict[str, Any] = {
    "__builtins__": {"len": len, "all": all, "any": any, "sum": sum, "isinstance": isinstance},
    "_timestamp": _timestamp,
    "_duration": _duration,
    "_int_div": _int_div,
    "_int_mod": _int_mod,
    "_add": _add,
    "_sub": _sub,
    "_mul": _mul,
    "_neg": _neg,
    "_has": _has,
    "_size": _size,
    "_string": _string,
    "_matches": _matches,
    "_int": _int,
    "_double": float,
    "_bool": _truthy,
    "_truthy": _truthy,
    "_cel_or": _cel_or,
    "_cel_and": _cel_and,
    "_ERRORS": _ERRORS,
    "_UTC": UTC,
    **{
        f"_times_{name}": _compare_times(getattr(operator, name))
        for name in ("lt", "le", "gt", "ge", "eq", "ne")
    },
}

# -- code generation -----------------------------------------------------------------------

_BINARY = {
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_in": "in",
}
# Arithmetic is checked for 64-bit overflow, as CEL's integers are 64 bits.
_ARITHMETIC = {
    "addition_add": "_add",
    "addition_sub": "_sub",
    "multiplication_mul": "_mul",
    "multiplication_div": "_int_div",
    "multiplication_mod": "_int_mod",
}
_TIME_RELATIONS = {
    "relation_lt": "lt",
    "relation_le": "le",
    "relation_gt": "gt",
    "relation_ge": "ge",
    "relation_eq": "eq",
    "relation_ne": "ne",
}
_FUNCTIONS = {
    "size": "_size",
    "int": "_int",
    "double": "_double",
    "string": "_string",
    "timestamp": "_timestamp",
    "duration": "_duration",
    "matches": "_matches",
    "bool": "_truthy",
}
_METHODS: dict[str, Callable[[str, list[str]], str]] = {
    "startsWith": lambda t, a: f"{t}.startswith({a[0]})",
    "endsWith": lambda t, a: f"{t}.endswith({a[0]})",
    "contains": lambda t, a: f"({a[0]} in {t})",
    "matches": lambda t, a: f"_matches({t}, {a[0]})",
    "size": lambda t, a: f"_size({t})",
    "lowerAscii": lambda t, a: f"{t}.lower()",
    "upperAscii": lambda t, a: f"{t}.upper()",
}


class _Generator:
    """Python source for CEL expressions over ``this``.

    Macros (``all``, ``exists``...) become loop functions of their own, emitted before the
    expression's function by `module`: a plain ``for`` loop that returns early costs a
    third of ``all(<generator expression>)`` per record, with the same short-circuit.
    `membership_only` spells ``has()`` as a bare ``in`` test of the map's keys: for the
    all-rules fast path, where any error only means "ask each rule on its own", and the
    per-rule path keeps the descriptive TypeError. `date_times`: see `compile_all`.
    `exact` evaluates ``&&``/``||`` and ``all``/``exists`` as CEL does when a side or an item
    raises (see the module doc): slower, for records where the plain function raised.
    """

    def __init__(
        self,
        *,
        membership_only: bool = False,
        date_times: frozenset[tuple[str, ...]] = frozenset(),
        exact: bool = False,
    ) -> None:
        self.counter = 0
        self.booleans: set[str] = set()  # generated expressions known to yield a bool
        self.loops: list[str] = []  # macro functions, in the order they were made
        self.membership_only = membership_only
        self.date_times = date_times
        self.exact = exact

    def _bool(self, source: str) -> str:
        self.booleans.add(source)
        return source

    def _truth(self, source: str) -> str:
        """`source` as a condition: CEL wants a bool there, not Python truthiness."""
        return source if source in self.booleans else f"_truthy({source})"

    def body(self, tree: Node) -> str:
        """The rule as one Python expression over ``this``."""
        return self.expr(tree, {RECORD: "this"})

    def module(self, main: str) -> str:
        """`main` (a function definition) preceded by the macro functions it calls."""
        return "".join(self.loops) + main

    def expr(self, node: Node, scope: dict[str, str]) -> str:
        handler = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise _Unsupported(node.data)
        result: str = handler(node, scope)
        return result

    def _child(self, node: Node, i: int) -> Node:
        child = node.children[i]
        if not isinstance(child, lark.Tree):
            raise _Unsupported(f"token in {node.data}")
        return child

    def _single(self, node: Node, scope: dict[str, str]) -> str:
        return self.expr(self._child(node, 0), scope)

    def _expr(self, node: Node, scope: dict[str, str]) -> str:
        if len(node.children) == 1:
            return self._single(node, scope)
        cond, yes, no = (self.expr(self._child(node, i), scope) for i in range(3))
        return f"({yes} if {self._truth(cond)} else {no})"

    def _logical(self, node: Node, scope: dict[str, str], op: str) -> str:
        if len(node.children) == 1:
            return self._single(node, scope)
        left, right = (self.expr(self._child(node, i), scope) for i in range(2))
        if self.exact:
            return self._bool(f"_cel_{op}(lambda: {left}, lambda: {right})")
        return self._bool(f"({self._truth(left)} {op} {self._truth(right)})")

    def _conditionalor(self, node: Node, scope: dict[str, str]) -> str:
        return self._logical(node, scope, "or")

    def _conditionaland(self, node: Node, scope: dict[str, str]) -> str:
        return self._logical(node, scope, "and")

    def _binary(self, node: Node, scope: dict[str, str]) -> str:
        if len(node.children) == 1:
            return self._single(node, scope)
        op_node = self._child(node, 0)
        if op_node.data in _TIME_RELATIONS and self.date_times:
            a = self._date_time_argument(self._child(op_node, 0), scope)
            b = self._date_time_argument(self._child(node, 1), scope)
            if a is not None and b is not None:
                name = _TIME_RELATIONS[op_node.data]
                return self._bool(f"_times_{name}({self.expr(a, scope)}, {self.expr(b, scope)})")
        left = self.expr(self._child(op_node, 0), scope)
        right = self.expr(self._child(node, 1), scope)
        if op_node.data in _ARITHMETIC:
            return f"{_ARITHMETIC[op_node.data]}({left}, {right})"
        if op_node.data not in _BINARY:
            raise _Unsupported(op_node.data)
        combined = f"({left} {_BINARY[op_node.data]} {right})"
        return self._bool(combined) if op_node.data.startswith("relation") else combined

    _relation = _binary
    _addition = _binary
    _multiplication = _binary

    def _date_time_argument(self, node: Node, scope: dict[str, str]) -> Node | None:
        """The argument of ``timestamp(this.f...)`` when that field is in `date_times`."""
        call = _leaf(node)
        if call.data != "ident_arg" or str(call.children[0]) != "timestamp":
            return None
        args = self._args(call, 1)
        if len(args) != 1 or scope.get(RECORD) != "this":
            return None
        path: list[str] = []
        field = _leaf(args[0])
        while field.data == "member_dot":
            path.insert(0, str(field.children[1]))
            field = _leaf(self._child(field, 0))
        if field.data != "ident" or str(field.children[0]) != RECORD:
            return None
        return args[0] if tuple(path) in self.date_times else None

    def _unary(self, node: Node, scope: dict[str, str]) -> str:
        if len(node.children) == 1:
            return self._single(node, scope)
        op = self._child(node, 0).data
        operand = self.expr(self._child(node, 1), scope)
        if op == "unary_not":
            return self._bool(f"(not {self._truth(operand)})")
        if op == "unary_neg":
            with contextlib.suppress(ValueError, SyntaxError, TypeError, OverflowError):
                # A negative literal (``-1``) is folded, not negated per record.
                return repr(_neg(ast.literal_eval(operand)))
            return f"_neg({operand})"
        raise _Unsupported(op)

    def _member(self, node: Node, scope: dict[str, str]) -> str:
        return self._single(node, scope)

    def _primary(self, node: Node, scope: dict[str, str]) -> str:
        return self._single(node, scope)

    def _paren_expr(self, node: Node, scope: dict[str, str]) -> str:
        return self._single(node, scope)

    def _member_dot(self, node: Node, scope: dict[str, str]) -> str:
        target = self.expr(self._child(node, 0), scope)
        return f"{target}[{str(node.children[1])!r}]"

    def _member_index(self, node: Node, scope: dict[str, str]) -> str:
        target = self.expr(self._child(node, 0), scope)
        return f"{target}[{self.expr(self._child(node, 1), scope)}]"

    def _args(self, node: Node, index: int) -> list[Node]:
        if len(node.children) <= index:
            return []
        return [c for c in self._child(node, index).children if isinstance(c, lark.Tree)]

    def _member_dot_arg(self, node: Node, scope: dict[str, str]) -> str:
        method = str(node.children[1])
        args = self._args(node, 2)
        target = self.expr(self._child(node, 0), scope)
        if method in ("all", "exists", "exists_one", "map", "filter"):
            return self._macro(method, target, args, scope)
        if method not in _METHODS:
            raise _Unsupported(method)
        return _METHODS[method](target, [self.expr(a, scope) for a in args])

    def _macro(self, method: str, target: str, args: list[Node], scope: dict[str, str]) -> str:
        variable = _bare_name(args[0]) if args else None
        if variable is None or len(args) not in (2, 3) or (len(args) == 3 and method != "map"):
            raise _Unsupported(f"{method} macro form")
        name = f"_v{self.counter}"
        self.counter += 1
        inner = {**scope, variable: name}
        body = [self.expr(a, inner) for a in args[1:]]
        loop = f"for {name} in {target}"
        match method, body:
            case "all", [predicate]:
                return self._loop(name, target, scope, f"if not {self._truth(predicate)}:", "False")
            case "exists", [predicate]:
                return self._loop(name, target, scope, f"if {self._truth(predicate)}:", "True")
            case "exists_one", [predicate]:
                return self._bool(f"(sum(1 {loop} if {self._truth(predicate)}) == 1)")
            case "filter", [predicate]:
                return f"[{name} {loop} if {self._truth(predicate)}]"
            case "map", [transform]:
                return f"[{transform} {loop}]"
            case "map", [predicate, transform]:
                return f"[{transform} {loop} if {self._truth(predicate)}]"
        raise _Unsupported(method)

    def _loop(self, name: str, target: str, scope: dict[str, str], test: str, found: str) -> str:
        """A call of a new function that returns `found` at the first item passing `test`.

        The function takes the items and every variable in scope (the macro's predicate
        may use ``this`` and the variables of enclosing macros).
        """
        function = f"_loop{len(self.loops)}"
        params = ", ".join(sorted(set(scope.values())))
        if self.exact:
            # An item that decides wins over an item that raised, whichever comes first.
            self.loops.append(
                f"def {function}(_items, {params}):\n"
                "    _error = None\n"
                f"    for {name} in _items:\n"
                "        try:\n"
                f"            {test}\n"
                f"                return {found}\n"
                "        except _ERRORS as _exc:\n"
                "            _error = _error or _exc\n"
                "    if _error is not None:\n"
                "        raise _error\n"
                f"    return {not ast.literal_eval(found)}\n"
            )
        else:
            self.loops.append(
                f"def {function}(_items, {params}):\n"
                f"    for {name} in _items:\n"
                f"        {test}\n"
                f"            return {found}\n"
                f"    return {not ast.literal_eval(found)}\n"
            )
        return self._bool(f"{function}({target}, {params})")

    def _ident(self, node: Node, scope: dict[str, str]) -> str:
        name = str(node.children[0])
        if name not in scope:
            raise _Unsupported(f"identifier {name}")
        return scope[name]

    def _ident_arg(self, node: Node, scope: dict[str, str]) -> str:
        name = str(node.children[0])
        args = self._args(node, 1)
        if name == "has":
            return self._has(args, scope)
        if name not in _FUNCTIONS:
            raise _Unsupported(name)
        return f"{_FUNCTIONS[name]}({', '.join(self.expr(a, scope) for a in args)})"

    def _has(self, args: list[Node], scope: dict[str, str]) -> str:
        selection = _leaf(args[0]) if len(args) == 1 else None
        if selection is None or selection.data != "member_dot":
            raise _Unsupported("has() needs a field selection")
        target = self.expr(self._child(selection, 0), scope)
        key = repr(str(selection.children[1]))
        if self.membership_only:
            # Not a map: no .keys(), an AttributeError, which the fast path treats as false.
            return self._bool(f"({key} in {target}.keys())")
        return self._bool(f"_has({target}, {key})")

    def _list_lit(self, node: Node, scope: dict[str, str]) -> str:
        return "[" + ", ".join(self.expr(a, scope) for a in self._args(node, 0)) + "]"

    def _map_lit(self, node: Node, scope: dict[str, str]) -> str:
        items = self._args(node, 0)
        pairs = [
            f"{self.expr(items[i], scope)}: {self.expr(items[i + 1], scope)}"
            for i in range(0, len(items), 2)
        ]
        return "{" + ", ".join(pairs) + "}"

    def _literal(self, node: Node, scope: dict[str, str]) -> str:
        token = node.children[0]
        assert isinstance(token, lark.Token)
        return repr(_literal_value(token))


def _leaf(node: Node) -> Node:
    while len(node.children) == 1 and isinstance(node.children[0], lark.Tree):
        node = node.children[0]
    return node


def _bare_name(node: Node) -> str | None:
    leaf = _leaf(node)
    return str(leaf.children[0]) if leaf.data == "ident" else None


def _literal_value(token: lark.Token) -> Any:
    text = str(token)
    match token.type:
        case "INT_LIT":
            return int(text, 0)
        case "UINT_LIT":
            return int(text[:-1], 0)
        case "FLOAT_LIT":
            return float(text)
        case "BOOL_LIT":
            return text == "true"
        case "NULL_LIT":
            return None
        case "STRING_LIT":
            if text[:1] in "rR":
                quote = 3 if text[1:4] in ('"""', "'''") else 1
                return text[1 + quote : -quote]
            value = ast.literal_eval(text)
            if not isinstance(value, str):
                raise _Unsupported("string literal")
            return value
    raise _Unsupported(token.type)
