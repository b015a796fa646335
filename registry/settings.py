"""The registry's settings: one object, read from ``ACCORD_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from cryptography.fernet import Fernet

__all__ = ["MAX_RETENTION_DAYS", "Settings", "normalise_database_url", "parse_rate"]

# Where clouds serve instance metadata, credentials included, and no webhook receiver
# lives: link-local (169.254.169.254 on most clouds), AWS's IPv6 address, Alibaba's.
METADATA_NETWORKS = ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
MAX_RETENTION_DAYS = 36_500  # a century: far enough, and well inside what a date can hold

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
    `retention_days`: ``ACCORD_RETENTION_DAYS``, days breach reports, observations, SLA
    events and finished webhook deliveries are kept (0: for good; `monitoring.retention`).

    Security (see `registry.auth` and `registry.limits`):
    `auth`: ``ACCORD_AUTH`` (on|off, default on): every route but /health, /version and the
    API docs needs credentials. `anonymous_read`: ``ACCORD_ANONYMOUS_READ`` (default off):
    reads need none. `oidc_issuer`, `oidc_audience`, `oidc_jwks` (a URL or a file path),
    `oidc_team_claim`, `oidc_role_claim`: ``ACCORD_OIDC_*``, bearer JWTs from an identity
    provider (claims as dotted paths). `max_body_bytes`: ``ACCORD_MAX_BODY_BYTES``, any
    request body. `max_schema_depth`, `max_schema_properties`: ``ACCORD_MAX_SCHEMA_DEPTH``,
    ``ACCORD_MAX_SCHEMA_PROPERTIES``, nesting of a published document and property
    definitions in its schema. `rate_limit`: ``ACCORD_RATE_LIMIT`` ("600/minute"; empty: no
    limit), a token bucket per token (or client address), in each process.
    `secret_keys`: ``ACCORD_SECRET_KEY``, Fernet keys separated by commas that seal webhook
    secrets at rest (`registry.monitoring.sealing`): the first seals, every one unseals.
    `webhook_blocked`: ``ACCORD_WEBHOOK_BLOCKED_NETWORKS``, networks (CIDR, separated by
    commas; empty: none) no webhook is sent to, nor registered for when its URL names an
    address; by default where clouds serve instance credentials (`METADATA_NETWORKS`).
    """

    database_url: str = "sqlite:///accord.db"
    workers: int = 1
    read_threads: int = 2
    sla_interval: float = 30.0
    webhook_interval: float = 2.0
    webhook_backoff: float = 10.0
    webhook_attempts: int = 10
    episode_quiet: float = 900.0
    retention_days: int = 90
    auth: bool = True
    anonymous_read: bool = False
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks: str | None = None
    oidc_team_claim: str = "team"
    oidc_role_claim: str = "role"
    max_body_bytes: int = 1024 * 1024
    max_schema_depth: int = 64
    max_schema_properties: int = 10_000
    rate_limit: str | None = None
    secret_keys: tuple[str, ...] = field(default=(), repr=False)  # never in logs
    webhook_blocked: tuple[str, ...] = METADATA_NETWORKS

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url))
        if self.workers < 1:
            raise ValueError(f"ACCORD_WORKERS must be at least 1, not {self.workers}")
        if not 0 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"ACCORD_RETENTION_DAYS must be 0 to {MAX_RETENTION_DAYS} (0 keeps everything), "
                f"not {self.retention_days}"
            )
        if self.read_threads < 1:
            raise ValueError(f"ACCORD_READ_THREADS must be at least 1, not {self.read_threads}")
        for name, value in (
            ("ACCORD_MAX_BODY_BYTES", self.max_body_bytes),
            ("ACCORD_MAX_SCHEMA_DEPTH", self.max_schema_depth),
            ("ACCORD_MAX_SCHEMA_PROPERTIES", self.max_schema_properties),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
        if self.rate_limit:
            parse_rate(self.rate_limit)  # ValueError when malformed
        for network in self.webhook_blocked:
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"ACCORD_WEBHOOK_BLOCKED_NETWORKS: {network!r} is not a network "
                    "(such as 10.0.0.0/8 or fd00::/8)"
                ) from None
        for i, key in enumerate(self.secret_keys, 1):
            _check_fernet_key(key, i)
        oidc = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks)
        if any(oidc) and not all(oidc):
            raise ValueError(
                "OIDC needs ACCORD_OIDC_ISSUER, ACCORD_OIDC_AUDIENCE and ACCORD_OIDC_JWKS together"
            )

    @property
    def blocked_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(network, strict=False) for network in self.webhook_blocked)

    @property
    def retention(self) -> timedelta | None:
        """How long reports and events are kept; None: for good."""
        return timedelta(days=self.retention_days) if self.retention_days else None

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
            retention_days=_whole(env, "ACCORD_RETENTION_DAYS", 90),
            auth=_switch(env, "ACCORD_AUTH", True),
            anonymous_read=_switch(env, "ACCORD_ANONYMOUS_READ", False),
            oidc_issuer=env.get("ACCORD_OIDC_ISSUER") or None,
            oidc_audience=env.get("ACCORD_OIDC_AUDIENCE") or None,
            oidc_jwks=env.get("ACCORD_OIDC_JWKS") or None,
            oidc_team_claim=env.get("ACCORD_OIDC_TEAM_CLAIM") or "team",
            oidc_role_claim=env.get("ACCORD_OIDC_ROLE_CLAIM") or "role",
            max_body_bytes=_whole(env, "ACCORD_MAX_BODY_BYTES", 1024 * 1024),
            max_schema_depth=_whole(env, "ACCORD_MAX_SCHEMA_DEPTH", 64),
            max_schema_properties=_whole(env, "ACCORD_MAX_SCHEMA_PROPERTIES", 10_000),
            rate_limit=env.get("ACCORD_RATE_LIMIT") or None,
            secret_keys=_listed(env.get("ACCORD_SECRET_KEY") or ""),
            webhook_blocked=_listed(
                env.get("ACCORD_WEBHOOK_BLOCKED_NETWORKS", ",".join(METADATA_NETWORKS))
            ),
        )

    @property
    def oidc(self) -> bool:
        """Whether bearer JWTs of an identity provider are accepted."""
        return self.oidc_issuer is not None

    @property
    def database_shown(self) -> str:
        """The database URL to print: its password left out."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(an unreadable ACCORD_DATABASE_URL)"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")


def _check_fernet_key(key: str, position: int) -> None:
    try:
        Fernet(key)
    except ValueError:
        raise ValueError(
            f"ACCORD_SECRET_KEY: key {position} is not a Fernet key (32 bytes in URL-safe "
            "base64, 44 characters); `accord db new-key` makes one"
        ) from None


def _listed(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)


_ON = {"on", "true", "1", "yes"}
_OFF = {"off", "false", "0", "no"}


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in _ON | _OFF:
        return text in _ON
    raise ValueError(f"{name} must be on or off, not {env.get(name)!r}")


_UNITS = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
}


def parse_rate(text: str) -> tuple[int, float]:
    """``ACCORD_RATE_LIMIT``: "N/second|minute|hour" as (N requests, per this many seconds)."""
    count, sep, unit = text.strip().partition("/")
    unit = unit.strip().lower()
    if (
        not sep
        or not (count.strip().isascii() and count.strip().isdigit())
        or int(count) < 1
        or unit not in _UNITS
    ):
        raise ValueError(
            f"ACCORD_RATE_LIMIT must look like 600/minute (per second, minute or hour), "
            f"not {text!r}"
        )
    return int(count), _UNITS[unit]


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name) or str(default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a number of seconds (0 or more), not {text!r}")
    return value
