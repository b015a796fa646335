"""The registry's settings: one object, read from ``ACCORD_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "normalise_database_url"]

_DRIVERS = {
    # psycopg (v3) is the PostgreSQL driver Accord installs; plain URLs mean it too.
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
}


def normalise_database_url(url: str) -> str:
    """`url` with its driver made explicit; ValueError for a database Accord cannot use."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _DRIVERS:
        raise ValueError(
            f"ACCORD_DATABASE_URL {url!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DATABASE"
        )
    return f"{_DRIVERS[scheme]}://{rest}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service is configured with.

    `database_url`: ``ACCORD_DATABASE_URL``, default the SQLite file ``accord.db`` in the
    working directory (made absolute, so every worker process opens the same file).
    `workers`: ``ACCORD_WORKERS``, uvicorn worker processes for ``accord serve``.
    `read_threads`: ``ACCORD_READ_THREADS``, concurrent hot-path reads per worker on
    PostgreSQL (SQLite reads run inline).
    """

    database_url: str = "sqlite:///accord.db"
    workers: int = 1
    read_threads: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url))
        if self.workers < 1:
            raise ValueError(f"ACCORD_WORKERS must be at least 1, not {self.workers}")
        if self.read_threads < 1:
            raise ValueError(f"ACCORD_READ_THREADS must be at least 1, not {self.read_threads}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default_url = f"sqlite:///{Path.cwd() / 'accord.db'}"
        return cls(
            database_url=env.get("ACCORD_DATABASE_URL") or default_url,
            workers=_whole(env, "ACCORD_WORKERS", 1),
            read_threads=_whole(env, "ACCORD_READ_THREADS", 2),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)
