"""Registry clients and spool directories from the CLI's options: what is wrong with them
is an input error (exit 2), found before anything is read or sent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from accord.cli.output import fail

if TYPE_CHECKING:
    from enforcers.registry_client import RegistryClient, RegistryError

__all__ = ["registry_client", "spool_directory"]


def registry_client(url: str | None) -> RegistryClient:
    """A client of the registry at `url` (``--registry``; None: its default). A malformed
    URL or ACCORD_TOKEN exits 2 here, before anything is read or sent."""
    from enforcers.registry_client import RegistryClient, RegistryError

    try:
        return RegistryClient(url)
    except RegistryError as exc:
        raise _fail(exc) from None


def spool_directory(path: Path, option: str = "--spool-dir") -> Path:
    """`path`, created if need be, once it is known to be a directory the reporter can write
    to: a reporter that cannot spool keeps reports in memory only, and loses them on exit."""
    if path.exists() and not path.is_dir():
        raise fail(f"{option} {path}: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"{option} {path}: cannot create it: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise fail(f"{option} {path}: not writable")
    return path


def _fail(exc: RegistryError) -> typer.Exit:
    if exc.code == "invalid_url":
        return fail(f"--registry: {exc.message}")
    return fail(exc.message)
