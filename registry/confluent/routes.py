"""The Schema Registry REST API (JSON Schema), as confluent-kafka's clients use it.

Mounted at the root (``SchemaRegistryClient({"url": "http://host:8000"})``) and under
``/confluent``. Every failure on these routes is Confluent's ``{"error_code", "message"}``
body, whatever raised it: a `SchemaRegistryError`, a registry error, a bad parameter, the
database, or a bug. These routes are not in Accord's OpenAPI document: Confluent's API
reference documents them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from registry import errors as api_errors
from registry.confluent import config as configs
from registry.confluent import subjects as subject_store
from registry.confluent.errors import SchemaRegistryError, invalid_subject, schema_not_found
from registry.confluent.payloads import SCHEMA_TYPES, json_body, schema_request
from registry.http_errors import out_of_range_message
from registry.routes.common import Db, RawBody

__all__ = ["MEDIA_TYPES", "PREFIX", "install", "router"]

log = logging.getLogger("registry")

PREFIX = "/confluent"
MEDIA_TYPES = (
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
)
_BODY_TYPES = (*MEDIA_TYPES, "application/octet-stream")

# Registry errors raised below the routes, in Schema Registry terms.
_API_ERRORS: dict[type[api_errors.ApiError], tuple[int, int]] = {
    api_errors.ContractNotFound: (404, 40401),
    api_errors.VersionNotFound: (404, 40402),
    api_errors.NotSoftDeleted: (404, 40405),
    api_errors.PayloadTooLarge: (422, 42209),
    api_errors.UnsupportedMediaType: (415, 415),
    api_errors.InvalidRequest: (422, 422),
    api_errors.Conflict: (500, 50001),  # the client retries a 500
}


def _media_type(accept: str | None) -> str:
    """The response type for an Accept header: Schema Registry's own unless asked else."""
    best, best_q = MEDIA_TYPES[0], -1.0
    for part in (accept or "").split(","):
        fields = part.strip().split(";")
        media = fields[0].strip().lower()
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        chosen = media if media in MEDIA_TYPES else None
        if media in ("*/*", "application/*"):
            chosen = MEDIA_TYPES[0]
        if chosen is not None and quality > best_q:
            best, best_q = chosen, quality
    return best


def _reply(request: Request, body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=_media_type(request.headers.get("accept")),
    )


def _error(request: Request, status: int, code: int, message: str) -> Response:
    return _reply(request, {"error_code": code, "message": message}, status)


def _as_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SchemaRegistryError):
        return _error(request, exc.status, exc.error_code, exc.message)
    if isinstance(exc, api_errors.ApiError):
        status, code = _API_ERRORS.get(type(exc), (exc.status, exc.status * 100 + 1))
        return _error(request, status, code, exc.message)
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return _error(request, 422, 422, f"Invalid request: {fields or 'parameters'}")
    if isinstance(exc, HTTPException):
        return _error(request, exc.status_code, exc.status_code, str(exc.detail))
    if isinstance(exc, DataError | OverflowError):
        log.info("value out of range for the database: %s", exc)
        return _error(request, 422, 422, f"Invalid request: {out_of_range_message(request)}")
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning("database unavailable: %s", exc)
        return _error(request, 500, 50001, "Error in the backend data store")
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(request, 500, 50001, "Internal server error")


class ConfluentRoute(APIRoute):
    """A route whose every failure is answered in Schema Registry's error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return _as_error(request, exc)

        return handle


router = APIRouter(route_class=ConfluentRoute, include_in_schema=False, tags=["confluent"])


def _flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _page(items: list[Any], request: Request) -> list[Any]:
    """Confluent's `offset` and `limit` (a negative limit: everything)."""
    offset = max(0, _int(request.query_params.get("offset"), 0))
    limit = _int(request.query_params.get("limit"), -1)
    return items[offset:] if limit < 0 else items[offset : offset + limit]


def _body(request: Request, body: bytes) -> bytes:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media and media not in _BODY_TYPES and not media.endswith("+json"):
        raise SchemaRegistryError(415, 415, f"HTTP 415 Unsupported Media Type: {media}")
    return body


def _schema_id(text: str) -> int:
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(text) > 19 or abs(int(text)) >= 2**63:
        raise schema_not_found(text)  # (no id is beyond 64 bits: the database holds none)
    return int(text)


# -- subjects -------------------------------------------------------------------------------


@router.get("/subjects")
def list_subjects(request: Request, db: Db) -> Response:
    params = request.query_params
    with db.reads() as session:
        names = subject_store.subjects(
            session,
            params.get("subjectPrefix"),
            deleted=_flag(params.get("deleted")),
            deleted_only=_flag(params.get("deleted_only")),
        )
    return _reply(request, _page(names, request))


@router.get("/subjects/{subject}/versions")
def list_versions(subject: str, request: Request, db: Db) -> Response:
    params = request.query_params
    with db.reads() as session:
        numbers = subject_store.subject_versions(
            session,
            subject,
            deleted=_flag(params.get("deleted")),
            deleted_only=_flag(params.get("deleted_only")),
        )
    return _reply(request, _page(numbers, request))


@router.post("/subjects/{subject}/versions")
def register(subject: str, request: Request, body: RawBody, db: Db) -> Response:
    schema = schema_request(_body(request, body))
    view = db.write(lambda session: subject_store.register(session, subject, schema))
    return _reply(request, {"id": view.id, "version": view.version})


@router.post("/subjects/{subject}")
def lookup(subject: str, request: Request, body: RawBody, db: Db) -> Response:
    schema = schema_request(_body(request, body))
    with db.reads() as session:
        view = subject_store.lookup(
            session, subject, schema, deleted=_flag(request.query_params.get("deleted"))
        )
    return _reply(request, view.to_json())


@router.delete("/subjects/{subject}")
def delete_subject(subject: str, request: Request, db: Db) -> Response:
    permanent = _flag(request.query_params.get("permanent"))
    numbers = db.write(
        lambda session: subject_store.delete_subject(session, subject, permanent=permanent)
    )
    return _reply(request, numbers)


@router.get("/subjects/{subject}/versions/{version}")
def get_version(subject: str, version: str, request: Request, db: Db) -> Response:
    number = subject_store.parse_version(version)
    with db.reads() as session:
        view = subject_store.version(
            session, subject, number, deleted=_flag(request.query_params.get("deleted"))
        )
    return _reply(request, view.to_json())


@router.get("/subjects/{subject}/versions/{version}/schema")
def get_version_schema(subject: str, version: str, request: Request, db: Db) -> Response:
    number = subject_store.parse_version(version)
    with db.reads() as session:
        view = subject_store.version(
            session, subject, number, deleted=_flag(request.query_params.get("deleted"))
        )
    return _reply(request, view.schema)


@router.get("/subjects/{subject}/versions/{version}/referencedby")
def referenced_by(subject: str, version: str, request: Request, db: Db) -> Response:
    """Schema references are not supported, so no schema refers to another."""
    number = subject_store.parse_version(version)
    with db.reads() as session:
        subject_store.version(session, subject, number, deleted=True)
    return _reply(request, [])


@router.delete("/subjects/{subject}/versions/{version}")
def delete_version(subject: str, version: str, request: Request, db: Db) -> Response:
    permanent = _flag(request.query_params.get("permanent"))
    number = db.write(
        lambda session: subject_store.delete_version(session, subject, version, permanent=permanent)
    )
    return _reply(request, number)


@router.get("/subjects/{subject}/metadata")
def latest_with_metadata(subject: str, request: Request, db: Db) -> Response:
    params = request.query_params
    pairs = list(zip(params.getlist("key"), params.getlist("value"), strict=False))
    with db.reads() as session:
        view = subject_store.latest_with_metadata(
            session, subject, pairs, deleted=_flag(params.get("deleted"))
        )
    return _reply(request, view.to_json())


# -- schemas by id ----------------------------------------------------------------------------


@router.get("/schemas/types")
def schema_types(request: Request) -> Response:
    return _reply(request, list(SCHEMA_TYPES))


@router.get("/schemas/ids/{schema_id}")
def schema_by_id(schema_id: str, request: Request, db: Db) -> Response:
    with db.reads() as session:
        view = subject_store.by_id(session, _schema_id(schema_id))
    return _reply(request, view.schema_json())


@router.get("/schemas/ids/{schema_id}/schema")
def raw_schema_by_id(schema_id: str, request: Request, db: Db) -> Response:
    with db.reads() as session:
        view = subject_store.by_id(session, _schema_id(schema_id))
    return _reply(request, view.schema)


@router.get("/schemas/ids/{schema_id}/versions")
def versions_by_id(schema_id: str, request: Request, db: Db) -> Response:
    deleted = _flag(request.query_params.get("deleted"))
    with db.reads() as session:
        views = subject_store.id_usages(session, _schema_id(schema_id), deleted=deleted)
    return _reply(
        request, _page([{"subject": v.subject, "version": v.version} for v in views], request)
    )


@router.get("/schemas/ids/{schema_id}/subjects")
def subjects_by_id(schema_id: str, request: Request, db: Db) -> Response:
    deleted = _flag(request.query_params.get("deleted"))
    with db.reads() as session:
        views = subject_store.id_usages(session, _schema_id(schema_id), deleted=deleted)
    return _reply(request, _page([v.subject for v in views], request))


# -- compatibility ----------------------------------------------------------------------------


def _check(subject: str, version: str | None, request: Request, body: bytes, db: Db) -> Response:
    schema = schema_request(_body(request, body))
    with db.reads() as session:
        messages = subject_store.check(session, subject, schema, version)
    out: dict[str, Any] = {"is_compatible": not messages}
    if _flag(request.query_params.get("verbose")):
        out["messages"] = messages
    return _reply(request, out)


@router.post("/compatibility/subjects/{subject}/versions/{version}")
def check_version(subject: str, version: str, request: Request, body: RawBody, db: Db) -> Response:
    return _check(subject, version, request, body, db)


@router.post("/compatibility/subjects/{subject}/versions")
def check_all(subject: str, request: Request, body: RawBody, db: Db) -> Response:
    return _check(subject, None, request, body, db)


# -- config and mode --------------------------------------------------------------------------


def _config_update(request: Request, body: bytes) -> tuple[Any, Any]:
    data = json_body(_body(request, body))
    level = data.get("compatibility", data.get("compatibilityLevel"))
    return configs.parse_compatibility(level, data.get("compatibilityPolicy"))


@router.get("/config")
def get_global_config(request: Request, db: Db) -> Response:
    with db.reads() as session:
        return _reply(request, configs.global_compatibility(session).to_json())


@router.put("/config")
def put_global_config(request: Request, body: RawBody, db: Db) -> Response:
    mode, policy = _config_update(request, body)
    config = db.write(lambda session: configs.set_global(session, mode, policy))
    return _reply(request, config.to_json("compatibility"))


@router.delete("/config")
def delete_global_config(request: Request, db: Db) -> Response:
    return _reply(request, db.write(configs.delete_global).to_json())


@router.get("/config/{subject}")
def get_subject_config(subject: str, request: Request, db: Db) -> Response:
    default = _flag(request.query_params.get("defaultToGlobal"))
    with db.reads() as session:
        config = configs.subject_compatibility(session, subject, default_to_global=default)
    return _reply(request, config.to_json())


@router.put("/config/{subject}")
def put_subject_config(subject: str, request: Request, body: RawBody, db: Db) -> Response:
    mode, policy = _config_update(request, body)
    if not subject_store.valid_subject(subject):
        raise invalid_subject(subject)
    config = db.write(lambda session: configs.set_subject(session, subject, mode, policy))
    return _reply(request, config.to_json("compatibility"))


@router.delete("/config/{subject}")
def delete_subject_config(subject: str, request: Request, db: Db) -> Response:
    previous = db.write(lambda session: configs.delete_subject_config(session, subject))
    return _reply(request, previous.to_json())


def _mode_update(request: Request, body: bytes) -> str:
    return configs.parse_mode(json_body(_body(request, body)).get("mode"))


@router.get("/mode")
def get_global_mode(request: Request, db: Db) -> Response:
    with db.reads() as session:
        return _reply(request, {"mode": configs.global_mode(session)})


@router.put("/mode")
def put_global_mode(request: Request, body: RawBody, db: Db) -> Response:
    mode = _mode_update(request, body)
    return _reply(request, {"mode": db.write(lambda s: configs.set_global_mode(s, mode))})


@router.get("/mode/{subject}")
def get_subject_mode(subject: str, request: Request, db: Db) -> Response:
    default = _flag(request.query_params.get("defaultToGlobal"))
    with db.reads() as session:
        mode = configs.subject_mode(session, subject, default_to_global=default)
    return _reply(request, {"mode": mode})


@router.put("/mode/{subject}")
def put_subject_mode(subject: str, request: Request, body: RawBody, db: Db) -> Response:
    mode = _mode_update(request, body)
    if not subject_store.valid_subject(subject):
        raise invalid_subject(subject)
    return _reply(request, {"mode": db.write(lambda s: configs.set_subject_mode(s, subject, mode))})


@router.delete("/mode/{subject}")
def delete_subject_mode(subject: str, request: Request, db: Db) -> Response:
    previous = db.write(lambda session: configs.delete_subject_mode(session, subject))
    return _reply(request, {"mode": previous})


# -- anything else under the API's paths: 404 or 405 in Schema Registry's format ------------

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _unmatched(request: Request) -> Response:
    path = request.url.path
    if path.startswith(PREFIX + "/"):
        path = path.removeprefix(PREFIX)
    for route in router.routes:
        if not isinstance(route, APIRoute) or route.endpoint is unmatched:
            continue
        if route.path_regex.match(path) and request.method not in (route.methods or ()):
            return _error(request, 405, 405, "HTTP 405 Method Not Allowed")
    return _error(request, 404, 404, "HTTP 404 Not Found")


async def unmatched(request: Request) -> Response:
    return _unmatched(request)


for _path in ("/subjects", "/schemas", "/compatibility", "/config", "/mode"):
    router.add_api_route(_path, unmatched, methods=_METHODS)
    router.add_api_route(_path + "/{rest:path}", unmatched, methods=_METHODS)


def install(app: FastAPI) -> None:
    """Serve the API at the root and under `PREFIX` (register after the native routes)."""
    app.include_router(router)
    app.include_router(router, prefix=PREFIX)
