"""What a batch validation found: one result per check, and the verdict.

Severities decide the verdict: a failed check of severity ``warning`` (rules and quality
checks may be warnings; schema and SLA checks are errors) does not fail the dataset. Values
of fields classified ``pii`` or ``sensitive`` never appear in samples: they are
``"<redacted>"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts import Severity
from enforcers.batch.spec import NotChecked

__all__ = ["REDACTED", "Category", "CheckResult", "ContractBreach", "ValidationReport"]

Category = Literal["schema", "rule", "quality", "sla"]
CATEGORIES: tuple[Category, ...] = ("schema", "rule", "quality", "sla")
REDACTED = "<redacted>"


@dataclass(slots=True)
class CheckResult:
    category: Category
    name: str  # unique in the report: "order_id: format:uuid", a rule's or check's name
    check: str  # what kind: type, required, nullable, minimum, ...; rule; null_rate; freshness
    field: str | None
    severity: Severity
    passed: bool
    message: str = ""
    failed_rows: int = 0  # row-level checks: rows that fail it
    failing_indices: list[Any] = dataclasses.field(default_factory=list)  # the first ones
    samples: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # PII redacted
    measured: float | None = None  # dataset-level checks: the measured value
    threshold: str | None = None
    row_wise: bool = False  # evaluated record by record (no column expression)
    enforced: bool = True  # False: carried in the contract, not run (custom quality checks)

    @property
    def breaches(self) -> bool:
        """Failed, and at error severity."""
        return self.enforced and not self.passed and self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "category": self.category,
            "name": self.name,
            "check": self.check,
            "field": self.field,
            "severity": self.severity.value,
            "enforced": self.enforced,
            "passed": self.passed,
            "message": self.message,
        }
        if self.category in ("schema", "rule"):
            out["failed_rows"] = self.failed_rows
            out["failing_indices"] = [_jsonable(i) for i in self.failing_indices]
            out["samples"] = [{k: _jsonable(v) for k, v in s.items()} for s in self.samples]
            out["row_wise"] = self.row_wise
        else:
            out["measured"] = self.measured
            out["threshold"] = self.threshold
        return out


@dataclass(slots=True)
class ValidationReport:
    contract: str
    version: int | None
    backend: str
    rows: int
    checks: list[CheckResult]
    not_checked: list[NotChecked] = field(default_factory=list)
    duration_s: float = 0.0
    failed_rows: int = 0  # rows failing at least one error-level row check
    source: str | None = None
    # Positions of the rows failing an error-level row check (None on Spark: no row order),
    # and the backend's handle for splitting the frame; neither goes into `to_dict`.
    failing_positions: Any = field(default=None, repr=False)
    handle: Any = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return not any(c.breaches for c in self.checks)

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.enforced and not c.passed and not c.breaches]

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.breaches]

    @property
    def rules_row_wise(self) -> int:
        """How many rules were evaluated record by record (the fallback)."""
        return sum(1 for c in self.checks if c.category == "rule" and c.row_wise)

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per category: checks run, passed, failed (error), warned, not enforced."""
        out: dict[str, dict[str, int]] = {}
        for category in CATEGORIES:
            mine = [c for c in self.checks if c.category == category]
            out[category] = {
                "checks": len(mine),
                "passed": sum(1 for c in mine if c.enforced and c.passed),
                "failed": sum(1 for c in mine if c.breaches),
                "warnings": sum(1 for c in mine if c.enforced and not c.passed and not c.breaches),
                "not_enforced": sum(1 for c in mine if not c.enforced),
            }
        return out

    def failure_counts(self) -> dict[str, int]:
        """{check name: failing rows (row checks) or 1/0 (dataset checks)} of failed checks."""
        return {
            c.name: (c.failed_rows if c.category in ("schema", "rule") else 1)
            for c in self.checks
            if c.enforced and not c.passed
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "version": self.version,
            "backend": self.backend,
            "source": self.source,
            "passed": self.passed,
            "rows": self.rows,
            "failed_rows": self.failed_rows,
            "duration_s": round(self.duration_s, 6),
            "rules_row_wise": self.rules_row_wise,
            "counts": self.counts(),
            "checks": [c.to_dict() for c in self.checks],
            "not_checked": [n.to_dict() for n in self.not_checked],
        }

    def summary(self) -> str:
        """A human-readable account: verdict, then every failed or noted check."""
        verdict = "PASSED" if self.passed else "FAILED"
        head = f"{self.contract}"
        if self.version is not None:
            head += f"@{self.version}"
        lines = [
            f"{verdict}: {head} on {self.rows} rows ({self.backend}, {self.duration_s:.2f}s)"
            + (f" from {self.source}" if self.source else "")
        ]
        for category, n in self.counts().items():
            if n["checks"]:
                lines.append(
                    f"  {category}: {n['passed']} passed, {n['failed']} failed, "
                    f"{n['warnings']} warnings"
                    + (f", {n['not_enforced']} not enforced" if n["not_enforced"] else "")
                )
        if self.failed_rows:
            lines.append(f"  rows failing an error-level check: {self.failed_rows}")
        if self.rules_row_wise:
            lines.append(f"  rules evaluated row-wise (fallback): {self.rules_row_wise}")
        for c in self.checks:
            if not c.enforced:
                lines.append(f"  - not enforced: {c.name}: {c.message}")
            elif not c.passed:
                tag = "error" if c.breaches else "warning"
                detail = f" ({c.failed_rows} rows)" if c.category in ("schema", "rule") else ""
                lines.append(f"  {tag}: [{c.category}] {c.name}{detail}: {c.message}")
                for sample in c.samples[:3]:
                    lines.append(f"      e.g. {sample}")
        for note in self.not_checked:
            lines.append(f"  - not checked: {note.field or '(root)'}: {note.reason}")
        return "\n".join(lines)


class ContractBreach(Exception):
    """A dataset breached its contract; `report` says how."""

    def __init__(self, report: ValidationReport) -> None:
        failed = ", ".join(c.name for c in report.failures[:5])
        more = "" if len(report.failures) <= 5 else f" and {len(report.failures) - 5} more"
        super().__init__(
            f"{report.contract}: {len(report.failures)} check(s) failed: {failed}{more}"
        )
        self.report = report


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        if isinstance(value, float) and value != value:
            return None
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, Sequence):
        try:
            return _jsonable(value.item())
        except (ValueError, TypeError):
            pass
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return str(value)
