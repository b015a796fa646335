"""Batch reports to the registry, through the same BreachReporter as the streaming path."""

from __future__ import annotations

from enforcers.batch.report import ValidationReport
from enforcers.reporting import BreachReporter

__all__ = ["RegistryReporter"]


class RegistryReporter:
    """A batch `Reporter`: each failing check becomes a breach aggregate (kind = the check's
    category), and the run an observation of rows seen, valid and invalid.

    The source is the BreachReporter's (for batch jobs: job name and run id); samples are
    already PII-redacted by the validation.
    """

    def __init__(self, breaches: BreachReporter) -> None:
        self.breaches = breaches

    def report(self, report: ValidationReport, source: str) -> None:
        for check in report.checks:
            if not check.enforced or check.passed:
                continue
            self.breaches.add_breach(
                report.contract,
                report.version,
                check.category,
                check.name,
                check.severity.value,
                # A dataset-level check fails once per run; a row-level one once per row.
                check.failed_rows or 1,
                [
                    {"path": check.field or "", "message": check.message, "record": sample}
                    for sample in check.samples
                ],
            )
        self.breaches.observe(
            report.contract,
            report.version,
            report.rows,
            report.rows - report.failed_rows,
            report.failed_rows,
        )
