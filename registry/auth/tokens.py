"""API tokens: ``accord_<id>_<secret>``, stored as a salted HMAC-SHA256 of the secret.

The secret is 256 random bits, so a fast keyed hash is as strong as a slow KDF would be
(nothing to brute-force); the per-token salt keeps equal secrets from hashing alike and the
id finds the row without scanning. The secret is shown once, by ``accord token create``.

`TokenVerifier` checks a presented token, keeping each row it read for a few seconds: a
revocation reaches a running server within `CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry.auth.principal import Principal, Role
from registry.errors import InvalidRequest, Unauthorized
from registry.tables import ApiTokenRow, now

__all__ = [
    "CACHE_SECONDS",
    "PREFIX",
    "TokenInfo",
    "TokenVerifier",
    "create_token",
    "list_tokens",
    "parse_token",
    "revoke_token",
]

PREFIX = "accord_"
CACHE_SECONDS = 5.0
_ID = re.compile(r"^[0-9a-f]{16}$")
_TEAM = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
# Producers and consumers act for teams; the other roles need none.
TEAM_ROLES = frozenset({Role.PRODUCER, Role.CONSUMER})


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token's metadata (never its secret or hash)."""

    id: str
    name: str | None
    teams: tuple[str, ...]
    role: Role
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiTokenRow) -> TokenInfo:
        return cls(
            row.id,
            row.name,
            tuple(row.teams),
            Role(row.role),
            row.created_at,
            row.created_by,
            row.expires_at,
            row.revoked_at,
        )

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a token in Accord's format, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or not _ID.match(token_id) or len(secret) < 16 or len(secret) > 128:
        return None
    return token_id, secret


def _teams(teams: Iterable[str], role: Role) -> list[str]:
    out = sorted({t.strip() for t in teams if t.strip()})
    for team in out:
        if not _TEAM.match(team):
            raise InvalidRequest(
                f"team {team!r}: letters, digits, '_', '.' and '-' (at most 255)",
                [{"field": "team", "value": team}],
            )
    if role in TEAM_ROLES and not out:
        raise InvalidRequest(f"a {role.value} token needs a team (--team)", [{"field": "team"}])
    return out


def create_token(
    session: Session,
    *,
    role: Role,
    teams: Iterable[str] = (),
    name: str | None = None,
    expires_at: datetime | None = None,
    created_by: str | None = None,
) -> tuple[str, TokenInfo]:
    """A new token (the full secret, shown once) and its stored metadata."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    row = ApiTokenRow(
        id=token_id,
        name=name,
        teams=_teams(teams, role),
        role=role.value,
        salt=salt,
        digest=_digest(salt, secret),
        created_at=now(),
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return f"{PREFIX}{token_id}_{secret}", TokenInfo.of(row)


def list_tokens(session: Session, *, include_inactive: bool = False) -> list[TokenInfo]:
    rows = session.scalars(sa.select(ApiTokenRow).order_by(ApiTokenRow.created_at))
    infos = [TokenInfo.of(row) for row in rows]
    return infos if include_inactive else [t for t in infos if t.state == "active"]


def revoke_token(session: Session, token_id: str) -> TokenInfo | None:
    """Revoke a token (idempotent); None when there is no such token."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now()
    session.flush()
    return TokenInfo.of(row)


_SELECT = sa.select(
    ApiTokenRow.teams,
    ApiTokenRow.role,
    ApiTokenRow.salt,
    ApiTokenRow.digest,
    ApiTokenRow.name,
    ApiTokenRow.expires_at,
    ApiTokenRow.revoked_at,
).where(ApiTokenRow.id == sa.bindparam("id"))


@dataclass(frozen=True, slots=True)
class _Stored:
    teams: frozenset[str]
    role: Role
    salt: str
    digest: str
    name: str | None
    expires_at: datetime | None
    revoked_at: datetime | None


def _fetch(connection: Connection, token_id: str) -> _Stored | None:
    found = connection.execute(_SELECT, {"id": token_id}).first()
    if found is None:
        return None
    teams, role, salt, digest, name, expires_at, revoked_at = found
    return _Stored(frozenset(teams), Role(role), salt, digest, name, expires_at, revoked_at)


# A well-formed token with an unknown id still costs one HMAC, like a known one.
_DECOY = _Stored(frozenset(), Role.READER, "00" * 16, "", None, None, None)


class TokenVerifier:
    """Checks presented tokens against the database, with a short per-process cache."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._cache: OrderedDict[str, tuple[float, _Stored | None]] = OrderedDict()
        self.max_entries = max_entries

    def cached(self, token_id: str) -> tuple[bool, _Stored | None]:
        """(found in cache, the row or None for "no such token")."""
        entry = self._cache.get(token_id)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def remember(self, token_id: str, stored: _Stored | None) -> None:
        self._cache[token_id] = (time.monotonic() + CACHE_SECONDS, stored)
        self._cache.move_to_end(token_id)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    def forget(self, token_id: str | None = None) -> None:
        if token_id is None:
            self._cache.clear()
        else:
            self._cache.pop(token_id, None)

    @staticmethod
    def fetch(connection: Connection, token_id: str) -> _Stored | None:
        return _fetch(connection, token_id)

    @staticmethod
    def principal(token_id: str, secret: str, stored: _Stored | None) -> Principal:
        """The principal of a token whose row is `stored`; Unauthorized when it is not valid."""
        check = stored or _DECOY
        if not hmac.compare_digest(_digest(check.salt, secret), check.digest) or stored is None:
            raise Unauthorized("the token is not valid", {"token_id": token_id})
        if stored.revoked_at is not None:
            raise Unauthorized("the token was revoked", {"token_id": token_id})
        if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
            raise Unauthorized("the token has expired", {"token_id": token_id})
        return Principal("token", token_id, frozenset({stored.role}), stored.teams, stored.name)
