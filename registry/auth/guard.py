"""Inside every write transaction of a request: ownership rules, and the audit row.

Session events on the app's `Database` sessions, so that every route — also ones added
later — gets both without calling anything:

- **Ownership** (`before_flush`), for principals that are not admins, on what a request
  writes, which the route table cannot see (it is in the body): a contract row may only be
  changed by a producer of the team that owns it, and only be left owned by one of the
  producer's teams (so a new contract's owner is the document's team, and a change of
  owner needs a token of both teams); a consumer row only by a consumer of its team; a
  webhook only by a producer of its team or of its contract's owner (a webhook of neither,
  global, only by an admin). A violation rolls the whole transaction back: 403.
- **Audit** (`before_commit`): when the transaction changed something (tables of the
  service's own bookkeeping aside), the request's `AuditEntry` is recorded in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from registry.auth.audit import current_entry
from registry.auth.principal import Principal, Role, current_principal
from registry.errors import Forbidden
from registry.tables import AuditRow, ConsumerRow, ContractRow, WebhookRow

__all__ = ["IGNORED_TABLES", "install"]

# Written by the service itself as a side effect (outbox, SLA state, leases): not audited.
IGNORED_TABLES = frozenset(
    {
        "audit_log",
        "webhook_deliveries",
        "sla_status",
        "sla_events",
        "breach_episodes",
        "monitor_leases",
    }
)
_CHANGES = "accord_changes"
_PENDING = "accord_audit_pending"


def _changes(session: Session) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = session.info.setdefault(_CHANGES, Counter())
    return found


def _table(obj: object) -> str | None:
    table = getattr(obj, "__table__", None)
    return getattr(table, "name", None)


def _count_objects(session: Session, changes: Counter[tuple[str, str]]) -> None:
    for op, objects in (
        ("insert", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            name = _table(obj)
            if name is None or name in IGNORED_TABLES:
                continue
            if op == "update" and not session.is_modified(obj):
                continue
            changes[(name, op)] += 1


# -- ownership ---------------------------------------------------------------------------------


def _deny(principal: Principal, message: str) -> Forbidden:
    return Forbidden(
        message,
        {"principal": principal.subject, "teams": sorted(principal.teams)},
    )


def _before(obj: Any, attribute: str) -> Any:
    """The value `attribute` had when loaded (or last flushed); None for a new object."""
    state = sa.inspect(obj)
    if state.pending or state.transient:
        return None
    history = state.attrs[attribute].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attribute)


def _check_contract(principal: Principal, row: ContractRow) -> None:
    if not principal.can(Role.PRODUCER):
        raise _deny(principal, f"changing contract {row.name!r} needs a producer token")
    old, new = _before(row, "owner_team"), row.owner_team
    if old is not None and old not in principal.teams:
        raise _deny(
            principal,
            f"contract {row.name!r} is owned by team {old!r}; this token acts for "
            f"{', '.join(sorted(principal.teams)) or 'no team'}",
        )
    if new is not None and new != old and new not in principal.teams:
        if old is None:
            message = (
                f"contract {row.name!r} would be owned by team {new!r}, which this token "
                "does not act for"
            )
        else:
            message = (
                f"moving contract {row.name!r} from team {old!r} to {new!r} needs an admin, "
                "or a producer token of both teams"
            )
        raise _deny(principal, message)


def _check_consumer(principal: Principal, row: ConsumerRow) -> None:
    if not principal.can(Role.CONSUMER):
        raise _deny(principal, "registering consumers needs a consumer token")
    for team in {_before(row, "team"), row.team} - {None}:
        if team not in principal.teams:
            raise _deny(
                principal,
                f"consumer {row.name!r} is of team {team!r}, which this token does not act for",
            )


def _check_webhook(session: Session, principal: Principal, row: WebhookRow) -> None:
    if not principal.can(Role.PRODUCER):
        raise _deny(principal, "webhooks need a producer or admin token")
    scopes = {(row.team, row.contract)}
    if sa.inspect(row).persistent:
        # What it was scoped to as well: a webhook of another team's is not the caller's
        # to move to its own team (and point elsewhere).
        scopes.add((_before(row, "team"), _before(row, "contract")))
    for team, contract in sorted(scopes, key=str):
        _check_webhook_scope(session, principal, team, contract)


def _check_webhook_scope(
    session: Session, principal: Principal, team: str | None, contract: str | None
) -> None:
    if team is None and contract is None:
        raise _deny(principal, "a webhook of every contract (no team, no contract) needs an admin")
    if team is not None and team not in principal.teams:
        raise _deny(principal, f"this token does not act for team {team!r}")
    if contract is not None:
        with session.no_autoflush:
            owner = session.scalar(
                sa.select(ContractRow.owner_team).where(ContractRow.name == contract)
            )
        if owner not in principal.teams:
            raise _deny(
                principal,
                f"contract {contract!r} is not owned by a team this token acts for",
            )


def _guard(session: Session, objects: Iterable[object]) -> None:
    principal = current_principal()
    if principal is None or principal.is_admin:
        return
    for obj in objects:
        if isinstance(obj, ContractRow):
            if obj in session.new or session.is_modified(obj) or obj in session.deleted:
                _check_contract(principal, obj)
        elif isinstance(obj, ConsumerRow):
            if obj in session.new or session.is_modified(obj) or obj in session.deleted:
                _check_consumer(principal, obj)
        elif isinstance(obj, WebhookRow):
            _check_webhook(session, principal, obj)


# -- events --------------------------------------------------------------------------------------


def _on_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    objects = [*session.new, *session.dirty, *session.deleted]
    _guard(session, objects)
    if current_entry() is not None:
        _count_objects(session, _changes(session))


def _on_orm_execute(state: ORMExecuteState) -> None:
    if current_entry() is None or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None or name in IGNORED_TABLES:
        return
    op = "insert" if state.is_insert else "update" if state.is_update else "delete"
    params = state.parameters
    rows = len(params) if isinstance(params, list) else 1
    _changes(state.session)[(name, op)] += rows


def _on_before_commit(session: Session) -> None:
    entry = current_entry()
    if entry is None or entry.recorded:
        return
    changes = Counter(_changes(session))
    _count_objects(session, changes)  # what the commit's own flush is about to write
    if not changes:
        session.info[_PENDING] = "unchanged"
        return
    summary: dict[str, dict[str, int]] = {}
    for (table, op), count in sorted(changes.items()):
        summary.setdefault(table, {})[op] = count
    session.add(entry.row("ok", None, {"changes": summary}))
    session.info[_PENDING] = "recorded"


def _on_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    session.info.pop(_CHANGES, None)
    entry = current_entry()
    if entry is None or pending is None:
        return
    if pending == "recorded":
        entry.recorded = True
    else:
        entry.unchanged = True


def _on_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_CHANGES, None)


def install(*makers: sessionmaker[Session]) -> None:
    """Attach the guard and the audit to the sessions `makers` create."""
    for maker in makers:
        event.listen(maker, "before_flush", _on_before_flush)
        event.listen(maker, "do_orm_execute", _on_orm_execute)
        event.listen(maker, "before_commit", _on_before_commit)
        event.listen(maker, "after_commit", _on_after_commit)
        event.listen(maker, "after_rollback", _on_after_rollback)


assert AuditRow.__tablename__ in IGNORED_TABLES
