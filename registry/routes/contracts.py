"""``/contracts``: search, read, delete, config, and the dry-run compatibility check."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Query, Request, Response

from contracts import CompatibilityMode, Policy
from registry import publishing
from registry.api_models import (
    CompatibilityReport,
    CompatibilitySettings,
    ConfigUpdate,
    ContractPage,
    ContractSummary,
    DeletedContract,
    LifecycleStatus,
)
from registry.http_errors import error_responses
from registry.intake import candidate_from_body
from registry.routes.common import DOCUMENT_BODY, Db, Deleted, DocumentFormat, RawBody
from registry.store import ContractFilters, ContractStore
from registry.tables import ContractRow

__all__ = ["router"]

router = APIRouter(prefix="/contracts", tags=["contracts"])


def _summary(row: ContractRow, tags: list[str]) -> ContractSummary:
    return ContractSummary(
        name=row.name,
        description=row.description,
        owner_team=row.owner_team,
        tags=tags,
        status=row.status,  # type: ignore[arg-type]  # stored values are lifecycle ones
        latest_version=row.latest_version,
        compatibility=_settings(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


def _settings(row: ContractRow) -> CompatibilitySettings:
    assert row.mode is not None and row.policy is not None  # set on every live contract
    return CompatibilitySettings(mode=CompatibilityMode(row.mode), policy=Policy(row.policy))


@router.get(
    "", response_model=ContractPage, summary="List contracts", responses=error_responses(422)
)
def list_contracts(
    db: Db,
    owner: str | None = Query(None, description="Owner team, exactly."),
    tag: str | None = Query(None, description="A tag of the latest version."),
    status: LifecycleStatus | None = Query(None, description="Status of the latest version."),
    q: str | None = Query(None, description="Text in the name or description (any case)."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    deleted: Deleted = False,
) -> ContractPage:
    """Contracts sorted by name, a page at a time; `total` counts every match."""
    filters = ContractFilters(owner_team=owner, tag=tag, status=status, text=q)
    with db.reads() as session:
        store = ContractStore(session)
        rows, total = store.page(filters, limit, offset, deleted=deleted)
        tags = store.tags([r.id for r in rows])
    items = [_summary(r, tags[r.id]) for r in rows]
    return ContractPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{name}",
    response_model=ContractSummary,
    summary="Read a contract",
    responses=error_responses(404, 422),
)
def get_contract(name: str, db: Db, deleted: Deleted = False) -> ContractSummary:
    with db.reads() as session:
        store = ContractStore(session)
        row = store.contract(name, deleted=deleted)
        return _summary(row, store.tags([row.id])[row.id])


@router.delete(
    "/{name}",
    response_model=DeletedContract,
    summary="Delete a contract (soft, then permanent)",
    responses=error_responses(404, 409, 422),
)
def delete_contract(
    name: str,
    db: Db,
    permanent: bool = Query(
        False, description="Remove a soft-deleted contract for good (409 if not soft-deleted)."
    ),
) -> DeletedContract:
    """Soft-delete the contract and its versions (hidden; readable with `?deleted=true`),
    or with `?permanent=true` remove a soft-deleted one with its versions and consumers.
    Version numbers and ids are never reused: a later publish continues the numbering."""
    versions = db.write(lambda s: ContractStore(s).delete_contract(name, permanent=permanent))
    return DeletedContract(name=name, versions=versions, permanent=permanent)


@router.get(
    "/{name}/config",
    response_model=CompatibilitySettings,
    summary="Read the compatibility config",
    responses=error_responses(404),
)
def get_config(name: str, db: Db) -> CompatibilitySettings:
    """The mode and policy publishes are judged by (from the first version's document,
    until changed here)."""
    with db.reads() as session:
        return _settings(ContractStore(session).contract(name))


@router.put(
    "/{name}/config",
    response_model=CompatibilitySettings,
    summary="Set the compatibility config",
    responses=error_responses(404, 422),
)
def put_config(name: str, update: ConfigUpdate, db: Db) -> CompatibilitySettings:
    return db.write(
        lambda s: _settings(ContractStore(s).set_config(name, update.mode, update.policy))
    )


@router.post(
    "/{name}/compatibility",
    response_model=CompatibilityReport,
    summary="Dry-run a compatibility check",
    openapi_extra=DOCUMENT_BODY,
    responses=error_responses(413, 415, 422),
)
async def check_compatibility(
    name: str,
    body: RawBody,
    request: Request,
    db: Db,
    mode: CompatibilityMode | None = Query(None, description="Override the configured mode."),
    policy: Policy | None = Query(None, description="Override the configured policy."),
    fmt: DocumentFormat = "accord",
) -> Response:
    """Judge a candidate document as a publish would, without publishing it: against the
    live versions, under the registry's config (or `mode`/`policy`), naming the registered
    consumers a breaking change reaches. An unknown contract has no history: compatible."""
    content_type = request.headers.get("content-type")
    candidate = candidate_from_body(body, content_type, name, odcs=fmt == "odcs")
    report = await publishing.dry_run(db, candidate, mode, policy)
    return Response(orjson.dumps(report), media_type="application/json")
