"""JSON Schema patterns, rewritten for the regex engine of each batch backend.

A schema's ``pattern`` (and the patterns `spec.FORMAT_PATTERNS` gives formats) is read the
way the per-record validator (jsonschema-rs) reads it, which is ECMA-262's way: ``$`` matches
only at the very end, ``\\d`` and ``\\w`` are ASCII, ``\\s`` is ECMA's whitespace; ``.`` is
anything but a newline. The engines the backends run read these otherwise: Python's ``re``
(pandas' object columns) and Java's (Spark) let ``$`` match before a final newline, ``re``
and Rust's (polars) take Unicode digits and letters for ``\\d`` and ``\\w``, RE2 (Arrow) and
Java take ASCII whitespace only for ``\\s``, and Java's ``.`` stops at ``\\r`` too.
`for_engine` spells those constructs so that each engine means the same, and a value passes
on every backend exactly when it passes per record. ``\\D``, ``\\W`` and ``\\S`` inside a
character class and ``\\b`` are left as the engine reads them.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

__all__ = ["Engine", "for_engine"]

Engine = Literal["python", "re2", "rust", "java"]

# ECMA-262's WhiteSpace and LineTerminator: what its \s matches.
_SPACE = "\\t\\n\\x0b\\f\\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_", "s": _SPACE}


@cache
def for_engine(pattern: str, engine: Engine) -> str:
    """`pattern` (ECMA-262) as `engine` must be given it to match the same strings."""
    end = "\\Z" if engine == "python" else "\\z"  # Python's \Z is the others' \z
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            members = _CLASSES.get(escaped.lower())
            if members is None or (in_class and escaped.isupper()):
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
        elif char == "$":
            char = end
        elif char == "." and engine == "java":
            char = "[^\\n]"
        out.append(char)
        i += 1
    return "".join(out)
