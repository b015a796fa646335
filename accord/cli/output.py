"""Where the CLI writes: results to stdout, diagnostics to stderr, colour only on a TTY."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["EXIT_BREACH", "EXIT_OK", "EXIT_USAGE", "err", "fail", "out", "write"]

EXIT_OK, EXIT_BREACH, EXIT_USAGE = 0, 1, 2

# Rich already turns colour off when the stream is not a terminal and honours NO_COLOR.
# soft_wrap: a printed line is never broken at the console's width, on a terminal or off it.
# Diagnostics are `file:line: error: ...` lines that grep and CI problem matchers read one
# line at a time; a terminal wraps long lines by itself. The width (200 off a terminal, for
# CI logs and pipes) only still lays out tables.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200
)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `message` to stderr and return the Exit to raise. `message` is plain text:
    brackets in it (a file name, an error code) are printed as they are."""
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    return typer.Exit(code)


def write(text: str) -> None:
    """Machine-readable output (JSON, JUnit XML, workflow commands) exactly as given: no
    wrapping at the console's width, no markup."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
