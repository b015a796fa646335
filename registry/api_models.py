"""Request and response bodies of the HTTP API (pydantic; they are the OpenAPI schemas)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts import CompatibilityMode, Policy
from registry import limits

__all__ = [
    "AffectedConsumer",
    "CompatibilityReport",
    "CompatibilitySettings",
    "ConfigUpdate",
    "ConsumerIn",
    "ConsumerList",
    "ConsumerOut",
    "ContractPage",
    "ContractSummary",
    "DeletedContract",
    "DeletedVersion",
    "Health",
    "LifecycleStatus",
    "PublishedVersion",
    "ReportChange",
    "ServiceVersion",
    "StatusUpdate",
    "VersionDocument",
    "VersionInfo",
    "VersionList",
]

LifecycleStatus = Literal["draft", "active", "deprecated", "retired"]


# The largest version number a column holds (PostgreSQL's integer): a larger one is refused
# naming its field, rather than failing in the database.
MAX_VERSION = 2**31 - 1


class CompatibilitySettings(BaseModel):
    """The compatibility config the registry enforces on publish."""

    mode: CompatibilityMode
    policy: Policy


class ConfigUpdate(BaseModel):
    """New config; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    mode: CompatibilityMode | None = None
    policy: Policy | None = None


class PublishedVersion(BaseModel):
    name: str
    version: int = Field(description="Number within the contract: 1, 2, 3...")
    id: int = Field(description="Global id of the version, unique across contracts.")
    fingerprint: str = Field(description="SHA-256 of the canonical document.")
    created_at: datetime


class VersionInfo(BaseModel):
    version: int
    id: int
    fingerprint: str
    status: LifecycleStatus
    created_at: datetime
    deleted_at: datetime | None = None


class VersionList(BaseModel):
    name: str
    items: list[VersionInfo]


class VersionDocument(VersionInfo):
    """One version with its canonical contract document."""

    name: str
    contract: dict[str, Any]


class StatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "deprecated", "retired"]


class ContractSummary(BaseModel):
    """A contract, summarised from its latest live version."""

    name: str
    description: str | None
    owner_team: str | None
    tags: list[str]
    status: LifecycleStatus | None
    latest_version: int | None
    compatibility: CompatibilitySettings
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class ContractPage(BaseModel):
    items: list[ContractSummary]
    total: int = Field(description="Contracts matching the filters, over all pages.")
    limit: int
    offset: int


class DeletedContract(BaseModel):
    name: str
    versions: list[int] = Field(description="Versions this request deleted.")
    permanent: bool


class DeletedVersion(BaseModel):
    name: str
    version: int
    permanent: bool


class ConsumerIn(BaseModel):
    """A consumer's declared dependency: versions it reads and the fields it reads."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    team: str = Field(min_length=1, max_length=255)
    contact: str | None = Field(None, max_length=255)
    min_version: int = Field(1, ge=1, le=MAX_VERSION)
    max_version: int | None = Field(
        None, ge=1, le=MAX_VERSION, description="Inclusive; null: every later one."
    )
    fields: list[str] = Field(
        default_factory=list, description="Field paths read; empty: every field."
    )

    @model_validator(mode="after")
    def _range(self) -> ConsumerIn:
        if self.max_version is not None and self.max_version < self.min_version:
            raise ValueError("max_version must not be below min_version")
        for path in self.fields:
            if not path or not path.strip("./"):
                raise ValueError(f"fields: {path!r} is not a field path")
        return self


class ConsumerOut(ConsumerIn):
    created_at: datetime
    updated_at: datetime


class ConsumerList(BaseModel):
    name: str
    items: list[ConsumerOut]


class ReportChange(BaseModel):
    """One difference between the candidate and a registered version."""

    type: str = Field(examples=["REQUIRED_ATTRIBUTE_ADDED"])
    path: str = Field(description="JSON pointer into the contract document.")
    layer: Literal["schema", "contract"]
    breaks: Literal["producers", "consumers", "both", "none"]
    compatible: bool = Field(description="Whether the change is allowed under the mode.")
    message: str
    against_version: int | None
    consumers: list[str] = Field(description="Registered consumers this change reaches.")


class AffectedConsumer(BaseModel):
    name: str
    team: str
    contact: str | None
    changes: list[str] = Field(description="'TYPE path' of the breaking changes reaching it.")


class CompatibilityReport(BaseModel):
    """The verdict on a candidate against the registered versions its mode compares."""

    compatible: bool
    mode: CompatibilityMode
    policy: Policy
    checked_versions: list[int]
    changes: list[ReportChange]
    affected_consumers: list[AffectedConsumer]
    consumers_registered: int
    notes: list[str]


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class ServiceVersion(BaseModel):
    name: str
    version: str
    database: str = Field(description="SQL dialect: sqlite or postgresql.")
    schema_revision: str | None = Field(description="Alembic revision of the database.")


# -- breaches and observations reported by enforcers --------------------------------------

BreachKind = Literal["schema", "rule", "parse", "quality", "sla"]


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; one without a time zone is taken as UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError("out of range in UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A date-time in UTC; one given without a time zone is read as UTC."""

# Aggregates count failures of one window at one source: a count beyond this is a bug (or
# an attack) that would overflow the per-rule sums.
MAX_BREACH_COUNT = 2**40


class BreachSample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="", max_length=1024)
    message: str = Field(max_length=4096)
    record: Any = None  # already redacted by the enforcer

    @field_validator("record")
    @classmethod
    def _storable(cls, record: Any) -> Any:
        # Stored as JSON and served back: as deep as a contract document may be, no deeper,
        # and with numbers JSON can hold.
        problems = limits.document_problems(record)
        if problems:
            raise ValueError(f"record{problems[0].path}: {problems[0].message}")
        return record


class BreachIn(BaseModel):
    """One aggregate: how often a rule failed in one window at one source."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1,
        max_length=128,
        description="Idempotency key of this aggregate, unique across sources ('sla:...' is "
        "the registry's own).",
    )
    contract: str = Field(min_length=1, max_length=255)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    kind: BreachKind
    rule: str = Field(min_length=1, max_length=255)
    severity: Literal["error", "warning"] = "error"
    window_start: UtcDatetime
    window_end: UtcDatetime
    count: int = Field(ge=1, le=MAX_BREACH_COUNT)
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    samples: list[BreachSample] = Field(default_factory=list, max_length=50)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key.startswith("sla:"):
            raise ValueError("id: 'sla:...' keys are the registry's own (SLA breaches)")
        return key

    @model_validator(mode="after")
    def _ordered(self) -> BreachIn:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen must not be before first_seen")
        return self


class ObservationIn(BaseModel):
    """What one source saw of a contract in one window."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    contract: str = Field(min_length=1, max_length=255)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    window_start: UtcDatetime
    window_end: UtcDatetime
    records: int = Field(ge=0, le=MAX_BREACH_COUNT)
    valid: int = Field(ge=0, le=MAX_BREACH_COUNT)
    invalid: int = Field(ge=0, le=MAX_BREACH_COUNT)
    max_event_time: UtcDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ObservationIn:
        if self.valid + self.invalid != self.records:
            raise ValueError("valid + invalid must equal records")
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


class BreachBatch(BaseModel):
    """What a `BreachReporter` flush sends: aggregates and observations of one source."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str | None = Field(default=None, max_length=128)
    source: str = Field(min_length=1, max_length=255)
    breaches: list[BreachIn] = Field(default_factory=list, max_length=10_000)
    observations: list[ObservationIn] = Field(default_factory=list, max_length=10_000)


class BatchReceipt(BaseModel):
    accepted: int = Field(description="Aggregates and observations stored now.")
    duplicates: int = Field(description="Already stored before (a resent batch): ignored.")


class BreachOut(BaseModel):
    id: int
    source: str
    contract: str
    version: int | None
    kind: str
    rule: str
    severity: str
    window_start: datetime
    window_end: datetime
    count: int
    first_seen: datetime
    last_seen: datetime
    samples: list[dict[str, Any]]


class BreachBucket(BaseModel):
    start: datetime
    count: int


class RuleTotal(BaseModel):
    contract: str
    kind: str
    rule: str
    count: int


class BreachPage(BaseModel):
    items: list[BreachOut]
    total: int = Field(description="Aggregates matching the filters.")
    breaches: int = Field(description="Sum of their counts: failing records.")
    by_rule: list[RuleTotal]
    buckets: list[BreachBucket] = Field(description="Counts per interval, by window start.")
    interval_seconds: int
