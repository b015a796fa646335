"""``/contracts/{name}/versions``: publish, list, read, lifecycle, delete."""

from __future__ import annotations

import orjson
import yaml
from fastapi import APIRouter, Query, Request, Response, status

from contracts import Contract
from contracts.odcs import export_odcs
from registry import publishing
from registry.api_models import (
    DeletedVersion,
    PublishedVersion,
    StatusUpdate,
    VersionDocument,
    VersionInfo,
    VersionList,
)
from registry.http_errors import error_responses
from registry.intake import candidate_from_body
from registry.routes.common import (
    DOCUMENT_BODY,
    Db,
    Deleted,
    DocumentFormat,
    RawBody,
    etag_matches,
    version_number,
)
from registry.store import ContractReader, ContractStore, StoredVersion
from registry.tables import VersionRow

__all__ = ["router"]

router = APIRouter(prefix="/contracts/{name}/versions", tags=["versions"])


def _info(row: VersionRow) -> VersionInfo:
    return VersionInfo(
        version=row.version,
        id=row.id,
        fingerprint=row.fingerprint,
        status=row.status,  # type: ignore[arg-type]  # stored values are lifecycle ones
        created_at=row.created_at,
        deleted_at=row.deleted_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PublishedVersion,
    summary="Publish a version",
    openapi_extra=DOCUMENT_BODY,
    responses={
        200: {"model": PublishedVersion, "description": "Identical content: that version."},
        **error_responses(404, 409, 413, 415, 422),
    },
)
def publish(
    name: str,
    body: RawBody,
    request: Request,
    response: Response,
    db: Db,
    fmt: DocumentFormat = "accord",
) -> PublishedVersion:
    """Publish a contract document as the next version of `name`.

    201 with the new version; 200 with the existing one when identical (canonical) content
    was published before; 409 `incompatible` with the report when it breaks the contract's
    configured mode.
    """
    content_type = request.headers.get("content-type")
    candidate = candidate_from_body(body, content_type, name, odcs=fmt == "odcs")
    published = publishing.publish(db, candidate)
    if not published.created:
        response.status_code = status.HTTP_200_OK
    v = published.version
    return PublishedVersion(
        name=published.name,
        version=v.version,
        id=v.id,
        fingerprint=v.fingerprint,
        created_at=v.created_at,
    )


@router.get(
    "",
    response_model=VersionList,
    summary="List versions",
    responses=error_responses(404, 422),
)
def list_versions(name: str, db: Db, deleted: Deleted = False) -> VersionList:
    with db.reads() as session:
        store = ContractStore(session)
        row = store.contract(name, deleted=deleted)
        items = [_info(v) for v in store.versions(row, deleted=deleted)]
    return VersionList(name=name, items=items)


@router.get(
    "/{version}",
    response_model=VersionDocument,
    summary="Read a version (or 'latest')",
    responses={
        200: {"headers": {"ETag": {"description": "Strong: version, content and status."}}},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        **error_responses(404, 422),
    },
)
async def get_version(
    name: str,
    version: str,
    request: Request,
    db: Db,
    deleted: Deleted = False,
    fmt: DocumentFormat = "accord",
) -> Response:
    """One version with its canonical document; `latest` is the highest live version.

    Served from the stored canonical JSON, unparsed; conditional with `If-None-Match`.
    `format=odcs` answers with the version as an ODCS v3 document instead (YAML when the
    request accepts `application/yaml`).
    """
    number = version_number(version, latest=True)
    found = await db.read(lambda c: ContractReader(c).version(name, number, deleted=deleted))
    etag = found.etag if fmt == "accord" else found.etag[:-1] + '-odcs"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(request, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if fmt == "odcs":
        return _odcs_response(found, request.headers.get("accept", ""), headers)
    return Response(found.to_json(), media_type="application/json", headers=headers)


def _odcs_response(found: StoredVersion, accept: str, headers: dict[str, str]) -> Response:
    contract = Contract.from_document(orjson.loads(found.document))
    exported = export_odcs(contract, version=str(found.version))
    if "yaml" in accept:
        text = yaml.safe_dump(exported.document, sort_keys=False, allow_unicode=True)
        return Response(text, media_type="application/yaml", headers=headers)
    return Response(orjson.dumps(exported.document), media_type="application/json", headers=headers)


@router.patch(
    "/{version}",
    response_model=VersionInfo,
    summary="Change a version's lifecycle status",
    responses=error_responses(404, 422),
)
def set_status(name: str, version: str, update: StatusUpdate, db: Db) -> VersionInfo:
    """Set the lifecycle status: active, deprecated or retired (a retired version stays
    readable; only DELETE hides it)."""
    number = version_number(version)
    assert number is not None
    return db.write(lambda s: _info(ContractStore(s).set_status(name, number, update.status)))


@router.delete(
    "/{version}",
    response_model=DeletedVersion,
    summary="Delete a version (soft, then permanent)",
    responses=error_responses(404, 409, 422),
)
def delete_version(
    name: str,
    version: str,
    db: Db,
    permanent: bool = Query(
        False, description="Remove a soft-deleted version for good (409 if not soft-deleted)."
    ),
) -> DeletedVersion:
    """Soft-delete a version (hidden, 404 unless `?deleted=true`; its number is never
    reused), or with `?permanent=true` remove an already soft-deleted one."""
    number = version_number(version)
    assert number is not None
    db.write(lambda s: ContractStore(s).delete_version(name, number, permanent=permanent))
    return DeletedVersion(name=name, version=number, permanent=permanent)
