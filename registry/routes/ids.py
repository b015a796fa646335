"""``/versions/{id}``: a version by its global id (what Confluent-framed messages carry)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from registry.api_models import VersionDocument
from registry.http_errors import error_responses
from registry.routes.common import Db, etag_matches
from registry.store import ContractReader

__all__ = ["router"]

router = APIRouter(tags=["versions"])


@router.get(
    "/versions/{id}",
    response_model=VersionDocument,
    summary="Read a version by global id",
    responses=error_responses(404),
)
async def by_id(id: int, request: Request, db: Db) -> Response:
    """The version with this global id, soft-deleted or not: ids are stable and never reused,
    so data framed with an id stays readable. Its document never changes, but its status
    and deletion can: caches revalidate (ETag)."""
    found = await db.read(lambda c: ContractReader(c).by_id(id))
    headers = {"ETag": found.etag, "Cache-Control": "no-cache"}
    if etag_matches(request, found.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(found.to_json(), media_type="application/json", headers=headers)
