"""Authentication, authorization and audit of the registry's HTTP API.

`install(app, settings, db)` is the one registration `create_app` makes: the
`SecurityMiddleware` (every request), the ownership guard and audit hooks on the
database's sessions (every write transaction), and the ``/audit`` and ``/auth/whoami``
routes. The authorization table is `registry.auth.policy.POLICY`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from registry.auth import guard
from registry.auth.audit import router as audit_router
from registry.auth.middleware import SecurityMiddleware
from registry.auth.policy import rule_for
from registry.auth.principal import ANONYMOUS, Principal, Role, current_principal, default_team
from registry.auth.routes import router as auth_router
from registry.db import Database
from registry.settings import Settings

__all__ = ["ANONYMOUS", "Principal", "Role", "current_principal", "default_team", "install"]

log = logging.getLogger("registry")

AUTH_OFF_WARNING = (
    "ACCORD_AUTH=off: authentication and authorization are OFF. Anyone who can reach this "
    "registry can publish, delete and reconfigure every contract. Use this for local work only."
)


_REFUSALS = (
    ("401", "unauthorized"),
    ("403", "forbidden"),
    ("429", "rate_limited"),
)


def _document(app: FastAPI) -> None:
    """Say in the OpenAPI document how to authenticate, and what every protected operation
    can answer before it runs (401, 403, 429; 413 where there is a body)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(
            {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API token or OIDC JWT",
                },
                "basic": {"type": "http", "scheme": "basic", "description": "password: the token"},
            }
        )
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                rule = rule_for(method.upper(), path)
                if rule.role is None:
                    continue
                operation.setdefault("security", [{"token": []}, {"basic": []}])
                responses = operation["responses"]
                refusals = [
                    *_REFUSALS,
                    *((("413", "payload_too_large"),) if "requestBody" in operation else ()),
                ]
                for status, code in refusals:
                    responses.setdefault(
                        status, {"description": f"Error: {code}", "content": error}
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, settings: Settings, db: Database) -> None:
    """Protect `app`: add it before the metrics middleware, so that metrics count refusals."""
    app.add_middleware(SecurityMiddleware, settings=settings, db=db)
    guard.install(db.writes, db.reads)
    app.include_router(audit_router)
    app.include_router(auth_router)
    _document(app)
    if not settings.auth:
        log.warning(AUTH_OFF_WARNING)  # to stderr: uvicorn's handler, else logging's last resort
