"""Compatibility and mode, globally and per subject, as the Schema Registry API sees them.

A subject that is a contract is judged by the contract's config (`contracts.mode` and
`policy`), whichever API set it: that is its subject-level compatibility. The global config
is what a subject gets when it is first registered through this API without a subject-level
config of its own; such a subject `follows_global`: a later global change reaches it too,
and ``GET /config/{subject}`` answers 40408 (not configured) as Confluent does. A subject
config set before the subject exists waits in its `confluent_configs` row.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts import CompatibilityMode, Policy
from registry.confluent.errors import (
    compatibility_not_configured,
    invalid_compatibility,
    invalid_mode,
    mode_not_configured,
)
from registry.tables import ConfluentConfigRow, ContractRow, now

__all__ = [
    "GLOBAL",
    "MODES",
    "Compatibility",
    "clear_subject",
    "delete_global",
    "delete_subject_config",
    "delete_subject_mode",
    "effective",
    "effective_mode",
    "follow_global",
    "global_compatibility",
    "global_mode",
    "parse_compatibility",
    "parse_mode",
    "set_global",
    "set_global_mode",
    "set_subject",
    "set_subject_mode",
    "subject_compatibility",
    "subject_mode",
]

GLOBAL = ""  # the subject key of the global row
MODES = ("READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT")
DEFAULT = (CompatibilityMode.BACKWARD, Policy.STRICT)


@dataclass(frozen=True, slots=True)
class Compatibility:
    mode: CompatibilityMode
    policy: Policy

    def to_json(self, key: str = "compatibilityLevel") -> dict[str, str]:
        return {key: self.mode.value, "compatibilityPolicy": self.policy.value}


def parse_compatibility(
    level: object, policy: object
) -> tuple[CompatibilityMode | None, Policy | None]:
    """A PUT /config body's level and Accord's `compatibilityPolicy`; 42203 when invalid."""
    try:
        mode = CompatibilityMode(level.upper()) if isinstance(level, str) else None
        chosen = Policy(policy.upper()) if isinstance(policy, str) else None
    except ValueError:
        raise invalid_compatibility(level if policy is None else f"{level} / {policy}") from None
    if (level is not None and mode is None) or (policy is not None and chosen is None):
        raise invalid_compatibility(level)
    if mode is None and chosen is None:
        raise invalid_compatibility(level)
    return mode, chosen


def parse_mode(mode: object) -> str:
    if not isinstance(mode, str) or mode.upper() not in MODES:
        raise invalid_mode(mode)
    return mode.upper()


def _row(session: Session, subject: str, *, create: bool = False) -> ConfluentConfigRow | None:
    row = session.get(ConfluentConfigRow, subject)
    if row is None and create:
        row = ConfluentConfigRow(subject=subject, follows_global=False)
        session.add(row)
    return row


def _contract(session: Session, subject: str) -> ContractRow | None:
    """The contract behind `subject` unless it was purged (soft-deleted ones keep config)."""
    row = session.scalars(
        sa.select(ContractRow).where(ContractRow.name == subject, ContractRow.purged_at.is_(None))
    ).one_or_none()
    return row if row is not None and row.mode is not None else None


# -- global ---------------------------------------------------------------------------------


def global_compatibility(session: Session) -> Compatibility:
    row = _row(session, GLOBAL)
    mode = CompatibilityMode(row.compatibility) if row and row.compatibility else DEFAULT[0]
    policy = Policy(row.policy) if row and row.policy else DEFAULT[1]
    return Compatibility(mode, policy)


def _propagate(session: Session, config: Compatibility) -> None:
    """Give the new global config to every contract that follows it."""
    followers = sa.select(ConfluentConfigRow.subject).where(ConfluentConfigRow.follows_global)
    session.execute(
        sa.update(ContractRow)
        .where(ContractRow.name.in_(followers), ContractRow.purged_at.is_(None))
        .values(mode=config.mode.value, policy=config.policy.value, updated_at=now())
    )


def set_global(
    session: Session, mode: CompatibilityMode | None, policy: Policy | None
) -> Compatibility:
    row = _row(session, GLOBAL, create=True)
    assert row is not None
    current = global_compatibility(session)
    row.compatibility = (mode or current.mode).value
    row.policy = (policy or current.policy).value
    row.updated_at = now()
    config = Compatibility(CompatibilityMode(row.compatibility), Policy(row.policy))
    _propagate(session, config)
    return config


def delete_global(session: Session) -> Compatibility:
    """Back to the default (BACKWARD, STRICT); returns the config it replaced."""
    previous = global_compatibility(session)
    row = _row(session, GLOBAL)
    if row is not None:
        row.compatibility = row.policy = None
        row.updated_at = now()
    _propagate(session, Compatibility(*DEFAULT))
    return previous


def global_mode(session: Session) -> str:
    row = _row(session, GLOBAL)
    return row.mode if row and row.mode else "READWRITE"


def set_global_mode(session: Session, mode: str) -> str:
    row = _row(session, GLOBAL, create=True)
    assert row is not None
    row.mode, row.updated_at = mode, now()
    return mode


# -- per subject ----------------------------------------------------------------------------


def effective(session: Session, subject: str) -> Compatibility:
    """The config a registration or check of `subject` is judged by."""
    contract = _contract(session, subject)
    if contract is not None:
        assert contract.mode is not None and contract.policy is not None
        return Compatibility(CompatibilityMode(contract.mode), Policy(contract.policy))
    row = _row(session, subject)
    glob = global_compatibility(session)
    if row is not None and (row.compatibility or row.policy):
        mode = CompatibilityMode(row.compatibility) if row.compatibility else glob.mode
        return Compatibility(mode, Policy(row.policy) if row.policy else glob.policy)
    return glob


def subject_compatibility(
    session: Session, subject: str, *, default_to_global: bool
) -> Compatibility:
    """GET /config/{subject}: the subject-level config, 40408 when it has none."""
    contract = _contract(session, subject)
    row = _row(session, subject)
    configured = (contract is not None and not (row and row.follows_global)) or (
        contract is None and row is not None and bool(row.compatibility or row.policy)
    )
    if configured or default_to_global:
        return effective(session, subject)
    raise compatibility_not_configured(subject)


def set_subject(
    session: Session, subject: str, mode: CompatibilityMode | None, policy: Policy | None
) -> Compatibility:
    current = effective(session, subject)
    config = Compatibility(mode or current.mode, policy or current.policy)
    row = _row(session, subject, create=True)
    assert row is not None
    contract = _contract(session, subject)
    if contract is not None:
        contract.mode, contract.policy = config.mode.value, config.policy.value
        contract.updated_at = now()
        row.compatibility = row.policy = None
    else:
        row.compatibility, row.policy = config.mode.value, config.policy.value
    row.follows_global, row.updated_at = False, now()
    return config


def delete_subject_config(session: Session, subject: str) -> Compatibility:
    """DELETE /config/{subject}: follow the global config again; returns the old config."""
    previous = subject_compatibility(session, subject, default_to_global=False)
    glob = global_compatibility(session)
    contract = _contract(session, subject)
    row = _row(session, subject, create=True)
    assert row is not None
    row.compatibility = row.policy = None
    row.follows_global = contract is not None
    row.updated_at = now()
    if contract is not None:
        contract.mode, contract.policy = glob.mode.value, glob.policy.value
        contract.updated_at = now()
    return previous


def follow_global(session: Session, subject: str) -> Compatibility:
    """A contract is being created for `subject` through this API: the config it starts
    with (a waiting subject-level one, else the global one, which it then follows)."""
    row = _row(session, subject, create=True)
    assert row is not None
    glob = global_compatibility(session)
    pending = row.compatibility or row.policy
    config = Compatibility(
        CompatibilityMode(row.compatibility) if row.compatibility else glob.mode,
        Policy(row.policy) if row.policy else glob.policy,
    )
    row.compatibility = row.policy = None
    row.follows_global = not pending
    row.updated_at = now()
    return config


def clear_subject(session: Session, subject: str) -> None:
    """A subject deleted for good takes its config and mode with it."""
    session.execute(sa.delete(ConfluentConfigRow).where(ConfluentConfigRow.subject == subject))


def subject_mode(session: Session, subject: str, *, default_to_global: bool) -> str:
    row = _row(session, subject)
    if row is not None and row.mode:
        return row.mode
    if default_to_global:
        return global_mode(session)
    raise mode_not_configured(subject)


def effective_mode(session: Session, subject: str) -> str:
    return subject_mode(session, subject, default_to_global=True)


def set_subject_mode(session: Session, subject: str, mode: str) -> str:
    row = _row(session, subject, create=True)
    assert row is not None
    row.mode, row.updated_at = mode, now()
    return mode


def delete_subject_mode(session: Session, subject: str) -> str:
    previous = subject_mode(session, subject, default_to_global=False)
    row = _row(session, subject)
    assert row is not None
    row.mode, row.updated_at = None, now()
    return previous
