"""One body for every failure the API returns, and the handlers that produce it.

Every error response is ``{"error": {"code", "message", "details"}}`` with a stable
snake_case `code`: the registry's own errors, FastAPI's request validation, unknown routes,
wrong methods, an unreachable database and unexpected exceptions alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.errors import ERROR_CODES, ApiError

__all__ = [
    "CatchAll",
    "ErrorResponse",
    "error_body",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "out_of_range_message",
]

log = logging.getLogger("registry")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable snake_case error code.", examples=["contract_not_found"])
    message: str = Field(description="What went wrong, naming the field or resource.")
    details: Any = Field(None, description="Structured detail: problems, a report, ...")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


def error_body(code: str, message: str, details: Any = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": details}})


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        error_body(code, message, details),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, each listing the codes it can carry.

    Every route with parameters can also answer 422 (a malformed parameter), and every
    route 500 and 503, so those are always listed.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 422, 500, 503}):
        codes = sorted(code for code, (s, _) in ERROR_CODES.items() if s == status)
        out[status] = {"model": ErrorResponse, "description": "Error: " + ", ".join(codes)}
    return out


def _validation_details(errors: Sequence[Any], body: Any) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid" and location[:1] == ["body"]:
            # FastAPI puts the character offset where a field would be ("body.7").
            message = f"not JSON: {error.get('ctx', {}).get('error', message)}"
            offset = location[1] if len(location) > 1 else ""
            if isinstance(body, str) and offset.isdigit():
                before = body[: int(offset)]
                line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
                message += f" (line {line}, column {column})"
            location = ["body"]
        details.append({"field": ".".join(location), "message": message, "type": error.get("type")})
    return details


async def _on_api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc.errors(), exc.body)
    fields = ", ".join(d["field"] for d in details) or "request"
    message = f"invalid {fields}"
    if len(details) == 1 and details[0]["type"] == "json_invalid":
        message = f"invalid body: {details[0]['message']}"
    return error_response(422, "invalid_request", message, details)


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body (syntax errors aside)
        why = _unreadable(exc.__cause__)
        details = [{"field": "body", "message": why, "type": "json_invalid"}]
        return error_response(422, "invalid_request", f"invalid body: {why}", details)
    if exc.status_code == 404:
        code, message = "not_found", "no such route"
    elif exc.status_code == 405:
        code, message = "method_not_allowed", "method not allowed on this route"
    else:
        code, message = f"http_{exc.status_code}", str(exc.detail)
    return error_response(exc.status_code, code, message, headers=exc.headers)


def _unreadable(cause: BaseException | None) -> str:
    """Why FastAPI could not read a JSON body, past a syntax error (which it reports)."""
    if isinstance(cause, UnicodeDecodeError):
        return f"not UTF-8 (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "not readable JSON: nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "not readable JSON: a number of more than 4300 digits"
    if cause is not None:
        return f"not readable JSON: {cause}"
    return "not readable JSON"


async def _on_database_error(_request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc)
    return error_response(503, "database_unavailable", "the database did not answer")


class CatchAll:
    """Turn any exception that escaped the handlers into a logged 500, never a traceback.

    Starlette's own catch-all re-raises after responding; this one does not, so the server
    logs the error once, here, with its traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(500, "internal", "internal server error")
            await response(scope, receive, send)


def out_of_range_message(request: Request) -> str:
    """What to say of a value the database could not hold (an id beyond 64 bits, a text
    too long or holding a NUL byte), naming the request's parameters that look like it."""
    return out_of_range_of(request.path_params, request.query_params)


def out_of_range_of(path: Mapping[str, Any], query: Mapping[str, Any]) -> str:
    """`out_of_range_message` of these path and query parameters."""
    suspects = []
    for where, params in (("path", path), ("query", query)):
        for key, value in params.items():
            text = str(value)
            digits = text.removeprefix("-")
            # PostgreSQL's integer ends at 2**31 - 1 (SQLite's at 2**63 - 1).
            huge = (
                digits.isascii() and digits.isdigit() and (len(digits) > 10 or int(digits) >= 2**31)
            )
            if "\x00" in text or len(text) > 255 or huge:
                suspects.append(f"{where}.{key}")
    named = ", ".join(suspects) or "a parameter"
    return f"{named}: out of range (too large a number, too long, or a NUL character)"


async def _on_out_of_range(request: Request, exc: Exception) -> Response:
    log.info("value out of range for the database: %s", exc)
    return error_response(422, "invalid_request", out_of_range_message(request))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(OperationalError, _on_database_error)
    app.add_exception_handler(InterfaceError, _on_database_error)
    app.add_exception_handler(OverflowError, _on_out_of_range)
    app.add_exception_handler(DataError, _on_out_of_range)
    app.add_middleware(CatchAll)
