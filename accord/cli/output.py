"""Where the CLI writes: results to stdout, diagnostics to stderr, colour only on a TTY."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["EXIT_BREACH", "EXIT_OK", "EXIT_USAGE", "err", "fail", "out"]

EXIT_OK, EXIT_BREACH, EXIT_USAGE = 0, 1, 2

# Rich already turns colour off when the stream is not a terminal and honours NO_COLOR.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print `message` to stderr and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code)
