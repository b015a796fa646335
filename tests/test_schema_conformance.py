"""Conformance of the JSON Schema diff with Confluent Schema Registry.

The cases are Confluent's own test resources (json-schema-provider), kept outside the repository in
``../shared/conformance/confluent-json-schema`` or the folder named by ``ACCORD_CONFORMANCE_DIR``.
For every case we check the STRICT verdict, the LENIENT verdict and the set of reported changes.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts.compatibility.schema_diff import Policy, diff_schemas

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE_DIR = Path(
    os.environ.get(
        "ACCORD_CONFORMANCE_DIR",
        REPO_ROOT.parent / "shared" / "conformance" / "confluent-json-schema",
    )
)
CASE_FILES = (
    "diff-schema-examples.json",
    "diff-schema-examples-2020-12.json",
    "diff-combined-schema-examples.json",
    "diff-combined-schema-examples-2020-12.json",
)
EXPECTED_CASES = 263


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    original: Any
    update: Any
    changes: frozenset[str]
    strict: bool
    lenient: bool


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def load_cases(directory: Path = CONFORMANCE_DIR) -> list[Case]:
    """Every case of the four files, in file order; ``[]`` when the folder is missing."""
    if not directory.is_dir():
        return []
    cases = []
    for name in CASE_FILES:
        stem = name.removesuffix(".json")
        for index, raw in enumerate(json.loads((directory / name).read_text(encoding="utf-8"))):
            cases.append(
                Case(
                    id=f"{stem}-{index:03d}-{_slug(raw['description'])}",
                    description=raw["description"],
                    original=raw["original_schema"],
                    update=raw["update_schema"],
                    changes=frozenset(raw["changes"]),
                    strict=raw["compatible"],
                    lenient=raw.get("compatible_lenient", raw["compatible"]),
                )
            )
    return cases


CASES = load_cases()


def _data_missing() -> None:
    message = (
        f"!!! Confluent JSON Schema conformance data NOT FOUND at {CONFORMANCE_DIR} "
        "(set ACCORD_CONFORMANCE_DIR): the schema diff is NOT being checked against Confluent !!!"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _case_params() -> list[Any]:
    if not CASES:
        return [pytest.param(None, id="conformance-data-missing")]
    return [pytest.param(case, id=case.id) for case in CASES]


def _verdicts(case: Case) -> tuple[bool, bool, frozenset[str]]:
    changes = diff_schemas(case.original, case.update)
    strict = all(change.is_compatible(Policy.STRICT) for change in changes)
    lenient = all(change.is_compatible(Policy.LENIENT) for change in changes)
    return strict, lenient, frozenset(f"{change.type} {change.path}" for change in changes)


@pytest.mark.parametrize("case", _case_params())
def test_strict_verdict(case: Case | None) -> None:
    if case is None:
        _data_missing()
        return
    strict, _, changes = _verdicts(case)
    assert strict == case.strict, f"{case.description}: got {sorted(changes)}"


@pytest.mark.parametrize("case", _case_params())
def test_lenient_verdict(case: Case | None) -> None:
    if case is None:
        _data_missing()
        return
    _, lenient, changes = _verdicts(case)
    assert lenient == case.lenient, f"{case.description}: got {sorted(changes)}"


@pytest.mark.parametrize("case", _case_params())
def test_change_set(case: Case | None) -> None:
    if case is None:
        _data_missing()
        return
    _, _, changes = _verdicts(case)
    assert changes == case.changes, case.description


def test_conformance_score(capsys: pytest.CaptureFixture[str]) -> None:
    if not CASES:
        _data_missing()
    assert len(CASES) == EXPECTED_CASES, f"expected {EXPECTED_CASES} cases in {CONFORMANCE_DIR}"
    strict_ok = lenient_ok = changes_ok = 0
    failing = []
    for case in CASES:
        strict, lenient, changes = _verdicts(case)
        strict_ok += strict == case.strict
        lenient_ok += lenient == case.lenient
        changes_ok += changes == case.changes
        if (strict, lenient, changes) != (case.strict, case.lenient, case.changes):
            failing.append(case.id)
    total = len(CASES)
    score = (
        f"conformance: strict {strict_ok}/{total}, lenient {lenient_ok}/{total}, "
        f"change sets {changes_ok}/{total}"
    )
    with capsys.disabled():  # show the score in every run, not only on failure
        print(f"\n{score}")
    assert not failing, f"{score}; disagreeing: {failing}"
