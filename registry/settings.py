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
    `sla_interval`: ``ACCORD_SLA_INTERVAL``, seconds between SLA evaluations and breach
    episode checks in the background (0: none; `registry.monitoring.run_once` still works).
    `webhook_interval`: ``ACCORD_WEBHOOK_INTERVAL``, seconds between passes of the webhook
    delivery worker over the outbox (0: none).
    `webhook_backoff`: ``ACCORD_WEBHOOK_BACKOFF``, seconds before the first retry of a failed
    delivery, doubling each time (at most an hour); `webhook_attempts`:
    ``ACCORD_WEBHOOK_ATTEMPTS``, attempts before a delivery is given up.
    `episode_quiet`: ``ACCORD_EPISODE_QUIET``, seconds without a new breach that end a
    breach episode of a contract and rule.
    """

    database_url: str = "sqlite:///accord.db"
    workers: int = 1
    read_threads: int = 2
    sla_interval: float = 30.0
    webhook_interval: float = 2.0
    webhook_backoff: float = 10.0
    webhook_attempts: int = 10
    episode_quiet: float = 900.0

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
            sla_interval=_seconds(env, "ACCORD_SLA_INTERVAL", 30.0),
            webhook_interval=_seconds(env, "ACCORD_WEBHOOK_INTERVAL", 2.0),
            webhook_backoff=_seconds(env, "ACCORD_WEBHOOK_BACKOFF", 10.0),
            webhook_attempts=_whole(env, "ACCORD_WEBHOOK_ATTEMPTS", 10),
            episode_quiet=_seconds(env, "ACCORD_EPISODE_QUIET", 900.0),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name) or str(default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of seconds (0 or more), not {text!r}")
    return value
