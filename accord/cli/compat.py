"""``accord diff`` and ``accord check``: compatibility of contract changes, for CI."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from accord.cli.connect import registry_client
from accord.cli.output import EXIT_BREACH, EXIT_OK, err, fail, out, write
from accord.cli.report_formats import render_github, render_json, render_junit, render_text
from contracts import (
    CompatibilityMode,
    Contract,
    ContractError,
    DocumentSyntaxError,
    Policy,
    Severity,
    SourceDocument,
    load_contract,
    parse_text,
    read_file,
    record_validator_class,
    schema_problems,
)
from contracts.compatibility import CompatibilityReport, check_compatibility, check_schemas


class ReportFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"


ModeOption = typer.Option(None, "--mode", "-m", help="Override the contract's compatibility mode.")
PolicyOption = typer.Option(None, "--policy", "-p", help="Override the contract's policy.")
FormatOption = typer.Option(ReportFormat.TEXT, "--format", "-f", help="Output format.")


def _is_contract(data: Any) -> bool:
    return isinstance(data, Mapping) and "schema" in data and "name" in data


def _contract(doc: SourceDocument) -> Contract:
    try:
        return load_contract(doc)
    except ContractError as exc:
        for problem in exc.problems:
            err.print(escape(problem.format(doc.source)), style="red")
        raise fail(f"{doc.source} is not a valid contract") from None


def _schema(doc: SourceDocument) -> Mapping[str, Any] | bool:
    data = doc.data
    if not isinstance(data, Mapping | bool):
        raise fail(
            f"{doc.source}: neither a contract nor a JSON Schema (top level is not an object)"
        )
    try:
        record_validator_class(data)
    except ValueError as exc:
        raise fail(f"{doc.source}: /$schema: {exc}") from None
    # The checks `lint` runs on a contract's schema (meta-schema with regex formats, $refs
    # that are remote or point at nothing): diff must not judge a schema lint rejects.
    problems = [
        replace(problem, line=doc.line_of(problem.path))
        for problem in schema_problems(data)
        if problem.severity is Severity.ERROR
    ]
    if problems:
        for problem in problems:
            err.print(escape(problem.format(doc.source)), style="red")
        raise fail(f"{doc.source} is not a valid JSON Schema")
    return data


def _read(path: Path) -> SourceDocument:
    try:
        return read_file(path)
    except DocumentSyntaxError as exc:
        raise fail(str(exc)) from None


# The report, the contract's name, its file, and what it was compared with when that is no
# numbered version (a bare schema file), for the verdict to name.
Checked = tuple[CompatibilityReport, str, SourceDocument, str | None]


def _emit(results: list[Checked], fmt: ReportFormat) -> None:
    if fmt is ReportFormat.JSON:
        documents = [
            json.loads(render_json(report, subject, against))
            for report, subject, _, against in results
        ]
        write(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    elif fmt is ReportFormat.JUNIT:
        write(render_junit([(report, subject) for report, subject, _, _ in results]))
    elif fmt is ReportFormat.GITHUB:
        for report, _, doc, against in results:
            text = render_github(report, doc.source, doc.line_of, against)
            if text:
                write(text)
    else:
        for report, subject, _, against in results:
            render_text(report, subject, out, against)
    compatible = all(report.compatible for report, *_ in results)
    raise typer.Exit(EXIT_OK if compatible else EXIT_BREACH)


def diff(
    old: Path = typer.Argument(..., help="The current contract (or bare JSON Schema) file."),
    new: Path = typer.Argument(..., help="The proposed contract (or bare JSON Schema) file."),
    mode: CompatibilityMode | None = ModeOption,
    policy: Policy | None = PolicyOption,
    fmt: ReportFormat = FormatOption,
) -> None:
    """Compare two contract files (or two JSON Schemas) and judge the change."""
    old_doc, new_doc = _read(old), _read(new)
    if _is_contract(old_doc.data) and _is_contract(new_doc.data):
        before, after = _contract(old_doc), _contract(new_doc)
        report = check_compatibility(after, [(1, before)], mode=mode, policy=policy)
        subject, against = after.name, None
    elif _is_contract(old_doc.data) or _is_contract(new_doc.data):
        raise fail(
            f"{old} and {new}: compare a contract with a contract, or a schema with a schema"
        )
    else:
        report = check_schemas(
            _schema(old_doc),
            _schema(new_doc),
            mode=mode or CompatibilityMode.BACKWARD,
            policy=policy or Policy.STRICT,
        )
        # No version numbers here: the verdict names the OLD file it was compared with.
        subject, against = new.name, str(old)
    _emit([(report, subject, new_doc, against)], fmt)


def _git_history(path: Path, rev: str) -> list[tuple[int, Contract]]:
    try:
        known = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
    except OSError as exc:  # no git on PATH (a slim CI image), or a directory gone
        raise fail(f"{path}: --against git:{rev}: cannot run git: {exc.strerror or exc}") from None
    if known.returncode != 0:
        # Not "a new file": a typo in the revision must not pass every check.
        raise fail(f"{path}: git revision {rev!r} not found")
    try:
        prefix = subprocess.run(
            ["git", "ls-files", "--full-name", "--error-unmatch", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        shown = subprocess.run(
            ["git", "show", f"{rev}:{prefix}"],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        stderr = getattr(exc, "stderr", "") or str(exc)
        raise fail(f"{path}: not tracked by git ({stderr.strip()})") from None
    if shown.returncode != 0:
        # A contract that does not exist at `rev` is new: nothing to be compatible with.
        return []
    try:
        doc = parse_text(shown.stdout, f"{rev}:{prefix}")
    except DocumentSyntaxError as exc:  # names the revision, the file and the line
        raise fail(f"{path}: the version at {rev} is unreadable: {exc}") from None
    return [(1, _contract(doc))]


def _registry_report(
    doc: SourceDocument,
    contract: Contract,
    url: str,
    mode: CompatibilityMode | None,
    policy: Policy | None,
) -> CompatibilityReport:
    from enforcers.registry_client import RegistryError

    try:
        with registry_client(url) as client:
            return client.check_compatibility(contract.to_document(), mode=mode, policy=policy)
    except RegistryError as exc:
        # The file being checked: with several, the ones before it were checked already,
        # and an answer about this contract (refused, invalid) is about this file.
        raise fail(f"{doc.source}: registry {url}: {exc}") from None


def check(
    files: list[Path] = typer.Argument(..., help="Proposed contract files.", show_default=False),
    against: str | None = typer.Option(
        None,
        "--against",
        "-a",
        help="A contract file, git:<rev> (each file at that revision), or 'registry' "
        "(every registered version; the default when ACCORD_REGISTRY_URL is set).",
    ),
    registry: str | None = typer.Option(
        None, "--registry", envvar="ACCORD_REGISTRY_URL", help="Registry URL."
    ),
    mode: CompatibilityMode | None = ModeOption,
    policy: Policy | None = PolicyOption,
    fmt: ReportFormat = FormatOption,
) -> None:
    """Check contract files against their previous version (file, git revision or registry)."""
    if against is None:
        if not registry:
            raise fail("say what to check against: --against FILE|git:REV|registry")
        against = "registry"
    if against == "registry" and not registry:
        raise fail("--against registry needs --registry URL or ACCORD_REGISTRY_URL")
    results: list[Checked] = []
    for file in files:
        doc = _read(file)
        contract = _contract(doc)
        if against == "registry":
            assert registry is not None
            report = _registry_report(doc, contract, registry, mode, policy)
        elif against.startswith("git:"):
            history = _git_history(file, against.removeprefix("git:"))
            report = check_compatibility(contract, history, mode=mode, policy=policy)
        else:
            previous = _contract(_read(Path(against)))
            if previous.name != contract.name:
                err.print(f"note: comparing {contract.name} with {previous.name}", style="yellow")
            report = check_compatibility(contract, [(1, previous)], mode=mode, policy=policy)
        results.append((report, contract.name, doc, None))
    _emit(results, fmt)
