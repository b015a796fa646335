"""Subjects are contracts: reading, registering, looking up, checking and deleting schemas.

A subject is the contract of the same name and its versions are the contract's versions;
a schema's id is the version's global id (`contract_versions.id`). Registering a schema
identical (as JSON) to a live version of the subject returns that version. Otherwise the
new version inherits everything but the schema from the latest live version (owner,
semantics, SLAs, quality, rules, tags, and the registered metadata and rule set unless the
request brings its own); a new subject starts as a schema-only contract owned by
`metadata.properties.owner` (else the caller's team, when its token acts for one team,
else ``unowned``). Compatibility is judged on the schema layer
only, by `contracts.compatibility.check_schemas` under the subject's mode and policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

import schemas
from contracts import CompatibilityMode, ContractError, load_contract
from contracts.compatibility import check_schemas
from contracts.documents import SourceDocument
from registry.auth.principal import default_team
from registry.cache import LruCache
from registry.confluent import config as configs
from registry.confluent.errors import (
    incompatible,
    invalid_schema,
    invalid_subject,
    invalid_version,
    not_permitted,
    schema_not_found,
    subject_not_found,
    subject_not_soft_deleted,
    subject_soft_deleted,
    version_not_found,
    version_not_soft_deleted,
    version_soft_deleted,
)
from registry.confluent.payloads import SchemaRequest, clean
from registry.confluent.rules import accord_rules, mapped_names
from registry.intake import Candidate
from registry.store import ContractStore
from registry.tables import ContractRow, VersionRow

__all__ = [
    "DEFAULT_OWNER",
    "SubjectVersion",
    "by_id",
    "check",
    "delete_subject",
    "delete_version",
    "id_usages",
    "judge",
    "latest_with_metadata",
    "lookup",
    "parse_version",
    "register",
    "schema_text",
    "subject_versions",
    "subjects",
    "valid_subject",
    "version",
]

DEFAULT_OWNER = "unowned"
EXTENSION = "confluent"
READ_ONLY = ("READONLY", "READONLY_OVERRIDE")
MAX_VERSION = 2**31 - 1

_NAME = re.compile(schemas.load("contract")["properties"]["name"]["pattern"])
_TEAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_documents: LruCache[str, dict[str, Any]] = LruCache(2048)


def valid_subject(subject: str) -> bool:
    """Whether `subject` can be a contract name (what registering needs)."""
    return len(subject) <= 200 and _NAME.match(subject) is not None


def schema_text(schema: Any) -> str:
    """A schema as Schema Registry serves it: compact JSON text."""
    return orjson.dumps(schema).decode()


def parse_version(text: str) -> int | None:
    """A version path segment: a number, or ``latest`` / ``-1`` as None; else 42202."""
    if text in ("latest", "-1"):
        return None
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_VERSION:
        return int(text)
    raise invalid_version(text)


@dataclass(frozen=True, slots=True)
class SubjectVersion:
    """One version of a subject, as the API serves it."""

    subject: str
    version: int
    id: int
    document: Mapping[str, Any]  # the stored contract document (shared: never modify)
    deleted: bool

    @property
    def schema(self) -> Mapping[str, Any] | bool:
        schema: Mapping[str, Any] | bool = self.document["schema"]
        return schema

    @property
    def confluent(self) -> Mapping[str, Any]:
        found = (self.document.get("extensions") or {}).get(EXTENSION)
        return found if isinstance(found, Mapping) else {}

    def schema_json(self) -> dict[str, Any]:
        """``GET /schemas/ids/{id}``: the schema, its type, metadata and rule set."""
        out: dict[str, Any] = {"schemaType": "JSON", "schema": schema_text(self.schema)}
        for key in ("metadata", "ruleSet"):
            if self.confluent.get(key):
                out[key] = self.confluent[key]
        return out

    def to_json(self) -> dict[str, Any]:
        """``GET /subjects/{subject}/versions/{version}``."""
        return {
            "subject": self.subject,
            "version": self.version,
            "id": self.id,
            **self.schema_json(),
        }

    def matches(self, request: SchemaRequest) -> bool:
        """Whether registering `request` would give this version back."""
        return (
            self.schema == request.schema
            and _same(self.confluent.get("metadata"), request.metadata)
            and _same(self.confluent.get("ruleSet"), request.rule_set)
        )


def _same(stored: Any, requested: Mapping[str, Any] | None) -> bool:
    """Whether a request's metadata or rule set (None: not given) fits the stored one."""
    return requested is None or (stored or {}) == requested


def _document(fingerprint: str, text: str) -> dict[str, Any]:
    found = _documents.get(fingerprint)
    if found is None:
        found = orjson.loads(text)
        _documents.put(fingerprint, found)
    return found


def _view(row: ContractRow, version: VersionRow) -> SubjectVersion:
    return SubjectVersion(
        subject=row.name,
        version=version.version,
        id=version.id,
        document=_document(version.fingerprint, version.document),
        deleted=version.deleted_at is not None or row.deleted_at is not None,
    )


def _contract(session: Session, subject: str, *, lock: bool = False) -> ContractRow | None:
    row = ContractStore(session).find(subject, lock=lock)
    return row if row is not None and row.purged_at is None else None


def _views(session: Session, row: ContractRow | None) -> list[SubjectVersion]:
    """Every version of the contract, soft-deleted ones too, oldest first."""
    if row is None:
        return []
    return [_view(row, v) for v in ContractStore(session).versions(row, deleted=True)]


def _existing(session: Session, subject: str, *, deleted: bool) -> list[SubjectVersion]:
    """The versions a read of `subject` sees (soft-deleted ones when `deleted`); 40401 when
    there are none."""
    views = [v for v in _views(session, _contract(session, subject)) if deleted or not v.deleted]
    if not views:
        raise subject_not_found(subject)
    return views


# -- reads ------------------------------------------------------------------------------------


def subjects(
    session: Session, prefix: str | None, *, deleted: bool, deleted_only: bool
) -> list[str]:
    has_version = sa.exists().where(VersionRow.contract_id == ContractRow.id)
    has_live = sa.exists().where(
        VersionRow.contract_id == ContractRow.id, VersionRow.deleted_at.is_(None)
    )
    live = sa.and_(ContractRow.deleted_at.is_(None), has_live)
    query = sa.select(ContractRow.name).where(ContractRow.purged_at.is_(None), has_version)
    if deleted_only:
        query = query.where(sa.not_(live))
    elif not deleted:
        query = query.where(live)
    if prefix:
        query = query.where(ContractRow.name.startswith(prefix, autoescape=True))
    return list(session.scalars(query.order_by(ContractRow.name)))


def subject_versions(
    session: Session, subject: str, *, deleted: bool, deleted_only: bool
) -> list[int]:
    views = _existing(session, subject, deleted=deleted or deleted_only)
    return [v.version for v in views if v.deleted or not deleted_only]


def version(session: Session, subject: str, number: int | None, *, deleted: bool) -> SubjectVersion:
    views = _existing(session, subject, deleted=deleted)
    if number is None:
        live = [v for v in views if not v.deleted]
        return (live or views)[-1]
    for view in views:
        if view.version == number:
            return view
    raise version_not_found(number)


def latest_with_metadata(
    session: Session, subject: str, properties: Sequence[tuple[str, str]], *, deleted: bool
) -> SubjectVersion:
    """The latest version whose ``metadata.properties`` has every key=value given."""
    for view in reversed(_existing(session, subject, deleted=deleted)):
        found = (view.confluent.get("metadata") or {}).get("properties") or {}
        if all(found.get(key) == value for key, value in properties):
            return view
    raise schema_not_found()


def lookup(
    session: Session, subject: str, request: SchemaRequest, *, deleted: bool
) -> SubjectVersion:
    for view in reversed(_existing(session, subject, deleted=deleted)):
        if view.matches(request):
            return view
    raise schema_not_found()


def _by_id_rows(session: Session, schema_id: int) -> tuple[ContractRow, VersionRow]:
    found = session.execute(
        sa.select(ContractRow, VersionRow)
        .join(VersionRow, VersionRow.contract_id == ContractRow.id)
        .where(VersionRow.id == schema_id, ContractRow.purged_at.is_(None))
    ).first()
    if found is None:
        raise schema_not_found(schema_id)
    return found[0], found[1]


def by_id(session: Session, schema_id: int) -> SubjectVersion:
    """The version with this id, soft-deleted or not: framed data keeps its schema."""
    return _view(*_by_id_rows(session, schema_id))


def id_usages(session: Session, schema_id: int, *, deleted: bool) -> list[SubjectVersion]:
    view = by_id(session, schema_id)
    return [view] if deleted or not view.deleted else []


# -- compatibility ----------------------------------------------------------------------------


def judge(
    schema: Mapping[str, Any] | bool,
    history: Sequence[SubjectVersion],
    config: configs.Compatibility,
) -> list[str]:
    """Why `schema` is incompatible with `history` (latest, or every version when the mode
    is transitive) under `config`, in Confluent's words; empty when compatible."""
    if config.mode is CompatibilityMode.NONE or not history:
        return []
    compared = history if config.mode.transitive else history[-1:]
    messages: list[str] = []
    for old in reversed(compared):
        report = check_schemas(old.schema, schema, mode=config.mode, policy=config.policy)
        if report.compatible:
            continue
        for change in report.breaking:
            messages.append(
                f"Found incompatible change: Difference{{jsonPath='#{change.path}', "
                f"type={change.type}}}: {change.message} (breaks {change.breaks.value})"
            )
        messages.append(f"{{oldSchemaVersion: {old.version}}}")
        messages.append(f"{{oldSchema: '{schema_text(old.schema)}'}}")
    if messages:
        mode, policy = config.mode.value, config.policy.value
        messages.append(f"{{compatibility: '{mode}', compatibilityPolicy: '{policy}'}}")
    return messages


def check(
    session: Session, subject: str, request: SchemaRequest, version_text: str | None
) -> list[str]:
    """``POST /compatibility/subjects/{subject}/versions[/{version}]``: the messages."""
    config = configs.effective(session, subject)
    if version_text is None:
        live = [v for v in _views(session, _contract(session, subject)) if not v.deleted]
        return judge(request.schema, live, config)
    number = parse_version(version_text)
    if number is None:
        live = [v for v in _views(session, _contract(session, subject)) if not v.deleted]
        return judge(request.schema, live[-1:], config)
    against = version(session, subject, number, deleted=False)
    return judge(request.schema, [against], config)


# -- registering ------------------------------------------------------------------------------


def _owner(metadata: Mapping[str, Any] | None) -> str | None:
    owner = ((metadata or {}).get("properties") or {}).get("owner")
    if not isinstance(owner, str) or not owner.strip():
        return None
    team = re.sub(r"[^A-Za-z0-9_.-]", "_", owner.strip())[:200]
    return team if _TEAM.match(team) else f"_{team}"[:200]


def _document_for(
    subject: str,
    request: SchemaRequest,
    previous: Mapping[str, Any] | None,
    config: configs.Compatibility,
) -> dict[str, Any]:
    """The contract document a registration becomes (see the module docstring)."""
    if previous is None:
        doc: dict[str, Any] = {
            "name": subject,
            "owner": {"team": default_team() or DEFAULT_OWNER},  # the caller's team
            "status": "active",
            "compatibility": {"mode": config.mode.value, "policy": config.policy.value},
        }
    else:
        doc = {k: v for k, v in previous.items() if k not in ("schema", "extensions")}
        doc["compatibility"] = {"mode": config.mode.value, "policy": config.policy.value}
    extensions = dict((previous or {}).get("extensions") or {})
    before: Mapping[str, Any] = extensions.pop(EXTENSION, None) or {}
    metadata = request.metadata if request.metadata is not None else before.get("metadata")
    rule_set = request.rule_set if request.rule_set is not None else before.get("ruleSet")
    owner = _owner(request.metadata)
    if owner is not None:
        doc["owner"] = {**doc.get("owner", {}), "team": owner}
    if request.rule_set is not None:
        replaced = mapped_names(before.get("ruleSet"))
        new = accord_rules(rule_set, request.schema)
        names = replaced | {r["name"] for r in new}
        kept = [r for r in doc.get("rules", []) if r.get("name") not in names]
        doc["rules"] = kept + new
    if not doc.get("rules"):
        doc.pop("rules", None)
    confluent = clean({"metadata": metadata, "ruleSet": rule_set})
    if confluent:
        extensions[EXTENSION] = confluent
    if extensions:
        doc["extensions"] = extensions
    doc["schema"] = request.schema
    return doc


def _candidate(doc: dict[str, Any]) -> Candidate:
    try:
        return Candidate.of(load_contract(SourceDocument(doc, "request")))
    except ContractError as exc:
        first = exc.problems[0]
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise invalid_schema(
            f"Invalid schema: as a version of contract '{doc['name']}': "
            f"{first.path or '/'}: {first.message}{more}"
        ) from None


def _explicit(request: SchemaRequest, view: SubjectVersion) -> SubjectVersion:
    """Registering with an explicit id or version works only where it is what Accord gives."""
    if request.id is not None and request.id != view.id:
        raise not_permitted(
            f"Accord assigns schema ids (the contract version's global id): this schema is "
            f"id {view.id}, not {request.id}"
        )
    if request.version is not None and request.version != view.version:
        raise not_permitted(
            f"Accord assigns versions: this schema is version {view.version} of "
            f"'{view.subject}', not {request.version}"
        )
    return view


def register(session: Session, subject: str, request: SchemaRequest) -> SubjectVersion:
    """``POST /subjects/{subject}/versions`` in one write transaction (the caller's)."""
    if not valid_subject(subject):
        raise invalid_subject(subject)
    mode = configs.effective_mode(session, subject)
    if mode in READ_ONLY:
        raise not_permitted(f"Subject {subject} is in read-only mode")
    store = ContractStore(session)
    row = store.find(subject, lock=True)
    present = row is not None and row.purged_at is None
    views = _views(session, row if present else None)
    live = [v for v in views if not v.deleted]
    for view in reversed(live):
        if view.matches(request):
            return _explicit(request, view)
    config = (
        configs.effective(session, subject) if present else configs.follow_global(session, subject)
    )
    doc = _document_for(subject, request, live[-1].document if live else None, config)
    candidate = _candidate(doc)
    if mode != "IMPORT":
        messages = judge(request.schema, live, config)
        if messages:
            raise incompatible(
                "Schema being registered is incompatible with an earlier schema for subject "
                f'"{subject}", details: [{", ".join(messages)}]'
            )
    existing = (
        store.by_fingerprint(row, candidate.fingerprint) if row is not None and present else None
    )
    if row is not None and existing is not None:
        store.restore_version(row, existing)  # identical content was soft-deleted: it is back
        return _explicit(request, _view(row, existing))
    if row is None:
        row = store.create(subject, config.mode, config.policy)
    elif row.purged_at is not None or row.deleted_at is not None:
        store.revive(row, config.mode, config.policy)
    added = store.add_version(
        row, candidate.fingerprint, candidate.document, candidate.contract.status.value
    )
    return _explicit(request, _view(row, added))


# -- deleting ---------------------------------------------------------------------------------


def _writable(session: Session, subject: str) -> None:
    if configs.effective_mode(session, subject) in READ_ONLY:
        raise not_permitted(f"Subject {subject} is in read-only mode")


def delete_subject(session: Session, subject: str, *, permanent: bool) -> list[int]:
    """Soft-delete every version (and the contract), or purge a soft-deleted subject."""
    _writable(session, subject)
    row = _contract(session, subject, lock=True)
    views = _views(session, row)
    if row is None or not views:
        raise subject_not_found(subject)
    soft_deleted = all(v.deleted for v in views)
    store = ContractStore(session)
    if not permanent:
        if soft_deleted:
            raise subject_soft_deleted(subject)
        return store.delete_contract(subject, permanent=False)
    if not soft_deleted:
        raise subject_not_soft_deleted(subject)
    if row.deleted_at is None:
        store.delete_contract(subject, permanent=False)
    numbers = store.delete_contract(subject, permanent=True)
    configs.clear_subject(session, subject)
    return numbers


def delete_version(session: Session, subject: str, version_text: str, *, permanent: bool) -> int:
    """Soft-delete one version, or delete a soft-deleted one for good."""
    number = parse_version(version_text)
    _writable(session, subject)
    row = _contract(session, subject, lock=True)
    views = _views(session, row)
    if row is None or not views:
        raise subject_not_found(subject)
    if number is None:
        live = [v for v in views if not v.deleted]
        if not permanent and not live:
            raise subject_not_found(subject)
        number = (live or views)[-1].version
    found = next((v for v in views if v.version == number), None)
    if found is None:
        raise version_not_found(number)
    store = ContractStore(session)
    if not permanent:
        if found.deleted:
            raise version_soft_deleted(subject, number)
        store.delete_version(subject, number, permanent=False)
    else:
        if not found.deleted:
            raise version_not_soft_deleted(subject, number)
        store.delete_version(subject, number, permanent=True)
    return number
