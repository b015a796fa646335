"""Confluent rule sets and Accord rules: CEL conditions over ``message`` become rules over
``this``.

A domain rule of kind CONDITION and type CEL (not disabled) is a row-level check, exactly
what an Accord rule is: its expression is rewritten from Confluent's variable ``message`` to
Accord's ``this`` and it becomes one of the contract's `rules` (its `doc` the description;
``onFailure: NONE`` a warning, anything else an error). Everything else (transforms,
CEL_FIELD, migration and encoding rules, modes, actions, params, tags) has no Accord
equivalent: the registered rule set is kept verbatim in the contract's
``extensions.confluent.ruleSet`` and served back as it was registered. A condition Accord
cannot run (it reads a field the schema does not declare, or is not valid CEL) is kept only
there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from contracts import RuleSyntaxError, compile_rule
from contracts.paths import field_schemas

__all__ = ["accord_rules", "mapped_names", "message_to_this"]

CONFLUENT_VARIABLE = "message"
ACCORD_VARIABLE = "this"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_PREFIX = re.compile(r"(?:[rR][bB]?|[bB][rR]?)?('''|\"\"\"|'|\")")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")


def _tokens(expr: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces of a CEL expression: ``ident``, ``string``, ``comment``, ``other``."""
    i = 0
    while i < len(expr):
        string = _STRING_PREFIX.match(expr, i)
        if string is not None:
            quote = string.group(1)
            raw = "r" in expr[i : string.start(1)].lower()
            j = string.end()
            while j < len(expr) and not expr.startswith(quote, j):
                j += 2 if expr[j] == "\\" and not raw else 1
            j = min(len(expr), j + len(quote))
            yield "string", expr[i:j]
            i = j
            continue
        if expr.startswith("//", i):  # a comment, to the end of the line
            end = expr.find("\n", i)
            end = len(expr) if end < 0 else end
            yield "comment", expr[i:end]
            i = end
            continue
        ident = _IDENTIFIER.match(expr, i)
        if ident is not None:
            yield "ident", ident.group()
            i = ident.end()
            continue
        yield "other", expr[i]
        i += 1


def message_to_this(expr: str) -> str | None:
    """`expr` with the record variable renamed; None when it already uses ``this``."""
    out: list[str] = []
    previous = ""  # the last significant character before the current token
    for kind, text in _tokens(expr):
        if kind == "ident" and previous != ".":
            if text == ACCORD_VARIABLE:
                return None
            if text == CONFLUENT_VARIABLE:
                text = ACCORD_VARIABLE
        out.append(text)
        if kind != "comment" and text.strip():
            previous = text[-1]
    return "".join(out)


def _condition(rule: Mapping[str, Any]) -> bool:
    return (
        rule.get("kind") == "CONDITION"
        and rule.get("type") == "CEL"
        and not rule.get("disabled")
        and isinstance(rule.get("expr"), str)
        and isinstance(rule.get("name"), str)
    )


def _name(name: str) -> str:
    cleaned = _NAME_BAD.sub("_", name)
    if not re.match(r"[A-Za-z_]", cleaned):
        cleaned = "_" + cleaned
    return cleaned[:200]


def mapped_names(rule_set: Mapping[str, Any] | None) -> set[str]:
    """The Accord names of the rules `rule_set` can contribute (whether or not they did)."""
    rules = (rule_set or {}).get("domainRules") or []
    return {_name(r["name"]) for r in rules if isinstance(r, Mapping) and _condition(r)}


def _severity(on_failure: Any) -> str:
    actions = [a.strip().upper() for a in str(on_failure or "ERROR").split(",")]
    return "warning" if all(a == "NONE" for a in actions) else "error"


def _runs_on(expression: str, schema: Mapping[str, Any] | bool) -> bool:
    try:
        compiled = compile_rule(expression)
    except RuleSyntaxError:
        return False
    return all(field_schemas(schema, path) for path in compiled.fields)


def accord_rules(
    rule_set: Mapping[str, Any] | None, schema: Mapping[str, Any] | bool
) -> list[dict[str, Any]]:
    """The Accord rule documents for the CEL conditions of `rule_set` Accord can run."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rule in (rule_set or {}).get("domainRules") or []:
        if not isinstance(rule, Mapping) or not _condition(rule):
            continue
        expression = message_to_this(rule["expr"])
        name = _name(rule["name"])
        if expression is None or name in seen or not _runs_on(expression, schema):
            continue
        seen.add(name)
        doc: dict[str, Any] = {
            "name": name,
            "expression": expression,
            "severity": _severity(rule.get("onFailure")),
        }
        if isinstance(rule.get("doc"), str) and rule["doc"]:
            doc["description"] = rule["doc"]
        out.append(doc)
    return out
