"""The registry's errors: each with an HTTP status and a stable snake_case code.

Raised anywhere below the routes (the store, intake, publishing); `registry.http_errors`
renders them, and every other failure, as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ERROR_CODES",
    "ApiError",
    "Conflict",
    "ConsumerNotFound",
    "ContractNotFound",
    "Forbidden",
    "IdempotencyConflict",
    "Incompatible",
    "InvalidContract",
    "InvalidRequest",
    "NameMismatch",
    "NotSoftDeleted",
    "PayloadTooLarge",
    "RateLimited",
    "Unauthorized",
    "UnsupportedMediaType",
    "VersionDeleted",
    "VersionNotFound",
    "WebhookNotFound",
]


class ApiError(Exception):
    """A failure with an HTTP status and a stable code (raised anywhere below the routes)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ContractNotFound(ApiError):
    """No such contract (or it is deleted)."""

    status, code = 404, "contract_not_found"


class VersionNotFound(ApiError):
    """No such version (or it is deleted)."""

    status, code = 404, "version_not_found"


class ConsumerNotFound(ApiError):
    """No such consumer of this contract."""

    status, code = 404, "consumer_not_found"


class InvalidContract(ApiError):
    """The document is not a valid contract; `details` lists the problems."""

    status, code = 422, "invalid_contract"


class NameMismatch(ApiError):
    """The document's name is not the one in the path."""

    status, code = 422, "name_mismatch"


class InvalidRequest(ApiError):
    """A parameter or body field is invalid; `details` names it."""

    status, code = 422, "invalid_request"


class Incompatible(ApiError):
    """The version breaks the compatibility mode; `details` is the report."""

    status, code = 409, "incompatible"


class NotSoftDeleted(ApiError):
    """A permanent delete needs a soft delete first."""

    status, code = 409, "not_soft_deleted"


class VersionDeleted(ApiError):
    """Identical content is a soft-deleted version; delete it permanently first."""

    status, code = 409, "version_deleted"


class Conflict(ApiError):
    """Concurrent writes kept colliding; retry."""

    status, code = 409, "conflict"


class IdempotencyConflict(ApiError):
    """An aggregate's id was stored before with other content (an id reused, not resent)."""

    status, code = 409, "idempotency_conflict"


class PayloadTooLarge(ApiError):
    """The body is over the size limit."""

    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ApiError):
    """The body is neither JSON nor YAML."""

    status, code = 415, "unsupported_media_type"


class WebhookNotFound(ApiError):
    """No such webhook."""

    status, code = 404, "webhook_not_found"


class Unauthorized(ApiError):
    """No credentials, or credentials that are not valid (unknown, revoked, expired)."""

    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    """The credentials are valid but their role or team may not do this."""

    status, code = 403, "forbidden"


class RateLimited(ApiError):
    """Too many requests from this token (or address); retry after `Retry-After` seconds."""

    status, code = 429, "rate_limited"


# Every code the API returns, with its status: the README's table is this list.
ERROR_CODES: dict[str, tuple[int, str]] = {
    cls.code: (cls.status, cls.__doc__ or "") for cls in ApiError.__subclasses__()
}
ERROR_CODES |= {
    "not_found": (404, "No such route."),
    "method_not_allowed": (405, "The route does not take this method."),
    "database_unavailable": (503, "The database did not answer."),
    "internal": (500, "An unexpected error (logged by the server)."),
}
