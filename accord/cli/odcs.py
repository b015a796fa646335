"""``accord import odcs`` and ``accord export odcs``: Open Data Contract Standard v3.

Results go to stdout (or ``-o``), warnings and errors to stderr, each naming the file and
the path inside it. Exit 0 converted (warnings or not), 1 the document or contract is
invalid, 2 unreadable input or a registry that cannot be reached.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml
from rich.markup import escape

from accord.cli.connect import registry_client
from accord.cli.output import EXIT_BREACH, EXIT_OK, EXIT_USAGE, err
from contracts import Contract, ContractError, DocumentSyntaxError, load_contract, read_file
from contracts.documents import SourceDocument
from contracts.odcs import ConversionWarning, OdcsError, export_odcs, import_odcs, validate_odcs

__all__ = ["export_app", "import_app"]

import_app = typer.Typer(
    help="Convert contracts written in other formats into Accord contracts.",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Convert Accord contracts into other formats.",
    no_args_is_help=True,
)

_NAME = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*(@(\d+|latest))?$")


class Format(StrEnum):
    YAML = "yaml"
    JSON = "json"


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(doc: Any, fmt: Format) -> str:
    if fmt is Format.JSON:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    text: str = yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)
    return text


def _format_for(output: Path | None, fmt: Format | None) -> Format:
    if fmt is not None:
        return fmt
    return Format.JSON if output is not None and output.suffix.lower() == ".json" else Format.YAML


def _warn(source: str, doc: SourceDocument | None, warning: ConversionWarning) -> None:
    line = doc.line_of(warning.path) if doc is not None else None
    where = f"{source}:{line}" if line else source
    err.print(
        f"{escape(where)}: warning: {escape(warning.path or '/')}: {escape(warning.message)}",
        style="yellow",
    )


def _error(source: str, doc: SourceDocument | None, path: str, message: str) -> None:
    line = doc.line_of(path) if doc is not None else None
    where = f"{source}:{line}" if line else source
    err.print(f"{escape(where)}: error: {escape(path or '/')}: {escape(message)}", style="red")


def _write(text: str, output: Path) -> None:
    """`text` to `output`, or exit 2 naming it. Written to a file beside it, then renamed:
    an interrupted or failed write leaves the previous file, never half of a new one."""
    if output.is_dir():
        _cannot_write(output, "is a directory")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        # Not tempfile.mkstemp: its 0600 would be the final file's mode, not the umask's.
        temporary = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        blocking = next((p for p in output.parents if p.exists() and not p.is_dir()), None)
        _cannot_write(output, f"{blocking} is not a directory" if blocking else exc.strerror)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, output)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            _cannot_write(output, exc.strerror)
        raise


def _cannot_write(output: Path, reason: str | None) -> NoReturn:
    err.print(escape(f"{output}: error: cannot write: {reason or 'unknown error'}"), style="red")
    raise typer.Exit(EXIT_USAGE)


@import_app.command("odcs")
def import_odcs_command(
    file: Path = typer.Argument(..., help="ODCS v3 document (YAML or JSON).", show_default=False),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Where to write: a file for one contract; a directory (one <name>.yaml per "
        "contract) when the document has several schema objects or OUT is a directory. "
        "Default: stdout.",
    ),
    fmt: Format | None = typer.Option(
        None, "--format", "-f", help="yaml or json [default: from OUT's suffix, else yaml]."
    ),
) -> None:
    """Convert an ODCS v3 document into Accord contracts, one per schema object."""
    source = str(file)
    try:
        doc = read_file(file)
    except DocumentSyntaxError as exc:
        err.print(escape(str(exc)), style="red")
        raise typer.Exit(EXIT_USAGE) from None
    try:
        result = import_odcs(doc.data)
    except OdcsError as exc:
        for problem in exc.problems:
            _error(source, doc, problem.path, problem.message)
        raise typer.Exit(EXIT_BREACH) from None
    for warning in result.warnings:
        _warn(source, doc, warning)
    documents = result.documents
    as_dir = output is not None and (len(documents) > 1 or output.is_dir())
    if output is None:
        if len(documents) == 1:
            typer.echo(_dump(documents[0], _format_for(None, fmt)), nl=False)
        else:  # a stream of YAML documents (JSON: an array)
            chosen = _format_for(None, fmt)
            if chosen is Format.JSON:
                typer.echo(_dump(documents, chosen), nl=False)
            else:
                texts = [_dump(d, chosen) for d in documents]
                typer.echo("---\n" + "---\n".join(texts), nl=False)
    elif as_dir:
        chosen = fmt or Format.YAML
        for d in documents:
            target = output / f"{d['name']}.{chosen.value}"
            _write(_dump(d, chosen), target)
            err.print(f"wrote {escape(str(target))}")
    else:
        assert output is not None
        _write(_dump(documents[0], _format_for(output, fmt)), output)
        err.print(f"wrote {escape(str(output))}")
    raise typer.Exit(EXIT_OK)


def _from_registry(spec: str, registry: str | None) -> tuple[Contract, str] | int:
    """The contract NAME[@VERSION] from the registry, with its version, or an exit code."""
    try:
        from enforcers.registry_client import RegistryError
    except ImportError:  # pragma: no cover - the client ships with Accord
        err.print(f"{escape(spec)}: error: no registry client installed", style="red")
        return EXIT_USAGE
    name, _, version = spec.partition("@")
    try:
        with registry_client(registry) as client:
            found = client.get_version(name, version or "latest")
    except RegistryError as exc:
        err.print(escape(f"{spec}: error: {exc.message} [{exc.code}]"), style="red")
        unreachable = exc.status is None or exc.status >= 500
        return EXIT_USAGE if unreachable or exc.status in (401, 403, 404) else EXIT_BREACH
    return found.contract, str(found.version)


def _from_file(path: Path) -> Contract | int:
    try:
        return load_contract(read_file(path))
    except DocumentSyntaxError as exc:
        err.print(escape(str(exc)), style="red")
        return EXIT_USAGE
    except ContractError as exc:
        for problem in exc.problems:
            err.print(escape(problem.format(str(path))), style="red")
        return EXIT_BREACH


@export_app.command("odcs")
def export_odcs_command(
    sources: list[str] = typer.Argument(
        ...,
        help="Contract files, or names (NAME or NAME@VERSION) to fetch from the registry. "
        "Several give one document with a schema object each.",
        show_default=False,
        metavar="NAME|FILE...",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write [default: stdout]."
    ),
    fmt: Format | None = typer.Option(
        None, "--format", "-f", help="yaml or json [default: from OUT's suffix, else yaml]."
    ),
    registry: str | None = typer.Option(
        None,
        "--registry",
        envvar="ACCORD_REGISTRY_URL",
        help="Registry URL for NAMEs [default: http://127.0.0.1:8000].",
    ),
) -> None:
    """Convert Accord contracts (files, or versions in the registry) into one ODCS v3 document."""
    contracts: list[Contract] = []
    versions: list[str] = []
    worst = EXIT_OK
    for spec in sources:
        path = Path(spec)
        got: tuple[Contract, str] | Contract | int
        looks_like_file = "/" in spec or path.suffix.lower() in (".yaml", ".yml", ".json")
        if path.exists() or looks_like_file or not _NAME.match(spec):
            got = _from_file(path)
        else:
            got = _from_registry(spec, registry)
        if isinstance(got, int):
            worst = max(worst, got)
        elif isinstance(got, tuple):
            contracts.append(got[0])
            versions.append(got[1])
        else:
            contracts.append(got)
    if worst != EXIT_OK:
        raise typer.Exit(worst)
    names = [c.name for c in contracts]
    if len(set(names)) != len(names):
        err.print("error: the same contract twice: one schema object each", style="red")
        raise typer.Exit(EXIT_USAGE)
    result = export_odcs(contracts, version=versions[0] if len(versions) == 1 else None)
    for warning in result.warnings:
        err.print(f"warning: {escape(str(warning))}", style="yellow")
    problems = validate_odcs(result.document)
    if problems:  # a bug in the conversion; say so rather than write an invalid document
        for problem in problems:
            err.print(
                f"error: exported document: {escape(problem.path or '/')}: "
                f"{escape(problem.message)}",
                style="red",
            )
        raise typer.Exit(EXIT_BREACH)
    text = _dump(result.document, _format_for(output, fmt))
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write(text, output)
        err.print(f"wrote {escape(str(output))}")
    raise typer.Exit(EXIT_OK)
