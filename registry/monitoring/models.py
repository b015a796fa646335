"""Request and response bodies of the monitoring API (SLA status, webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from registry.monitoring.events import EVENT_TYPES

__all__ = [
    "SlaCheck",
    "SlaEvent",
    "SlaReport",
    "WebhookCreated",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookIn",
    "WebhookList",
    "WebhookOut",
    "WebhookUpdate",
    "WebhookUpdated",
]

SlaState = Literal["ok", "breached", "unknown", "inactive"]


class SlaCheck(BaseModel):
    """The current state of one check of one source."""

    source: str
    rule: Literal["freshness", "volume", "breach_rate"]
    status: SlaState
    since: datetime = Field(description="When the check last changed status.")
    episode: int = Field(description="Breached episodes so far (the current one if breached).")
    measured: float | None = Field(
        description="Freshness: age in seconds; volume: records in the last window; "
        "breach_rate: invalid / records."
    )
    threshold: float | None
    message: str
    evaluated_at: datetime


class SlaEvent(BaseModel):
    """A change of status of one check."""

    source: str
    rule: str
    previous: SlaState | None
    status: SlaState
    episode: int
    at: datetime
    measured: float | None
    threshold: float | None
    message: str


class SlaReport(BaseModel):
    name: str
    version: int | None = Field(description="The latest version, whose SLA is evaluated.")
    sla: dict[str, Any] | None = Field(description="The SLA the latest version declares.")
    status: Literal["ok", "breached", "unknown", "none"] = Field(
        description="breached if any check is; ok if all evaluated checks hold; unknown "
        "before any source reported; none without an SLA."
    )
    checks: list[SlaCheck]
    history: list[SlaEvent] = Field(description="Status changes, newest first.")


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must be an http:// or https:// URL")
    try:
        host = httpx.URL(url).host
        host.encode("idna")  # what sending does: "a..b" fails only then
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ValueError(f"url is not one a request can be sent to: {exc}") from None
    if not host:
        raise ValueError("url names no host")
    return url


def _known_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
    return sorted(set(events))


HookUrl = Annotated[
    str,
    Field(min_length=1, max_length=2048, examples=["https://hooks.example.com/accord"]),
    AfterValidator(_http_url),
]
EventTypes = Annotated[
    list[str],
    Field(description=f"Event types (empty: all): {', '.join(EVENT_TYPES)}."),
    AfterValidator(_known_events),
]
Secret = Annotated[str, Field(min_length=16, max_length=255)]


class WebhookIn(BaseModel):
    """A webhook: where to POST events, and which."""

    model_config = ConfigDict(extra="forbid")

    url: HookUrl
    contract: str | None = Field(None, max_length=255, description="Only this contract's events.")
    team: str | None = Field(
        None, max_length=255, description="Only events of contracts this team owns."
    )
    events: EventTypes = Field(default_factory=list)
    secret: Secret | None = Field(
        None,
        description="HMAC key of X-Accord-Signature; generated (and returned once) if left out.",
    )
    description: str | None = Field(None, max_length=1000)


class WebhookUpdate(BaseModel):
    """Changes to a webhook: each field given replaces the stored one (``contract`` and
    ``team`` may be set to null), the others are kept. ``secret`` or ``rotate_secret``
    replace the signing secret, from the next delivery attempt on."""

    model_config = ConfigDict(extra="forbid")

    url: HookUrl | None = None
    contract: str | None = Field(None, max_length=255)
    team: str | None = Field(None, max_length=255)
    events: EventTypes | None = None
    description: str | None = Field(None, max_length=1000)
    secret: Secret | None = Field(None, description="The new HMAC key of X-Accord-Signature.")
    rotate_secret: bool = Field(
        False, description="Generate a new signing secret (returned once, in the response)."
    )

    @field_validator("url", "events", "secret")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Only values given are validated: null would clear what cannot be empty.
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value

    @field_validator("rotate_secret")
    @classmethod
    def _one_secret(cls, rotate: bool, info: ValidationInfo) -> bool:
        if rotate and info.data.get("secret") is not None:
            raise ValueError("give secret or rotate_secret, not both")
        return rotate


class WebhookOut(BaseModel):
    id: int
    url: str
    contract: str | None
    team: str | None
    events: list[str]
    description: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret: shown only in this response.")


class WebhookUpdated(WebhookOut):
    secret: str | None = Field(
        description="The new signing secret when the request replaced it: shown only in this "
        "response; null otherwise."
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class WebhookDelivery(BaseModel):
    id: int
    event_id: str
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryList(BaseModel):
    items: list[WebhookDelivery]
