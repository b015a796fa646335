"""``/health`` and ``/version``: is the service usable, and what is it."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from fastapi import APIRouter, Response
from sqlalchemy.exc import SQLAlchemyError

from registry import migrate
from registry.api_models import Health, ServiceVersion
from registry.http_errors import ErrorResponse, error_response
from registry.routes.common import Db

__all__ = ["router", "service_version_string"]

router = APIRouter(tags=["service"])
log = logging.getLogger("registry")


def service_version_string() -> str:
    try:
        return package_version("accord")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@router.get(
    "/health",
    response_model=Health,
    summary="Health",
    responses={503: {"model": ErrorResponse, "description": "Error: database_unavailable"}},
)
async def health(db: Db) -> Health | Response:
    """200 when the database answers, else 503 `database_unavailable`."""
    try:
        await db.read(lambda connection: connection.exec_driver_sql("SELECT 1").scalar())
    except SQLAlchemyError as exc:
        log.warning("health: database unavailable: %s", exc)
        return error_response(503, "database_unavailable", "the database did not answer")
    return Health(status="ok", database="ok")


@router.get(
    "/version",
    response_model=ServiceVersion,
    summary="Version",
    responses={503: {"model": ErrorResponse, "description": "Error: database_unavailable"}},
)
def service_version(db: Db) -> ServiceVersion:
    return ServiceVersion(
        name="accord-registry",
        version=service_version_string(),
        database=db.dialect,
        schema_revision=migrate.current_revision(db.engine),
    )
