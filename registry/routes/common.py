"""What every route module needs: the database, the raw body, shared parameters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request

from registry import limits
from registry.db import Database
from registry.errors import InvalidRequest, PayloadTooLarge

__all__ = [
    "DOCUMENT_BODY",
    "Db",
    "Deleted",
    "DocumentFormat",
    "RawBody",
    "etag_matches",
    "version_number",
]


# Async on purpose: FastAPI runs sync dependencies on a worker thread, a hop these skip.
async def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    limit = limits.current().max_body_bytes
    if declared and (declared.isascii() and declared.isdigit()) and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit}")
    return await request.body()


Db = Annotated[Database, Depends(_database)]
RawBody = Annotated[bytes, Depends(_raw_body)]
Deleted = Annotated[bool, Query(description="Include soft-deleted contracts and versions.")]
DocumentFormat = Annotated[
    Literal["accord", "odcs"],
    Query(
        alias="format",
        description="`odcs`: the body is (or the answer should be) an ODCS v3 document. "
        "An ODCS body is also recognised by its `apiVersion: v3.*`.",
    ),
]

# The OpenAPI description of a body that is a contract document, as JSON or YAML.
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A contract document (schemas/contract.schema.json), JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
            "application/x-yaml": {"schema": {"type": "string"}},
        },
    }
}


def version_number(text: str, *, latest: bool = False) -> int | None:
    """A version path segment: a number from 1, or (when allowed) ``latest`` as None."""
    if latest and text == "latest":
        return None
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    allowed = "a version number (1, 2, ...) or 'latest'" if latest else "a version number"
    raise InvalidRequest(
        f"version: {text!r} is not {allowed}", [{"field": "path.version", "value": text}]
    )


def etag_matches(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names `etag` (answer 304 Not Modified)."""
    if_none_match = request.headers.get("if-none-match")
    if not if_none_match:
        return False
    # If-None-Match compares weakly: a W/ prefix does not stop a match.
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
