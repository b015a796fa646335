"""``/auth/whoami``: who the registry takes the caller for."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from registry.auth.principal import current_principal
from registry.http_errors import error_responses

__all__ = ["router"]

router = APIRouter(tags=["security"])


class WhoAmI(BaseModel):
    auth: bool = Field(description="Whether the registry checks credentials (ACCORD_AUTH).")
    kind: str | None = Field(description="token, oidc or anonymous; null with auth off.")
    subject: str | None = Field(description="Token id or 'oidc:<subject>'.")
    roles: list[str]
    teams: list[str]
    name: str | None


@router.get(
    "/auth/whoami",
    response_model=WhoAmI,
    summary="The caller's identity, role and teams",
    responses=error_responses(401, 403),
)
async def whoami(request: Request) -> WhoAmI:
    principal = current_principal()
    auth: bool = request.app.state.settings.auth
    if principal is None:
        return WhoAmI(auth=auth, kind=None, subject=None, roles=[], teams=[], name=None)
    return WhoAmI(
        auth=auth,
        kind=principal.kind,
        subject=principal.subject,
        roles=sorted(principal.roles),
        teams=sorted(principal.teams),
        name=principal.name,
    )
