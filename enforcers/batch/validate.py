"""`validate(df, contract)`: one dataframe against one contract version, vectorized."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from contracts import Contract, QualityType, Severity, load_file
from enforcers.batch.plan import Evaluation, Measures, Plan, make_plan
from enforcers.batch.report import CheckResult, ContractBreach, ValidationReport
from enforcers.batch.spec import Unmappable, table_spec

__all__ = [
    "Reporter",
    "ResolvedContract",
    "backend_for",
    "judge_dataset",
    "resolve_contract",
    "validate",
]

ContractRef = Contract | str | os.PathLike[str]


class Reporter(Protocol):
    """Where reports go: anything with ``report(report, source)`` (the registry's breach
    store through `enforcers`' BreachReporter, a log, a test double)."""

    def report(self, report: ValidationReport, source: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ResolvedContract:
    contract: Contract
    version: int | None
    origin: str  # the file, the registry name@version, or "Contract"


def resolve_contract(
    ref: ContractRef, version: int | None = None, *, registry: str | None = None
) -> ResolvedContract:
    """A `Contract`, a contract file (YAML/JSON), or a registry name (``name`` or ``name@3``).

    Names are fetched with `enforcers.registry_client.RegistryClient` from `registry`, else
    ``ACCORD_REGISTRY_URL``.
    """
    if isinstance(ref, Contract):
        return ResolvedContract(ref, version, "Contract")
    text = os.fspath(ref)
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        return ResolvedContract(load_file(text), version, text)
    name, _, at = text.partition("@")
    if at:
        if not (at.isascii() and at.isdigit()) and at != "latest":
            raise ValueError(f"bad contract version in {text!r}: expected name@N")
        if at.isascii() and at.isdigit():
            version = int(at)
    from enforcers.registry_client import RegistryClient

    with RegistryClient(registry or os.environ.get("ACCORD_REGISTRY_URL")) as client:
        found = client.get_version(name, version if version is not None else "latest")
    return ResolvedContract(found.contract, found.version, f"{found.name}@{found.version}")


class Backend(Protocol):
    name: str

    def evaluate(self, df: Any, plan: Plan) -> Evaluation: ...


def backend_for(df: Any) -> Backend:
    """The backend for a dataframe: pandas, polars (eager or lazy) or PySpark."""
    module = type(df).__module__.split(".")[0]
    if module == "pandas":
        from enforcers.batch.backends.pandas import PandasBackend

        return PandasBackend()
    if module == "polars":
        from enforcers.batch.backends.polars import PolarsBackend

        return PolarsBackend()
    if module == "pyspark":
        from enforcers.batch.backends.spark import SparkBackend

        return SparkBackend()
    raise TypeError(
        f"cannot validate a {type(df).__module__}.{type(df).__name__}: "
        "expected a pandas, polars or PySpark DataFrame"
    )


def validate(
    df: Any,
    contract: ContractRef,
    *,
    version: int | None = None,
    lazy: bool = True,
    reporter: Reporter | None = None,
    source: str | None = None,
    now: datetime | None = None,
    samples: int = 5,
    max_indices: int = 1000,
    unmappable: Unmappable = "note",
) -> ValidationReport:
    """Validate a pandas, polars or PySpark DataFrame against a contract.

    `contract`: a `Contract`, a contract file, or a registry name (``orders.created``,
    ``orders.created@3``; `version` picks one too). Schema checks, CEL rules (vectorized,
    row-wise only as a fallback), quality and SLA checks all run (``lazy=True``); with
    ``lazy=False`` the first failing stage raises `ContractBreach` (carrying the report so
    far) instead. `reporter.report(report, source)` is called with every report, a
    breach's before it is raised.
    """
    started = time.perf_counter()
    resolved = resolve_contract(contract, version)
    backend = backend_for(df)
    spec = table_spec(resolved.contract, unmappable=unmappable)
    plan = make_plan(resolved.contract, spec, samples=samples, unmappable=unmappable)
    evaluation = backend.evaluate(df, plan)
    report = build_report(
        resolved, backend.name, evaluation, now=now, max_indices=max_indices, index=df
    )
    report.source = source
    report.duration_s = time.perf_counter() - started
    if reporter is not None:
        reporter.report(report, source or f"{backend.name}:dataframe")
    if not lazy and not report.passed:
        raise ContractBreach(report)
    return report


def build_report(
    resolved: ResolvedContract,
    backend: str,
    evaluation: Evaluation,
    *,
    now: datetime | None,
    max_indices: int,
    index: Any = None,
) -> ValidationReport:
    labels = _labels(index, evaluation.rows)
    checks: list[CheckResult] = []
    order = _order(table_spec(resolved.contract), resolved.contract)
    for row_check, outcome in sorted(evaluation.outcomes, key=lambda o: order(o[0])):
        positions = outcome.positions
        shown: list[Any] = []
        if positions is not None:
            head = positions[:max_indices]
            shown = [labels[int(p)] for p in head] if labels is not None else head.tolist()
        checks.append(
            CheckResult(
                category=row_check.category,
                name=row_check.name,
                check=row_check.check,
                field=row_check.field,
                severity=row_check.severity,
                passed=outcome.passed,
                message=row_check.message,
                failed_rows=outcome.failed,
                failing_indices=shown,
                samples=outcome.samples,
                row_wise=row_check.row_wise,
            )
        )
    checks.extend(judge_dataset(resolved.contract, evaluation.measures, now=now))
    notes = list(table_spec_notes(resolved.contract)) + evaluation.notes
    return ValidationReport(
        contract=resolved.contract.name,
        version=resolved.version,
        backend=backend,
        rows=evaluation.rows,
        checks=checks,
        not_checked=notes,
        failed_rows=evaluation.failed_rows,
        failing_positions=evaluation.failing,
        handle=evaluation,
    )


_RANK = {"required": 0, "type": 1, "not_null": 2, "unique": 8, "additionalProperties": 9}


def _order(spec: Any, contract: Contract) -> Any:
    """A stable order of row checks: by column as declared, then kind; rules as written."""
    position = {c.name: i for i, c in enumerate(spec.columns)}
    checks = {c.name: [k.name for k in c.checks] for c in spec.columns}
    rules = {r.name: i for i, r in enumerate(contract.rules)}

    def key(row_check: Any) -> tuple[int, int, int, int, str]:
        if row_check.category == "rule":
            return (1, rules.get(row_check.name, 0), 0, 0, row_check.name)
        field = row_check.field or ""
        rank = _RANK.get(row_check.check, 3)
        sub = (
            checks.get(field, []).index(row_check.check)
            if rank == 3 and row_check.check in (checks.get(field, []))
            else 0
        )
        return (0, position.get(field, len(position)), rank, sub, row_check.name)

    return key


def table_spec_notes(contract: Contract) -> Sequence[Any]:
    return table_spec(contract).not_checked


def _labels(frame: Any, n: int) -> Any:
    """Index labels of a pandas frame (positions elsewhere)."""
    index = getattr(frame, "index", None)
    if index is None or type(frame).__module__.split(".")[0] != "pandas":
        return None
    import pandas as pd

    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return None
    return index


def judge_dataset(
    contract: Contract, m: Measures, *, now: datetime | None = None
) -> list[CheckResult]:
    """Quality and SLA checks, judged on the dataset's measures."""
    from contracts import parse_path

    out: list[CheckResult] = []
    rows = m.rows
    for q in contract.quality:
        cols = tuple(".".join(parse_path(c)) for c in q.columns)
        base: dict[str, Any] = {
            "category": "quality",
            "name": q.name,
            "check": q.type.value,
            "field": ",".join(cols) or None,
            "severity": q.severity,
        }
        if not q.enforced or q.threshold is None:
            engine = f" ({q.engine})" if q.engine else ""
            out.append(
                CheckResult(
                    **base,
                    passed=True,
                    enforced=False,
                    message=f"custom check{engine}: not enforced by Accord",
                )
            )
            continue
        measured: float
        if q.type is QualityType.NULL_RATE:
            measured = m.nulls.get(cols[0], 0) / rows if rows else 0.0
            what = f"null rate of {cols[0]}"
        elif q.type is QualityType.DUPLICATE_RATE:
            measured = m.repeats.get(cols, 0) / rows if rows else 0.0
            what = f"duplicate rate of ({', '.join(cols) or 'whole rows'})"
        elif q.type is QualityType.ROW_COUNT:
            measured = float(rows)
            what = "row count"
        else:
            hits, total = m.allowed.get(q.name, (0, 0))
            measured = hits / total if total else 1.0
            what = f"share of {cols[0]} in {list(q.values)}"
        passed = q.threshold.holds(measured)
        shown = int(measured) if q.type is QualityType.ROW_COUNT else round(measured, 6)
        out.append(
            CheckResult(
                **base,
                passed=passed,
                measured=measured,
                threshold=q.threshold.describe(),
                message=f"{what} is {shown}, which must {q.threshold.describe()[5:]}"
                if not passed
                else f"{what} is {shown}",
            )
        )
    sla = contract.sla
    if sla and sla.freshness:
        moment = now or datetime.now(UTC)
        field = ".".join(parse_path(sla.freshness.field))
        limit = sla.freshness.max_delay
        if m.max_time is None:
            passed, delay, message = False, None, f"no event time in {field}: freshness unknown"
        else:
            latest = m.max_time if m.max_time.tzinfo else m.max_time.replace(tzinfo=UTC)
            lag = moment - latest
            delay = lag.total_seconds()
            passed = lag <= limit
            message = f"newest {field} is {latest.isoformat()}, {_human(delay)} old" + (
                "" if passed else f" (max {_human(limit.total_seconds())})"
            )
        out.append(
            CheckResult(
                "sla",
                "freshness",
                "freshness",
                field,
                Severity.ERROR,
                passed,
                message,
                measured=delay,
                threshold=f"<= {limit.total_seconds():g}s",
            )
        )
    if sla and sla.volume:
        low, high = sla.volume.min, sla.volume.max
        passed = (low is None or rows >= low) and (high is None or rows <= high)
        bounds = f"[{low if low is not None else ''}..{high if high is not None else ''}]"
        out.append(
            CheckResult(
                "sla",
                "volume",
                "volume",
                None,
                Severity.ERROR,
                passed,
                f"{rows} rows; the volume SLA is {bounds} per "
                f"{sla.volume.window} (a batch is one window)",
                measured=float(rows),
                threshold=bounds,
            )
        )
    return out


def _human(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    if s < 120:
        return f"{sign}{s}s"
    if s < 7200:
        return f"{sign}{s // 60}m"
    if s < 172800:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d"
