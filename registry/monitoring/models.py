"""Request and response bodies of the monitoring API (SLA status, webhooks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class WebhookIn(BaseModel):
    """A webhook: where to POST events, and which."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, examples=["https://hooks.example.com/accord"])
    contract: str | None = Field(None, max_length=255, description="Only this contract's events.")
    team: str | None = Field(
        None, max_length=255, description="Only events of contracts this team owns."
    )
    events: list[str] = Field(
        default_factory=list, description=f"Event types (empty: all): {', '.join(EVENT_TYPES)}."
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=255,
        description="HMAC key of X-Accord-Signature; generated (and returned once) if left out.",
    )
    description: str | None = Field(None, max_length=1000)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        return url

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
        return sorted(set(events))


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
