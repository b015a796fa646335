"""Persistence: every read and write of contracts, versions and consumers.

`ContractStore` works on a Session and never commits: the caller owns the transaction (one
per request, see `Database.write`). `ContractReader` serves the two hot read paths on a
bare connection. Lookups raise the API's not-found errors, so routes stay thin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from contracts import CompatibilityMode, Policy
from contracts.consumers import Consumer
from registry.errors import (
    ConsumerNotFound,
    ContractNotFound,
    NotSoftDeleted,
    VersionNotFound,
)
from registry.tables import ConsumerRow, ContractRow, ContractTagRow, VersionRow, now

__all__ = ["CheckInputs", "ContractFilters", "ContractReader", "ContractStore", "StoredVersion"]


@dataclass(frozen=True, slots=True)
class ContractFilters:
    owner_team: str | None = None
    tag: str | None = None
    status: str | None = None
    text: str | None = None  # substring of name or description, any case


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A version as the read path serves it: metadata and the stored canonical JSON."""

    name: str
    version: int
    id: int
    fingerprint: str
    status: str
    created_at: datetime
    deleted_at: datetime | None
    document: str

    @property
    def etag(self) -> str:
        # Strong: the body is a function of the version (its global id, never reused), its
        # content (fingerprint), lifecycle and deletion. The same content published again
        # after a permanent delete is another version, with another tag.
        deleted = "-deleted" if self.deleted_at else ""
        return f'"{self.id}-{self.fingerprint}-{self.status}{deleted}"'

    def to_json(self) -> bytes:
        """The response body, with the stored document spliced in unparsed."""
        return orjson.dumps(
            {
                "name": self.name,
                "version": self.version,
                "id": self.id,
                "fingerprint": self.fingerprint,
                "status": self.status,
                "created_at": self.created_at,
                "deleted_at": self.deleted_at,
                "contract": orjson.Fragment(self.document),
            },
            option=orjson.OPT_UTC_Z,
        )


_VERSION_COLUMNS = (
    ContractRow.name,
    VersionRow.version,
    VersionRow.id,
    VersionRow.fingerprint,
    VersionRow.status,
    VersionRow.created_at,
    VersionRow.deleted_at,
    VersionRow.document,
)


def _version_query(*, latest: bool, deleted: bool) -> sa.Select[*tuple[Any, ...]]:
    query = (
        sa.select(*_VERSION_COLUMNS)
        .join(ContractRow, ContractRow.id == VersionRow.contract_id)
        .where(ContractRow.name == sa.bindparam("name"), ContractRow.purged_at.is_(None))
    )
    if not deleted:
        query = query.where(ContractRow.deleted_at.is_(None), VersionRow.deleted_at.is_(None))
    if latest:
        return query.order_by(VersionRow.version.desc()).limit(1)
    return query.where(VersionRow.version == sa.bindparam("version"))


# Built once: composing a statement costs more than running it on the hot read paths.
_VERSION_QUERIES = {
    (latest, deleted): _version_query(latest=latest, deleted=deleted)
    for latest in (True, False)
    for deleted in (True, False)
}
_CONTRACT_EXISTS = {
    deleted: sa.select(ContractRow.id).where(
        ContractRow.name == sa.bindparam("name"),
        ContractRow.purged_at.is_(None),
        *(() if deleted else (ContractRow.deleted_at.is_(None),)),
    )
    for deleted in (True, False)
}
_BY_ID = (
    sa.select(*_VERSION_COLUMNS)
    .join(ContractRow, ContractRow.id == VersionRow.contract_id)
    .where(VersionRow.id == sa.bindparam("id"), ContractRow.purged_at.is_(None))
)
_LIVE_CONTRACT = sa.select(ContractRow.id, ContractRow.mode, ContractRow.policy).where(
    ContractRow.name == sa.bindparam("name"),
    ContractRow.deleted_at.is_(None),
    ContractRow.purged_at.is_(None),
)
_HISTORY = (
    sa.select(VersionRow.version, VersionRow.fingerprint, VersionRow.document)
    .where(VersionRow.contract_id == sa.bindparam("contract_id"), VersionRow.deleted_at.is_(None))
    .order_by(VersionRow.version)
)
_CONSUMERS = (
    sa.select(
        ConsumerRow.name,
        ConsumerRow.team,
        ConsumerRow.contact,
        ConsumerRow.min_version,
        ConsumerRow.max_version,
        ConsumerRow.fields,
    )
    .where(ConsumerRow.contract_id == sa.bindparam("contract_id"))
    .order_by(ConsumerRow.name)
)


@dataclass(frozen=True, slots=True)
class CheckInputs:
    """What a compatibility check of a live contract needs from the database."""

    mode: CompatibilityMode
    policy: Policy
    history: list[tuple[int, str, str]]  # (version, fingerprint, document JSON), oldest first
    consumers: list[Consumer]


class ContractReader:
    """The hot read paths (serving a version, dry-run checks) on a bare Connection.

    Statements are built once and rows come back as tuples: no ORM, no Session.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def version(self, name: str, number: int | None, *, deleted: bool = False) -> StoredVersion:
        """Version `number` of `name` (None: the latest live one); else a not-found error."""
        query = _VERSION_QUERIES[(number is None, deleted)]
        params: dict[str, Any] = {"name": name, "version": number}
        found = self.connection.execute(query, params).first()
        if found is not None:
            return StoredVersion(*found)
        if self.connection.execute(_CONTRACT_EXISTS[deleted], {"name": name}).first() is None:
            raise ContractNotFound(f"contract {name!r} not found", {"name": name})
        which = "latest version" if number is None else f"version {number}"
        raise VersionNotFound(
            f"{which} of contract {name!r} not found", {"name": name, "version": number}
        )

    def by_id(self, version_id: int) -> StoredVersion:
        """The version with this global id (deleted too, unless purged); else not found."""
        found = self.connection.execute(_BY_ID, {"id": version_id}).first()
        if found is None:
            raise VersionNotFound(f"no version has id {version_id}", {"id": version_id})
        return StoredVersion(*found)

    def check_inputs(self, name: str) -> CheckInputs | None:
        """Config, live history and consumers of the live contract `name` (None: none)."""
        contract = self.connection.execute(_LIVE_CONTRACT, {"name": name}).first()
        if contract is None:
            return None
        contract_id, mode, policy = contract
        assert mode is not None and policy is not None  # set on every live contract
        params = {"contract_id": contract_id}
        history = [(v, f, d) for v, f, d in self.connection.execute(_HISTORY, params)]
        consumers = [
            Consumer(consumer, team, contact, low, high, tuple(fields))
            for consumer, team, contact, low, high, fields in self.connection.execute(
                _CONSUMERS, params
            )
        ]
        return CheckInputs(CompatibilityMode(mode), Policy(policy), history, consumers)


class ContractStore:
    """Contracts, versions and consumers in the database behind `session`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- contracts ----------------------------------------------------------------------

    def find(self, name: str, *, lock: bool = False) -> ContractRow | None:
        """The contract row in any state (live, soft-deleted or purged), locked if asked."""
        query = sa.select(ContractRow).where(ContractRow.name == name)
        if lock:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def contract(self, name: str, *, deleted: bool = False, lock: bool = False) -> ContractRow:
        """A live contract (or a soft-deleted one when `deleted`); else ContractNotFound."""
        row = self.find(name, lock=lock)
        if row is None or row.purged_at is not None or (row.deleted_at and not deleted):
            raise ContractNotFound(f"contract {name!r} not found", {"name": name})
        return row

    def create(self, name: str, mode: CompatibilityMode, policy: Policy) -> ContractRow:
        row = ContractRow(name=name, mode=mode.value, policy=policy.value, last_version=0)
        self.session.add(row)
        self.session.flush()  # a concurrent create fails here, on the unique name
        return row

    def revive(self, row: ContractRow, mode: CompatibilityMode, policy: Policy) -> None:
        """Make a deleted contract live again; a purged one starts from fresh config."""
        if row.purged_at is not None:
            row.mode, row.policy, row.created_at = mode.value, policy.value, now()
        row.deleted_at = row.purged_at = None

    def tags(self, contract_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {i: [] for i in contract_ids}
        if contract_ids:
            query = (
                sa.select(ContractTagRow.contract_id, ContractTagRow.tag)
                .where(ContractTagRow.contract_id.in_(contract_ids))
                .order_by(ContractTagRow.tag)
            )
            for contract_id, tag in self.session.execute(query):
                out[contract_id].append(tag)
        return out

    def page(
        self, filters: ContractFilters, limit: int, offset: int, *, deleted: bool = False
    ) -> tuple[list[ContractRow], int]:
        """One page of contracts by name, and how many match in all."""
        where: list[sa.ColumnElement[bool]] = [ContractRow.purged_at.is_(None)]
        if not deleted:
            where.append(ContractRow.deleted_at.is_(None))
        if filters.owner_team is not None:
            where.append(ContractRow.owner_team == filters.owner_team)
        if filters.status is not None:
            where.append(ContractRow.status == filters.status)
        if filters.tag is not None:
            tagged = sa.select(ContractTagRow.contract_id).where(ContractTagRow.tag == filters.tag)
            where.append(ContractRow.id.in_(tagged))
        if filters.text:
            needle = filters.text.lower()
            where.append(
                sa.or_(
                    sa.func.lower(ContractRow.name).contains(needle, autoescape=True),
                    sa.func.lower(ContractRow.description).contains(needle, autoescape=True),
                )
            )
        total = self.session.scalar(sa.select(sa.func.count()).where(*where)) or 0
        query = (
            sa.select(ContractRow)
            .where(*where)
            .order_by(ContractRow.name)
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(query)), total

    def set_config(
        self, name: str, mode: CompatibilityMode | None, policy: Policy | None
    ) -> ContractRow:
        row = self.contract(name, lock=True)
        if mode is not None:
            row.mode = mode.value
        if policy is not None:
            row.policy = policy.value
        row.updated_at = now()
        return row

    def delete_contract(self, name: str, *, permanent: bool) -> list[int]:
        """Soft-delete a contract and its versions, or purge a soft-deleted one.

        Returns the version numbers this deleted. A purge keeps the row (name and version
        counter) so a later publish under the same name never reuses a number.
        """
        row = self.contract(name, deleted=permanent, lock=True)
        versions = self.session.scalars(
            sa.select(VersionRow)
            .where(VersionRow.contract_id == row.id)
            .order_by(VersionRow.version)
        ).all()
        stamp = now()
        if not permanent:
            deleted = [v.version for v in versions if v.deleted_at is None]
            for v in versions:
                v.deleted_at = v.deleted_at or stamp
            row.deleted_at = row.updated_at = stamp
            self._refresh(row)
            return deleted
        if row.deleted_at is None:
            raise NotSoftDeleted(
                f"contract {name!r} must be soft-deleted (DELETE without permanent) "
                "before it is deleted permanently",
                {"name": name},
            )
        for table in (VersionRow, ConsumerRow, ContractTagRow):
            self.session.execute(sa.delete(table).where(table.contract_id == row.id))
        row.purged_at = row.updated_at = stamp
        row.description = row.owner_team = row.status = None
        row.latest_version = None
        row.mode = row.policy = None
        return [v.version for v in versions]

    # -- versions -----------------------------------------------------------------------

    def versions(self, row: ContractRow, *, deleted: bool = False) -> list[VersionRow]:
        query = sa.select(VersionRow).where(VersionRow.contract_id == row.id)
        if not deleted:
            query = query.where(VersionRow.deleted_at.is_(None))
        return list(self.session.scalars(query.order_by(VersionRow.version)))

    def version_row(self, row: ContractRow, number: int, *, deleted: bool = False) -> VersionRow:
        found = self.session.scalars(
            sa.select(VersionRow).where(
                VersionRow.contract_id == row.id, VersionRow.version == number
            )
        ).one_or_none()
        if found is None or (found.deleted_at is not None and not deleted):
            raise VersionNotFound(
                f"version {number} of contract {row.name!r} not found",
                {"name": row.name, "version": number},
            )
        return found

    def by_fingerprint(self, row: ContractRow, fingerprint: str) -> VersionRow | None:
        return self.session.scalars(
            sa.select(VersionRow).where(
                VersionRow.contract_id == row.id, VersionRow.fingerprint == fingerprint
            )
        ).one_or_none()

    def history(self, row: ContractRow) -> list[tuple[int, str, str]]:
        """(version, fingerprint, document JSON) of the live versions, oldest first."""
        query = (
            sa.select(VersionRow.version, VersionRow.fingerprint, VersionRow.document)
            .where(VersionRow.contract_id == row.id, VersionRow.deleted_at.is_(None))
            .order_by(VersionRow.version)
        )
        return [(v, f, d) for v, f, d in self.session.execute(query)]

    def add_version(
        self, row: ContractRow, fingerprint: str, document: str, status: str
    ) -> VersionRow:
        """Append the next version number (numbers are never reused, even after a purge)."""
        row.last_version += 1
        version = VersionRow(
            contract_id=row.id,
            version=row.last_version,
            fingerprint=fingerprint,
            document=document,
            status=status,
        )
        self.session.add(version)
        self.session.flush()
        row.updated_at = version.created_at
        self._refresh(row)
        return version

    def set_status(self, name: str, number: int, status: str) -> VersionRow:
        row = self.contract(name, lock=True)
        version = self.version_row(row, number)
        version.status = status
        row.updated_at = now()
        self._refresh(row)
        return version

    def delete_version(self, name: str, number: int, *, permanent: bool) -> None:
        """Soft-delete a version, or permanently delete a soft-deleted one."""
        row = self.contract(name, deleted=permanent, lock=True)
        version = self.version_row(row, number, deleted=permanent)
        if permanent:
            if version.deleted_at is None:
                raise NotSoftDeleted(
                    f"version {number} of {name!r} must be soft-deleted (DELETE without "
                    "permanent) before it is deleted permanently",
                    {"name": name, "version": number},
                )
            self.session.delete(version)
        else:
            version.deleted_at = now()
        row.updated_at = now()
        self.session.flush()
        self._refresh(row)

    def restore_version(self, row: ContractRow, version: VersionRow) -> None:
        """Make a soft-deleted version live again (and its contract, if that was deleted)."""
        version.deleted_at = None
        row.deleted_at = None
        row.updated_at = now()
        self.session.flush()
        self._refresh(row)

    def _refresh(self, row: ContractRow) -> None:
        """Copy the latest live version's summary onto the contract row (for listings)."""
        latest = self.session.scalars(
            sa.select(VersionRow)
            .where(VersionRow.contract_id == row.id, VersionRow.deleted_at.is_(None))
            .order_by(VersionRow.version.desc())
            .limit(1)
        ).one_or_none()
        if latest is None:
            row.latest_version, row.status = None, None
            return
        doc: dict[str, Any] = orjson.loads(latest.document)
        row.latest_version, row.status = latest.version, latest.status
        row.description = doc.get("description")
        row.owner_team = doc.get("owner", {}).get("team")
        self.session.execute(sa.delete(ContractTagRow).where(ContractTagRow.contract_id == row.id))
        tags = sorted(set(doc.get("tags", ())))
        if tags:
            self.session.execute(
                sa.insert(ContractTagRow), [{"contract_id": row.id, "tag": t} for t in tags]
            )

    # -- consumers ----------------------------------------------------------------------

    def consumers(self, row: ContractRow) -> list[ConsumerRow]:
        query = sa.select(ConsumerRow).where(ConsumerRow.contract_id == row.id)
        return list(self.session.scalars(query.order_by(ConsumerRow.name)))

    def upsert_consumer(self, name: str, fields: dict[str, Any]) -> tuple[ConsumerRow, bool]:
        """Register or replace the consumer `fields["name"]`; True when it is new."""
        row = self.contract(name, lock=True)
        found = self.session.scalars(
            sa.select(ConsumerRow).where(
                ConsumerRow.contract_id == row.id, ConsumerRow.name == fields["name"]
            )
        ).one_or_none()
        if found is None:
            found = ConsumerRow(contract_id=row.id, **fields)
            self.session.add(found)
            self.session.flush()  # a concurrent insert fails here, on the unique name
            return found, True
        for key, value in fields.items():
            setattr(found, key, value)
        found.updated_at = now()
        return found, False

    def delete_consumer(self, name: str, consumer: str) -> None:
        row = self.contract(name, lock=True)
        result = self.session.execute(
            sa.delete(ConsumerRow).where(
                ConsumerRow.contract_id == row.id, ConsumerRow.name == consumer
            )
        )
        if not getattr(result, "rowcount", 0):
            raise ConsumerNotFound(
                f"consumer {consumer!r} of contract {name!r} not found",
                {"name": name, "consumer": consumer},
            )
