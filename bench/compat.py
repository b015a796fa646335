"""Time to check a 1,000-property contract against 50 earlier versions (FULL_TRANSITIVE).

Prints the check time and its ratio to the time of loading the same 51 documents (parse,
validate, build the model) measured in the same run. Goal: check under 0.5 s.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from contracts import CompatibilityMode, Contract, Policy, load_contract, parse_text
from contracts.compatibility import check_compatibility

PROPERTIES, VERSIONS, REPEAT = 1000, 50, 5
TYPES = ["string", "integer", "number", "boolean"]


def document(version: int) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for i in range(PROPERTIES + version):
        kind = TYPES[i % 4]
        prop: dict[str, Any] = {"type": kind, "description": f"field {i}"}
        if kind == "string":
            prop["maxLength"] = 64
        elif kind == "integer":
            prop["minimum"] = 0
        properties[f"field_{i:04d}"] = prop
    return {
        "name": "bench.wide",
        "owner": {"team": "bench"},
        "description": f"version {version}",
        "compatibility": {"mode": "FULL_TRANSITIVE", "policy": "LENIENT"},
        "schema": {
            "type": "object",
            "required": [f"field_{i:04d}" for i in range(0, PROPERTIES, 10)],
            "properties": properties,
        },
        "semantics": {f"field_{i:04d}": {"unit": "ms"} for i in range(0, PROPERTIES, 50)},
        "rules": [{"name": "r1", "expression": "this.field_0001 >= 0"}],
    }


def best_of(fn: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    texts = [json.dumps(document(v)) for v in range(VERSIONS + 1)]

    def load_all() -> list[Contract]:
        return [load_contract(parse_text(t, fmt="json")) for t in texts]

    contracts = load_all()
    history = list(enumerate(contracts[:-1], start=1))
    candidate = contracts[-1]

    def check() -> object:
        report = check_compatibility(
            candidate, history, mode=CompatibilityMode.FULL_TRANSITIVE, policy=Policy.LENIENT
        )
        assert report.compatible, [c for c in report.changes if not c.compatible][:3]
        return report

    load_best, load_median = best_of(load_all)
    check_best, check_median = best_of(check)
    print(f"compat: {PROPERTIES}-property contract vs {VERSIONS} versions, FULL_TRANSITIVE")
    for label, best, median in (
        ("load 51 documents (baseline)", load_best, load_median),
        ("compatibility check", check_best, check_median),
    ):
        print(f"  {label:30} best {best * 1000:8.1f} ms  median {median * 1000:8.1f} ms")
    print(
        f"  ratio check / load: {check_best / load_best:.2f}x   goal: check < 500 ms "
        f"({'met' if check_best < 0.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
