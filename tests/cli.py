"""Running the ``accord`` command inside the test process.

A new interpreter costs about a second per call (importing FastAPI, SQLAlchemy, the CEL
parser...), which the CLI tests paid well over a hundred times; in-process the suite pays it
once. What only a real process shows is still tested as one (`script`): the installed entry
point (``--help``, ``--version``), output off a terminal (no colours, no wrapping, which the
CLI decides once, when imported), ``accord serve`` and the Kafka bridge's signals.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from accord.cli import app
from tests.conftest import ACCORD

__all__ = ["Ran", "accord", "script"]


@dataclass(frozen=True, slots=True)
class Ran:
    """What a call printed and how it exited, as `subprocess.CompletedProcess` has them."""

    returncode: int
    stdout: str
    stderr: str


def accord(*args: str, env: Mapping[str, str] | None = None, cwd: Path | str | None = None) -> Ran:
    """``accord ARGS`` with the ``ACCORD_*`` settings in `env` only (any others the test
    process has are unset for the call), from the directory `cwd`."""
    settings: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ACCORD_")}
    settings.update(env or {})
    runner = CliRunner()
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = runner.invoke(app, list(args), env=settings, prog_name="accord")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # A real process would print the traceback; so does this, to say what went wrong.
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return Ran(result.exit_code, result.stdout, stderr)


def script(*args: str, env: Mapping[str, str] | None = None, cwd: Path | str | None = None) -> Ran:
    """What `accord` runs, but by the installed console script, in a new process."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    done = subprocess.run(
        [ACCORD, *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        cwd=cwd,
        timeout=120,
    )
    return Ran(done.returncode, done.stdout, done.stderr)
