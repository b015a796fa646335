"""``accord validate``: check a data file (CSV, Parquet, JSON Lines) against a contract."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from accord.cli.connect import registry_client, spool_directory
from accord.cli.output import EXIT_BREACH, EXIT_OK, EXIT_USAGE, err, fail, out
from contracts import ContractError, DocumentSyntaxError


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class FailOn(StrEnum):
    ERROR = "error"
    WARN = "warn"
    NEVER = "never"


class _Delivery:
    """`deliver` (the registry client's `report_breaches`), remembering why the last batch
    was not delivered: the reporter only says that it was not, and "unreachable" is wrong
    when the registry answered, say to refuse the credentials."""

    def __init__(self, deliver: Callable[[Mapping[str, Any]], object]) -> None:
        self._deliver = deliver
        self.error: Exception | None = None

    def __call__(self, batch: Mapping[str, Any]) -> object:
        try:
            answer = self._deliver(batch)
        except Exception as exc:
            self.error = exc
            raise
        self.error = None
        return answer


def _reporter(
    report: bool, registry: str | None, job: str, run_id: str | None, spool_dir: Path
) -> tuple[Any, _Delivery] | None:
    """The registry's breach store as a batch reporter, with its delivery, when asked to
    report; else None."""
    if not report:
        return None
    if not registry:
        raise fail("--report needs --registry URL or ACCORD_REGISTRY_URL")
    from enforcers.batch.reporting import RegistryReporter
    from enforcers.reporting import BreachReporter

    run = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    client = registry_client(registry)
    spool = spool_directory(spool_dir)
    delivery = _Delivery(client.report_breaches)
    breaches = BreachReporter(delivery, source=f"{job}/{run}", spool_dir=spool)
    return RegistryReporter(breaches), delivery


def validate(
    data: Path = typer.Argument(
        ..., help="Data file: .csv, .parquet or .jsonl (JSON Lines).", show_default=False
    ),
    contract: str = typer.Option(
        ...,
        "--contract",
        "-c",
        help="Contract file, or a registry name: NAME or NAME@VERSION.",
        show_default=False,
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.TEXT, "--format", "-f", help="Output format."),
    fail_on: FailOn = typer.Option(
        FailOn.ERROR,
        "--fail-on",
        help="Exit 1 on failed error-level checks (error), on any failed check (warn), or never.",
    ),
    quarantine: Path | None = typer.Option(
        None, "--quarantine", help="Write failing rows to this Parquet file (or directory)."
    ),
    chunk_rows: int = typer.Option(
        100_000, "--chunk-rows", help="Rows per chunk (memory is bounded by it).", min=1000
    ),
    report: bool = typer.Option(
        False, "--report", help="Send breaches and row counts to the registry's breach store."
    ),
    registry: str | None = typer.Option(
        None, "--registry", envvar="ACCORD_REGISTRY_URL", help="Registry URL."
    ),
    job: str | None = typer.Option(
        None, "--job", help="Job name, the report's source with the run id (default: file stem)."
    ),
    run_id: str | None = typer.Option(None, "--run-id", help="Run id (default: the time)."),
    spool_dir: Path = typer.Option(
        Path(".accord-spool"),
        "--spool-dir",
        help="Reports wait here while the registry is unreachable; sent on the next run.",
    ),
) -> None:
    """Validate a data file against a contract, streaming it in chunks."""
    from enforcers.batch.files import DataError, validate_file
    from enforcers.batch.validate import resolve_contract
    from enforcers.registry_client import RegistryError

    reporting = _reporter(report, registry, job or data.stem, run_id, spool_dir)
    sink, delivery = reporting if reporting is not None else (None, None)
    # The data file is looked at before the contract is fetched (a typo in its name needs no
    # registry round trip), and the contract resolved apart from reading the data: an error
    # of either then names the one at fault, not always the data file.
    if data.is_dir():
        raise fail(f"{data}: a directory, not a data file")
    if not data.is_file():
        raise fail(f"{data}: no such file")
    try:
        resolved = resolve_contract(contract, registry=registry)
    except DocumentSyntaxError as exc:
        raise fail(f"contract {exc}") from None
    except ContractError as exc:
        lines = "\n".join(p.format(exc.source) for p in exc.problems)
        raise fail(f"{exc.source} is not a valid contract:\n{lines}") from None
    except RegistryError as exc:
        if exc.code == "invalid_url":
            raise fail(f"--registry: {exc.message}") from None
        raise fail(f"contract {contract}: {exc.message}") from None
    except (OSError, ValueError) as exc:  # NAME@abc: a version that is no number
        raise fail(f"--contract {contract}: {exc}") from None
    progress, finish = _progress(data)
    try:
        result = validate_file(
            data,
            resolved.contract,
            version=resolved.version,
            quarantine=quarantine,
            chunk_rows=chunk_rows,
            progress=progress,
            reporter=sink,
        )
    except DataError as exc:
        raise fail(str(exc)) from None
    except (OSError, ValueError) as exc:
        raise fail(f"{data}: {exc}") from None
    finally:
        finish()
    if fmt is OutputFormat.JSON:
        out.print_json(json.dumps(result.to_dict(), default=str))
    else:
        style = "green" if result.passed else "red"
        summary = result.summary().splitlines()
        out.print(escape(summary[0]), style=style)
        for line in summary[1:]:
            out.print(escape(line))
    if sink is not None and delivery is not None and not sink.breaches.close():
        _not_delivered(delivery.error, sink.breaches.pending, spool_dir)
    breach = {
        FailOn.ERROR: not result.passed,
        FailOn.WARN: not result.passed or bool(result.warnings),
        FailOn.NEVER: False,
    }[fail_on]
    raise typer.Exit(EXIT_BREACH if breach else EXIT_OK)


# The registry answered and will not take reports with these credentials (none, unknown,
# revoked, expired; or a token whose role or team may not report): a retry cannot succeed.
_CREDENTIALS_REFUSED = frozenset({401, 403})


def _not_delivered(error: Exception | None, pending: int, spool_dir: Path) -> None:
    """Say why the reports stay in the spool. Refused credentials exit 2 (an input error, as
    a bad --registry URL is), whatever --fail-on says: with them the reports never arrive."""
    from enforcers.registry_client import RegistryError

    kept = f"{pending} report(s) kept in {spool_dir}"
    if isinstance(error, RegistryError) and error.status in _CREDENTIALS_REFUSED:
        raise fail(
            f"--report: the registry refused the credentials (ACCORD_TOKEN): "
            f"{error.message} [{error.code}]; {kept}, sent by a run that has them"
        )
    if isinstance(error, RegistryError) and error.status is not None:
        # 429, 5xx: the registry is there but not taking reports now; a later run sends them.
        reason = f"{error.message} [{error.code}]"
        err.print(escape(f"registry did not take the reports ({reason}): {kept}"), style="yellow")
        return
    reason = str(error) if error is not None else "not delivered"
    err.print(escape(f"registry unreachable: {kept} ({reason})"), style="yellow")


def _progress(data: Path) -> tuple[Any, Any]:
    """A rich progress bar on a terminal (stderr); nothing otherwise."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(f"validating {data.name}", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


__all__ = ["EXIT_USAGE", "validate"]
