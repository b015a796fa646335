"""``accord lint``: check contract files against the contract schema and beyond."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.markup import escape

from accord.cli.output import EXIT_BREACH, EXIT_OK, EXIT_USAGE, err, out
from contracts import DocumentSyntaxError, Severity, check_document, read_file


class LintFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def lint(
    files: list[Path] = typer.Argument(
        ..., help="Contract files (YAML or JSON).", show_default=False
    ),
    fmt: LintFormat = typer.Option(LintFormat.TEXT, "--format", "-f", help="Output format."),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as problems too."),
) -> None:
    """Check contract files: schema, embedded JSON Schema, field paths, CEL rules, SLAs."""
    report: list[dict[str, object]] = []
    failed = unreadable = False
    for path in files:
        try:
            doc = read_file(path)
        except DocumentSyntaxError as exc:
            unreadable = True
            err.print(f"{escape(str(exc))}", style="red")
            report.append(
                {"file": str(path), "readable": False, "error": exc.reason, "line": exc.line}
            )
            continue
        problems = check_document(doc)
        failing = [p for p in problems if p.severity is Severity.ERROR or strict]
        failed = failed or bool(failing)
        report.append(
            {"file": str(path), "readable": True, "problems": [p.to_dict() for p in problems]}
        )
        if fmt is LintFormat.TEXT:
            for problem in problems:
                style = "red" if problem.severity is Severity.ERROR else "yellow"
                out.print(escape(problem.format(str(path))), style=style)
    if fmt is LintFormat.JSON:
        out.print_json(json.dumps(report))
    elif not failed and not unreadable:
        out.print(f"{len(files)} file(s) OK", style="green")
    if unreadable:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_BREACH if failed else EXIT_OK)
