"""`enforcers.patterns` against the engines whose reading it reproduces, on generated input.

Each generated pattern is searched in each generated string by Python's re, Rust's regex
(polars) and RE2 (Arrow), each given `for_engine`'s rewrite; the verdicts must be the
per-record validator's (jsonschema-rs, ECMA-262) for schema patterns and google-re2's for
CEL's. Spark (Java) is covered by the example-based tests in tests/batch/test_patterns.py.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from enforcers.patterns import Dialect, for_engine

# The constructs engines read differently, and plain ones around them. Upper-case classes
# inside a class ([\D]) are left as each engine reads them (documented), so not generated.
ATOMS = ["a", "b", "1", ".", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\.", "\\$"]
CLASS_MEMBERS = ["a", "1", ".", "$", "\\d", "\\w", "\\s", "_"]
QUANTIFIERS = ["", "", "*", "+", "?"]
ALPHABET = [
    "a", "b", "1", "_", ".", "$", " ", "\n", "\r", "\t", "\x0b", "\x85", "\xa0", "\ufeff",
    "\u2028", "\u0663", "\u00e9", "\u00b2",
]  # fmt: skip


@st.composite
def patterns(draw: Any) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            members = "".join(draw(st.lists(st.sampled_from(CLASS_MEMBERS), min_size=1)))
            atom = f"[{'^' if draw(st.booleans()) else ''}{members}]"
        else:
            atom = draw(st.sampled_from(ATOMS))
        pieces.append(atom + draw(st.sampled_from(QUANTIFIERS)))
    body = "".join(pieces)
    if draw(st.booleans()):
        body = f"(?:{body}|{draw(st.sampled_from(ATOMS))})"
    return f"{'^' if draw(st.booleans()) else ''}{body}{'$' if draw(st.booleans()) else ''}"


texts = st.lists(st.text(st.sampled_from(ALPHABET), max_size=5), min_size=1, max_size=8)


def engines_agree(pattern: str, values: list[str], dialect: Dialect, expected: list[bool]) -> None:
    python = re.compile(for_engine(pattern, "python", dialect))
    assert [python.search(v) is not None for v in values] == expected, "python"
    rust = pl.Series(values).str.contains(for_engine(pattern, "rust", dialect))
    assert rust.to_list() == expected, "rust"
    arrow = pc.match_substring_regex(pa.array(values), for_engine(pattern, "re2", dialect))
    assert arrow.to_pylist() == expected, "re2"


@settings(max_examples=300, deadline=None)
@given(patterns(), texts)
def test_schema_patterns_read_as_per_record(pattern: str, values: list[str]) -> None:
    per_record = jsonschema_rs.validator_for({"pattern": pattern})
    engines_agree(pattern, values, "ecma", [per_record.is_valid(v) for v in values])


@settings(max_examples=300, deadline=None)
@given(patterns(), texts)
def test_cel_patterns_read_as_re2(pattern: str, values: list[str]) -> None:
    engines_agree(pattern, values, "re2", [re2.search(pattern, v) is not None for v in values])
