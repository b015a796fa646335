"""`@enforce(contract)`: validate the DataFrame a pipeline step returns.

``on_breach="raise"`` raises `ContractBreach`; ``"report"`` logs the report (and hands it
to the reporter) and passes the frame on; ``"quarantine"`` writes the rows that fail an
error-level row check to Parquet under `quarantine_path` (with the names of the checks
they fail in ``_accord_failed_checks``) and passes the other rows on. A dataset-level breach
(quality, SLA) cannot be quarantined by row: in that mode it is logged and reported.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np

from enforcers.batch.report import ContractBreach, ValidationReport
from enforcers.batch.validate import ContractRef, Reporter, validate

__all__ = ["enforce", "split"]

OnBreach = Literal["raise", "report", "quarantine"]
P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("accord.enforce")


def enforce(
    contract: ContractRef,
    *,
    version: int | None = None,
    on_breach: OnBreach = "raise",
    quarantine_path: str | Path | None = None,
    reporter: Reporter | None = None,
    **options: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a pipeline step returning a pandas, polars or PySpark DataFrame."""
    if on_breach not in ("raise", "report", "quarantine"):
        raise ValueError(f"on_breach must be raise, report or quarantine, not {on_breach!r}")
    if on_breach == "quarantine" and quarantine_path is None:
        raise ValueError('on_breach="quarantine" needs a quarantine_path')

    def decorator(step: Callable[P, R]) -> Callable[P, R]:
        source = f"{step.__module__}.{step.__qualname__}"

        @functools.wraps(step)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            df = step(*args, **kwargs)
            report = validate(
                df, contract, version=version, reporter=reporter, source=source, **options
            )
            wrapper.last_report = report  # type: ignore[attr-defined]
            if report.passed:
                return df
            if on_breach == "raise":
                raise ContractBreach(report)
            log.warning("%s", report.summary())
            if on_breach == "report":
                return df
            assert quarantine_path is not None
            good, bad = split(df, report)
            if _height(bad):
                target = write_quarantine(bad, Path(quarantine_path), report)
                log.warning("quarantined %d rows to %s", report.failed_rows, target)
            result: R = good
            return result

        return wrapper

    return decorator


def split(df: Any, report: ValidationReport) -> tuple[Any, Any]:
    """(rows passing every error-level row check, failing rows with their check names)."""
    module = type(df).__module__.split(".")[0]
    if module == "pyspark":
        from enforcers.batch.backends.spark import split as spark_split

        return spark_split(report.handle)
    positions = report.failing_positions
    n = report.rows
    bad_mask = np.zeros(n, dtype=bool)
    if positions is not None and len(positions):
        bad_mask[np.asarray(positions)] = True
    reasons = _reasons(report, n)
    if module == "pandas":
        good = df.iloc[~bad_mask]
        bad = df.iloc[bad_mask].copy()
        bad["_accord_failed_checks"] = [reasons[i] for i in np.flatnonzero(bad_mask)]
        return good, bad
    import polars as pl

    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    mask = pl.Series(bad_mask)
    bad = df.filter(mask).with_columns(
        pl.Series(
            "_accord_failed_checks",
            [reasons[i] for i in np.flatnonzero(bad_mask)],
            dtype=pl.List(pl.String),
        )
    )
    return df.filter(~mask), bad


def _reasons(report: ValidationReport, n: int) -> list[list[str]]:
    reasons: list[list[str]] = [[] for _ in range(n)]
    evaluation = report.handle
    for row_check, outcome in getattr(evaluation, "outcomes", ()):
        if row_check.severity.value != "error" or outcome.positions is None:
            continue
        for p in outcome.positions:
            reasons[int(p)].append(row_check.name)
    return reasons


def _height(df: Any) -> int:
    if type(df).__module__.split(".")[0] == "pyspark":
        return 1  # unknown without a job: let the writer decide
    return len(df)


def write_quarantine(bad: Any, path: Path, report: ValidationReport) -> Path:
    """Write failing rows as Parquet: to `path` if it names a .parquet file, else to a new
    file in the directory `path`."""
    if path.suffix != ".parquet":
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = path / f"{report.contract}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    module = type(bad).__module__.split(".")[0]
    if module == "pandas":
        bad.to_parquet(path, index=False)
    elif module == "pyspark":
        bad.write.mode("overwrite").parquet(str(path))
    else:
        bad.write_parquet(path)
    return path
