"""Regular expressions, rewritten so that every engine Accord runs reads them alike.

A schema's ``pattern`` (and the patterns `batch.spec.FORMAT_PATTERNS` gives formats) means
what it means to the per-record validator (jsonschema-rs): as in ECMA-262, ``$`` matches only
at the very end, ``\\d`` and ``\\w`` are ASCII and ``\\s`` is ECMA's whitespace; ``.`` is
anything but a newline. A CEL rule's ``matches`` is RE2's, which reads them the same way but
for ``\\s``, ASCII whitespace only. The engines that run them read these otherwise: Python's
``re`` (per-record rules, pandas' object columns) and Java's (Spark) let ``$`` match before a
final newline, ``re`` and Rust's (polars) take Unicode digits and letters for ``\\d`` and
``\\w``, each has its own ``\\s``, and Java's ``.`` stops at ``\\r`` too. `for_engine` spells
those constructs so that each engine means the same. ``\\D``, ``\\W`` and ``\\S`` inside a
character class and ``\\b`` are left as the engine reads them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

__all__ = ["Dialect", "Engine", "for_engine", "reads_alike"]

Engine = Literal["python", "re2", "rust", "java"]
Dialect = Literal["ecma", "re2"]

_DIGIT, _WORD = "0-9", "A-Za-z0-9_"
_SPACE: dict[Dialect, str] = {
    # ECMA-262's WhiteSpace and LineTerminator.
    "ecma": "\\t\\n\\x0b\\f\\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff",
    "re2": "\\t\\n\\f\\r ",
}

_FLAGS = re.compile(r"\(\?([a-zA-Z]+)[:)]")
# What `for_engine` leaves to each engine, looked for anywhere (a few false alarms are cheap):
# also "[:", which RE2 reads as a POSIX class ([[:alpha:]]) and the others as characters.
_ENGINE_READ = re.compile(r"\\[bBDWS]|\[:")


@cache
def for_engine(pattern: str, engine: Engine, dialect: Dialect = "ecma") -> str:
    """`pattern`, written in `dialect`, as `engine` must be given it to match the same."""
    classes = {"d": _DIGIT, "w": _WORD, "s": _SPACE[dialect]}
    end = "\\Z" if engine == "python" else "\\z"  # Python's \Z is the others' \z
    # Inline flags (RE2's, or ones an engine takes in a schema) change what $ and . mean.
    flags = "".join(_FLAGS.findall(pattern))
    multiline, dot_all = "m" in flags, "s" in flags
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            members = classes.get(escaped.lower())
            if escaped == "z" and engine == "python":
                out.append(end)
            elif members is None or (in_class and escaped.isupper()):
                out.append(pattern[i : i + 2])
            elif in_class:
                out.append(members)
            else:
                out.append(f"[{'^' if escaped.isupper() else ''}{members}]")
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a member, not the end of the class.
            for prefix in ("[^]", "[]"):
                if pattern.startswith(prefix, i):
                    out.append(prefix)
                    i += len(prefix)
                    break
            else:
                out.append(char)
                i += 1
            continue
        elif char == "$" and not multiline:
            char = end
        elif char == "." and engine == "java" and not dot_all:
            char = "[^\\n]"
        out.append(char)
        i += 1
    return "".join(out)


def reads_alike(pattern: str) -> bool:
    """Whether every engine reads `pattern`, as `for_engine` spells it, alike: False when it
    has ``\\b`` or ``\\B`` (Python's and Rust's are Unicode-aware, RE2's ASCII), ``\\D``,
    ``\\W``, ``\\S`` (which it leaves as they are inside a character class), or ``[:``."""
    return _ENGINE_READ.search(pattern) is None
