"""Who is asking: roles, the authenticated principal, and the request's context."""

from __future__ import annotations

import enum
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ANONYMOUS",
    "Principal",
    "Role",
    "current_principal",
    "default_team",
    "set_principal",
]


class Role(enum.StrEnum):
    """What a token may do. Every role reads; `admin` may do everything."""

    ADMIN = "admin"
    PRODUCER = "producer"  # publish and configure the contracts its teams own
    CONSUMER = "consumer"  # register its teams as consumers
    REPORTER = "reporter"  # post breaches and observations
    READER = "reader"


PrincipalKind = Literal["token", "oidc", "anonymous"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an API token, an OIDC subject, or anonymous (read only)."""

    kind: PrincipalKind
    subject: str  # the token id, "oidc:<sub>", or "anonymous"
    roles: frozenset[Role]
    teams: frozenset[str] = field(default_factory=frozenset)
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def can(self, role: Role) -> bool:
        """Whether this principal acts in `role` (admins in every role; any role reads)."""
        if self.is_admin or role in self.roles:
            return True
        return role is Role.READER and bool(self.roles)

    @property
    def role_label(self) -> str:
        return ",".join(sorted(self.roles))

    def describe(self) -> str:
        teams = ",".join(sorted(self.teams)) or "-"
        return f"{self.subject} (role {self.role_label or 'none'}, teams {teams})"


ANONYMOUS = Principal("anonymous", "anonymous", frozenset({Role.READER}))

_PRINCIPAL: ContextVar[Principal | None] = ContextVar("accord_principal", default=None)


def current_principal() -> Principal | None:
    """The principal of the request being served; None outside requests or with auth off."""
    return _PRINCIPAL.get()


def set_principal(principal: Principal | None) -> None:
    _PRINCIPAL.set(principal)


def default_team() -> str | None:
    """The team a new contract gets when its document names none (the Confluent API): the
    caller's, when its token acts for exactly one team."""
    principal = _PRINCIPAL.get()
    if principal is not None and len(principal.teams) == 1:
        return next(iter(principal.teams))
    return None
