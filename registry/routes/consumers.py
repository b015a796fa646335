"""``/contracts/{name}/consumers``: who reads a contract, so breaking changes can name them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy.orm import Session

from registry.api_models import ConsumerIn, ConsumerList, ConsumerOut
from registry.http_errors import error_responses
from registry.routes.common import Db
from registry.store import ContractStore
from registry.tables import ConsumerRow

__all__ = ["router"]

router = APIRouter(prefix="/contracts/{name}/consumers", tags=["consumers"])


def _out(row: ConsumerRow) -> ConsumerOut:
    return ConsumerOut(
        name=row.name,
        team=row.team,
        contact=row.contact,
        min_version=row.min_version,
        max_version=row.max_version,
        fields=list(row.fields),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsumerOut,
    summary="Register a consumer",
    responses={
        200: {"model": ConsumerOut, "description": "The consumer existed; now replaced."},
        **error_responses(404, 422),
    },
)
def register(name: str, consumer: ConsumerIn, response: Response, db: Db) -> ConsumerOut:
    """Register (201) or replace (200) the consumer of this name: idempotent."""

    def upsert(session: Session) -> tuple[ConsumerOut, bool]:
        row, created = ContractStore(session).upsert_consumer(name, consumer.model_dump())
        return _out(row), created

    out, created = db.write(upsert)
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get(
    "", response_model=ConsumerList, summary="List consumers", responses=error_responses(404)
)
def list_consumers(name: str, db: Db) -> ConsumerList:
    with db.reads() as session:
        store = ContractStore(session)
        rows = store.consumers(store.contract(name))
        return ConsumerList(name=name, items=[_out(r) for r in rows])


@router.delete(
    # `path`: a consumer's name may hold a slash ("billing/etl"), sent as %2F or as is.
    "/{consumer:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unregister a consumer",
    responses=error_responses(404),
)
def unregister(name: str, consumer: str, db: Db) -> Response:
    db.write(lambda s: ContractStore(s).delete_consumer(name, consumer))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
