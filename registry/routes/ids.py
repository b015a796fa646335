"""``/versions/{id}``: a version by its global id (what Confluent-framed messages carry)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from registry.api_models import VersionDocument
from registry.http_errors import error_responses
from registry.routes.common import Db
from registry.store import ContractReader

__all__ = ["router"]

router = APIRouter(tags=["versions"])


@router.get(
    "/versions/{id}",
    response_model=VersionDocument,
    summary="Read a version by global id",
    responses=error_responses(404),
)
async def by_id(id: int, db: Db) -> Response:
    """The version with this global id, soft-deleted or not: ids are stable and never reused,
    so data framed with an id stays readable."""
    found = await db.read(lambda c: ContractReader(c).by_id(id))
    return Response(
        found.to_json(),
        media_type="application/json",
        headers={"ETag": found.etag, "Cache-Control": "max-age=31536000, immutable"},
    )
