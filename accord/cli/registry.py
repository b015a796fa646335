"""``accord serve``, ``accord db upgrade|downgrade|reseal|new-key|prune``, ``accord publish``.

The registry's modules are imported inside the commands: FastAPI and SQLAlchemy are not
worth loading for ``accord lint``.
"""

from __future__ import annotations

import copy
import logging.config
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from accord.cli.connect import registry_client
from accord.cli.output import EXIT_BREACH, EXIT_OK, EXIT_USAGE, err, fail, out
from contracts import ContractError, DocumentSyntaxError, load_contract, read_file

if TYPE_CHECKING:
    from enforcers.registry_client import RegistryClient, RegistryError
    from registry.settings import Settings

__all__ = ["db_app", "publish", "serve"]

db_app = typer.Typer(
    help="Migrate the registry database (ACCORD_DATABASE_URL).", no_args_is_help=True
)


def _settings() -> Settings:
    from registry.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:
        raise fail(str(exc)) from None


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    load_examples: bool = typer.Option(
        False, "--load-examples", help="Publish contracts/examples/*.yaml at start-up."
    ),
    workers: int | None = typer.Option(
        None, min=1, help="Worker processes [default: ACCORD_WORKERS, else 1]."
    ),
    access_log: bool = typer.Option(True, help="Log every request."),
) -> None:
    """Migrate the database to the latest schema, then serve the registry."""
    import uvicorn

    from registry import migrate

    settings = _settings()
    # uvicorn's logging, extended to the registry's own and Alembic's loggers; uvicorn
    # applies it in every worker process too.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for name, level in (("registry", "INFO"), ("alembic", "WARNING")):
        log_config["loggers"][name] = {"handlers": ["default"], "level": level}
    log_config["loggers"]["alembic.runtime.migration"] = {"level": "INFO"}
    logging.config.dictConfig(log_config)
    from sqlalchemy.exc import SQLAlchemyError

    try:
        migrate.upgrade(settings.database_url)
    except SQLAlchemyError as exc:
        raise fail(f"database {settings.database_shown}: {exc.__class__.__name__}: {exc}") from None
    if not settings.auth:  # loudly: the registry is open to anyone who reaches it
        err.print(
            "[bold red]WARNING: ACCORD_AUTH=off: authentication is OFF; anyone who can reach "
            f"{escape(host)}:{port} can change every contract. Local use only.[/]",
            markup=True,
        )
    _reseal(settings)
    if load_examples:
        _load_examples(settings.database_url)
    # Worker processes build their app from the environment: hand them the same database.
    os.environ["ACCORD_DATABASE_URL"] = settings.database_url
    # Several workers share their Prometheus counts through files in one directory.
    from registry.monitoring.metrics import prepare_multiprocess

    prepare_multiprocess(workers or settings.workers)
    uvicorn.run(
        "registry.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        access_log=access_log,
        log_config=log_config,
    )


def _reseal(settings: Settings) -> int:
    """Seal webhook secrets with the first key of ACCORD_SECRET_KEY (or say there is none);
    how many no key opens."""
    from registry.db import Database
    from registry.monitoring.sealing import SecretSealer
    from registry.monitoring.webhooks import reseal_secrets

    if not settings.secret_keys:
        err.print(
            "warning: ACCORD_SECRET_KEY is not set: webhook secrets are stored unsealed "
            "(`accord db new-key` makes a key)",
            style="yellow",
        )
        return 0
    db = Database(settings.database_url)
    try:
        resealed, unopened = reseal_secrets(db, SecretSealer(settings.secret_keys))
    finally:
        db.dispose()
    if resealed:
        err.print(f"sealed {resealed} webhook secret(s) with the first key of ACCORD_SECRET_KEY")
    if unopened:
        err.print(
            f"warning: {unopened} webhook secret(s) were sealed with a key that is no longer in "
            "ACCORD_SECRET_KEY: their deliveries fail until it is put back",
            style="yellow",
        )
    return unopened


def _load_examples(database_url: str) -> None:
    from registry.db import Database
    from registry.errors import ApiError
    from registry.seed import example_files, publish_files

    db = Database(database_url)
    try:
        for _path, published in publish_files(db, example_files()):
            state = "created" if published.created else "existing"
            err.print(f"example {published.name} version {published.version.version} ({state})")
    except (ApiError, ContractError, DocumentSyntaxError) as exc:
        # A registry whose history moved on from the examples still starts.
        err.print(f"warning: examples not all loaded: {escape(str(exc))}", style="yellow")
    finally:
        db.dispose()


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target revision."),
) -> None:
    """Migrate the database up to REVISION (default: the latest)."""
    _migrate("upgrade", revision)


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument("-1", help="Target revision ('base': empty)."),
) -> None:
    """Migrate the database down to REVISION (default: one step)."""
    _migrate("downgrade", revision)


@db_app.command("reseal")
def db_reseal() -> None:
    """Seal every webhook secret with the first key of ACCORD_SECRET_KEY.

    After setting a key (secrets stored before it are sealed) or putting a new one first
    (secrets sealed with an older key are sealed again with it; the older key can then go).
    """
    from sqlalchemy.exc import SQLAlchemyError

    settings = _settings()
    if not settings.secret_keys:
        raise fail("ACCORD_SECRET_KEY is not set: there is no key to seal with")
    try:
        unopened = _reseal(settings)
    except SQLAlchemyError as exc:
        raise fail(f"database {settings.database_shown}: {exc.__class__.__name__}: {exc}") from None
    if unopened:
        raise typer.Exit(EXIT_BREACH)
    out.print("every webhook secret is sealed with the first key")


@db_app.command("new-key")
def db_new_key() -> None:
    """Print a new random key for ACCORD_SECRET_KEY."""
    from registry.monitoring.sealing import new_key

    out.print(new_key(), markup=False, highlight=False)


@db_app.command("prune")
def db_prune(
    days: int | None = typer.Option(
        None, min=1, help="Keep this many days [default: ACCORD_RETENTION_DAYS, else 90]."
    ),
) -> None:
    """Delete breach reports, observations, SLA events and finished webhook deliveries
    older than the retention, now. A running registry does it every hour by itself."""
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from registry import migrate
    from registry.db import Database
    from registry.monitoring.retention import prune
    from registry.settings import MAX_RETENTION_DAYS

    settings = _settings()
    if days is not None and days > MAX_RETENTION_DAYS:
        raise fail(f"--days: at most {MAX_RETENTION_DAYS}, not {days}")
    kept = timedelta(days=days) if days else settings.retention
    if kept is None:
        out.print("ACCORD_RETENTION_DAYS is 0: everything is kept")
        return
    if _missing_sqlite_file(settings.database_url):  # connecting would create an empty one
        raise fail(
            f"database {settings.database_shown} does not exist: run `accord db upgrade` first"
        )
    db = Database(settings.database_url)
    try:
        revision = migrate.current_revision(db.engine)
        head = migrate.head_revision()
        # Prune's tables are those of the latest schema: on an older one it would fail
        # half-way with a raw SQL error.
        if revision is None or (head is not None and revision < head):
            raise fail(
                f"database {settings.database_shown} is at revision {revision or 'none'}, "
                f"not {head}: run `accord db upgrade` first"
            )
        pruned = prune(db, kept)
    except SQLAlchemyError as exc:
        raise fail(f"database {settings.database_shown}: {exc.__class__.__name__}: {exc}") from None
    finally:
        db.dispose()
    out.print(
        f"deleted what was older than {kept.days} days: breach reports {pruned.breaches}, "
        f"observations {pruned.observations}, SLA events {pruned.sla_events}, "
        f"webhook deliveries {pruned.webhook_deliveries}"
    )


def _missing_sqlite_file(url: str) -> bool:
    """Whether `url` names an SQLite file that is not there (SQLite would create it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return False
    return parsed.database not in (None, "", ":memory:") and not Path(parsed.database).exists()


def _migrate(direction: str, revision: str) -> None:
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from registry import migrate
    from registry.db import Database

    settings = _settings()
    step = migrate.upgrade if direction == "upgrade" else migrate.downgrade
    try:
        step(settings.database_url, revision)
        db = Database(settings.database_url)
        try:
            now_at = migrate.current_revision(db.engine)
        finally:
            db.dispose()
    except CommandError as exc:
        raise fail(f"{direction} {revision}: {exc}") from None
    except SQLAlchemyError as exc:
        raise fail(f"database {settings.database_shown}: {exc.__class__.__name__}: {exc}") from None
    out.print(f"database at revision {now_at or 'base (empty)'}")


def publish(
    files: list[Path] = typer.Argument(
        ..., help="Contract files (YAML or JSON).", show_default=False
    ),
    registry: str | None = typer.Option(
        None,
        "--registry",
        envvar="ACCORD_REGISTRY_URL",
        help="Registry URL [default: http://127.0.0.1:8000].",
    ),
) -> None:
    """Publish contract files: exit 0 published, 1 refused (incompatible), 2 input error."""
    from enforcers.registry_client import DEFAULT_URL

    worst = EXIT_OK
    with registry_client(registry or DEFAULT_URL) as client:
        for path in files:
            worst = max(worst, _publish_one(client, path))
    raise typer.Exit(worst)


def _publish_one(client: RegistryClient, path: Path) -> int:
    from enforcers.registry_client import RegistryError

    try:
        doc = read_file(path)
        load_contract(doc)  # local checks first: problems named with file and line
    except DocumentSyntaxError as exc:
        err.print(escape(str(exc)), style="red")
        return EXIT_USAGE
    except ContractError as exc:
        for problem in exc.problems:
            err.print(escape(problem.format(str(path))), style="red")
        return EXIT_USAGE
    try:
        result = client.publish(path.read_bytes())
    except RegistryError as exc:
        return _refused(path, exc)
    state = "created" if result.created else "existing"
    out.print(f"{escape(str(path))}: {result.name} version {result.version} ({state})")
    return EXIT_OK


def _refused(path: Path, exc: RegistryError) -> int:
    where = escape(str(path))
    if exc.code == "incompatible":
        err.print(f"{where}: {escape(exc.message)}", style="red")
        details = exc.details if isinstance(exc.details, Mapping) else {}
        for change in details.get("changes", ()):
            if not change.get("compatible", True):
                err.print(
                    f"  {escape(change['type'])} {escape(change['path'] or '/')} "
                    f"(breaks {change['breaks']}): {escape(change['message'])}",
                    style="red",
                )
        for consumer in details.get("affected_consumers", ()):
            err.print(f"  affects consumer {escape(consumer['name'])} (team {consumer['team']})")
        return EXIT_BREACH
    if exc.code in ("invalid_contract", "name_mismatch") and isinstance(exc.details, list):
        for problem in exc.details:
            line = f":{problem['line']}" if problem.get("line") else ""
            err.print(
                f"{where}{line}: error: {escape(problem.get('path') or '/')}: "
                f"{escape(problem['message'])} \\[{problem.get('code')}]",
                style="red",
            )
        return EXIT_USAGE
    err.print(f"{where}: {escape(exc.message)} \\[{exc.code}]", style="red")
    # 1 is "refused, with the breaking changes listed" (above): CI reads it as a verdict on
    # the contract. Anything else (unreachable, credentials, a wrong URL, a rate limit, a
    # soft-deleted twin...) was not a verdict, and exits 2 as `accord check` does.
    return EXIT_USAGE
