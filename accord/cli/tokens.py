"""``accord token create|list|revoke``: API tokens of the registry (ACCORD_DATABASE_URL).

Tokens are made where the database is, not over HTTP: the first admin token has to come
from somewhere. ``create`` prints the token alone on stdout (once: only a salted hash is
stored); everything else goes to stderr.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from accord.cli.output import err, fail, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from registry.auth.tokens import TokenInfo
    from registry.db import Database

__all__ = ["token_app"]

token_app = typer.Typer(
    help="API tokens of the registry (ACCORD_DATABASE_URL): create, list, revoke.",
    no_args_is_help=True,
)

ROLES = ("admin", "producer", "consumer", "reporter", "reader")


def _expiry(text: str | None) -> datetime | None:
    """``--expires``: a duration from now (90d, 12h, P30D) or a date/time; never: none."""
    if text is None or text.strip().lower() in ("", "never", "none"):
        return None
    from contracts import parse_duration

    try:
        duration = parse_duration(text.strip())
    except ValueError:
        pass
    else:
        if duration <= timedelta(0):
            raise fail(f"--expires {text!r}: a token must live for some time")
        try:
            return datetime.now(UTC) + duration
        except OverflowError:
            raise fail(f"--expires {text!r}: beyond the year 9999 (say 'never')") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise fail(
            f"--expires {text!r}: a duration (90d, 12h, P30D), a date (2027-01-31) or 'never'"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= datetime.now(UTC):
        raise fail(f"--expires {text!r} is in the past")
    return moment


def _database() -> Database:
    from sqlalchemy.exc import SQLAlchemyError

    from registry import migrate
    from registry.db import Database
    from registry.settings import Settings

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise fail(str(exc)) from None
    db = Database(settings.database_url)
    try:
        revision = migrate.current_revision(db.engine)
    except SQLAlchemyError as exc:
        db.dispose()
        raise fail(f"database {settings.database_shown}: {exc.__class__.__name__}: {exc}") from None
    if revision is None or revision < "0005":
        db.dispose()
        raise fail(
            f"database {settings.database_shown} has no token table (revision "
            f"{revision or 'none'}): run `accord db upgrade` first"
        )
    return db


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
    team: list[str] = typer.Option(
        [], "--team", help="A team the token acts for (repeatable; producer and consumer need one)."
    ),
    name: str | None = typer.Option(None, "--name", help="What the token is for."),
    expires: str | None = typer.Option(
        None, "--expires", help="90d, 12h, P30D, a date (2027-01-31), or never [default: never]."
    ),
) -> None:
    """Create a token and print it (only once) on stdout."""
    from registry.auth import Role
    from registry.auth.audit import record
    from registry.auth.tokens import create_token
    from registry.errors import InvalidRequest

    if role not in ROLES:
        raise fail(f"--role {role!r}: one of {', '.join(ROLES)}")
    expires_at = _expiry(expires)
    db = _database()
    who = _who()

    def work(session: Session) -> tuple[str, TokenInfo]:
        secret, info = create_token(
            session,
            role=Role(role),
            teams=team,
            name=name,
            expires_at=expires_at,
            created_by=who,
        )
        record(
            session,
            actor=who,
            actor_kind="cli",
            action="token.create",
            target=info.id,
            teams=list(info.teams),
            role=info.role.value,
            client="local",
            details={"name": name, "expires_at": expires_at.isoformat() if expires_at else None},
        )
        return secret, info

    try:
        secret, info = db.write(work)
    except InvalidRequest as exc:
        raise fail(exc.message) from None
    finally:
        db.dispose()
    teams = ", ".join(info.teams) or "no team"
    until = f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "does not expire"
    err.print(f"token {info.id} ({role}, {escape(teams)}) {until}; it is shown only now")
    print(secret)


@token_app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Also revoked and expired tokens."),
) -> None:
    """List tokens: id, role, teams, name, state (never a secret)."""
    from registry.auth.tokens import list_tokens

    db = _database()
    try:
        with db.reads() as session:
            tokens = list_tokens(session, include_inactive=all_)
    finally:
        db.dispose()
    if not tokens:
        err.print("no tokens")
        return
    for t in tokens:
        expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
        out.print(
            f"{t.id}  {t.role.value:<8}  {escape(','.join(t.teams) or '-'):<20}  "
            f"{t.state:<7}  expires {expires}  created {t.created_at:%Y-%m-%d} "
            f"by {escape(t.created_by or '-')}  {escape(t.name or '')}",
            highlight=False,
        )


@token_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token's id (from `token list`).")) -> None:
    """Revoke a token (running registries stop accepting it within 5 seconds)."""
    from registry.auth.audit import record
    from registry.auth.tokens import revoke_token

    db = _database()
    who = _who()

    def work(session: Session) -> bool:
        info = revoke_token(session, token_id)
        if info is None:
            return False
        record(
            session,
            actor=who,
            actor_kind="cli",
            action="token.revoke",
            target=token_id,
            teams=list(info.teams),
            role=info.role.value,
            client="local",
        )
        return True

    try:
        found = db.write(work)
    finally:
        db.dispose()
    if not found:
        raise fail(f"no token {token_id!r}")
    err.print(f"token {escape(token_id)} revoked")
