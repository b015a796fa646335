"""What the Kafka consumer, producer and bridge share: framing, headers, errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import confluent_kafka
import orjson
from kafka.errors import MessageSizeTooLargeError

from contracts import Severity
from enforcers.contract_source import ContractSource, ResolvedContract, UnknownSchemaId
from enforcers.record_validator import Failure

__all__ = [
    "HEADER_CONTRACT",
    "HEADER_FAILURES",
    "HEADER_FAILURES_OMITTED",
    "HEADER_OFFSET",
    "HEADER_PARTITION",
    "HEADER_SCHEMA_ID",
    "HEADER_TARGET_TOPIC",
    "HEADER_TIMESTAMP",
    "HEADER_TOPIC",
    "HEADER_VALUE_OMITTED",
    "HEADER_VERSION",
    "MAX_FAILURES_HEADER",
    "ContractViolation",
    "Framing",
    "Headers",
    "SendFailed",
    "check_raw",
    "contract_headers",
    "failures_headers",
    "frame",
    "header_map",
    "is_invalid",
    "too_large",
    "unframe",
]

Headers = list[tuple[str, bytes]]
Framing = Literal["auto", "none", "confluent"]
"""How record values are read: ``auto`` (a leading 0 byte means Confluent framing), ``none``
(plain JSON only) or ``confluent`` (every value must be framed)."""

MAGIC = b"\x00"
PREFIX = "accord."
HEADER_CONTRACT = "accord.contract"
HEADER_VERSION = "accord.version"
HEADER_SCHEMA_ID = "accord.schema_id"
HEADER_FAILURES = "accord.failures"  # JSON array of Failure.to_dict()
HEADER_TOPIC = "accord.source.topic"
HEADER_PARTITION = "accord.source.partition"
HEADER_OFFSET = "accord.source.offset"
HEADER_TIMESTAMP = "accord.source.timestamp"  # ms since the epoch, as the source record had
HEADER_TARGET_TOPIC = "accord.target.topic"  # producer DLQ: where the record was headed
HEADER_FAILURES_OMITTED = "accord.failures.omitted"  # how many the failures header leaves out
HEADER_VALUE_OMITTED = "accord.value.omitted"  # bytes of a value too large for the DLQ
HEADER_DIVERTED = "accord.diverted"  # why a valid record is in the DLQ (`divert`)

# A record that fit its topic must still fit the DLQ with these headers added: the failures
# header is kept under this size (messages cut, failures past it counted, not listed).
MAX_FAILURES_HEADER = 16 * 1024
_MAX_HEADER_MESSAGE = 512


class ContractViolation(Exception):
    """A record breaches its contract; `failures` says how (errors and warnings)."""

    def __init__(self, contract: str, version: int | None, failures: Sequence[Failure]) -> None:
        self.contract, self.version, self.failures = contract, version, list(failures)
        errors = [f for f in self.failures if f.severity is Severity.ERROR]
        shown = "; ".join(f"{f.rule} at {f.path or '/'}: {f.message}" for f in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        at = f" version {version}" if version is not None else ""
        super().__init__(f"record breaches {contract}{at}: {shown}{more}")


class SendFailed(Exception):
    """A record could not be written to Kafka (DLQ or target): offsets stay uncommitted."""


def frame(global_id: int, payload: bytes) -> bytes:
    """Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), payload."""
    return MAGIC + global_id.to_bytes(4, "big") + payload


def unframe(raw: bytes) -> tuple[int, bytes]:
    """(schema id, payload) of a Confluent-framed value; ValueError if it is not one."""
    if len(raw) < 5 or raw[0] != 0:
        raise ValueError("not a Confluent-framed value (magic byte 0 + 4-byte schema id)")
    return int.from_bytes(raw[1:5], "big"), raw[5:]


def is_invalid(failures: Iterable[Failure]) -> bool:
    return any(f.severity is Severity.ERROR for f in failures)


def _failure(source: ContractSource, rule: str, message: str) -> Failure:
    return Failure(source.name, None, "parse", rule, "", message, Severity.ERROR)


def check_raw(
    source: ContractSource, raw: bytes | None, framing: Framing
) -> tuple[ResolvedContract, int | None, Any, list[Failure]]:
    """(version checked against, schema id if framed, parsed value, failures) of one value.

    RegistryError (the registry unreachable while an id is looked up) propagates: such a
    record is not invalid, only not checkable yet.
    """
    if raw is None:
        return source.current(), None, None, [_failure(source, "tombstone", "null value")]
    if framing != "none" and raw[:1] == MAGIC:
        try:
            global_id, payload = unframe(raw)
        except ValueError as exc:
            return source.current(), None, None, [_failure(source, "framing", str(exc))]
        try:
            resolved = source.by_id(global_id)
        except UnknownSchemaId as exc:
            return source.current(), global_id, None, [_failure(source, "schema_id", str(exc))]
        if resolved.name != source.name:
            message = (
                f"schema id {global_id} is {resolved.name} version {resolved.version}, "
                f"not a version of {source.name}"
            )
            return source.current(), global_id, None, [_failure(source, "schema_id", message)]
        record, failures = resolved.validator.validate_json(payload)
        return resolved, global_id, record, failures
    resolved = source.current()
    if framing == "confluent":
        message = "not a Confluent-framed value (magic byte 0 + 4-byte schema id)"
        return resolved, None, None, [_failure(source, "framing", message)]
    record, failures = resolved.validator.validate_json(raw)
    return resolved, None, record, failures


def without_accord(headers: Iterable[tuple[str, bytes]] | None) -> Headers:
    """The headers of a record less any ``accord.*`` ones (which only Accord may set)."""
    return [(k, v) for k, v in headers or () if not k.startswith(PREFIX)]


def contract_headers(name: str, version: int | None, global_id: int | None) -> Headers:
    """``accord.contract``, ``accord.version`` and ``accord.schema_id`` (those known)."""
    headers = [(HEADER_CONTRACT, name.encode())]
    if version is not None:
        headers.append((HEADER_VERSION, str(version).encode()))
    if global_id is not None:
        headers.append((HEADER_SCHEMA_ID, str(global_id).encode()))
    return headers


def failures_headers(failures: Iterable[Failure]) -> Headers:
    """The failures as a JSON array header, at most `MAX_FAILURES_HEADER` bytes; when some
    do not fit, a second header counts them."""
    listed: list[dict[str, Any]] = []
    size, omitted = 2, 0  # the brackets
    for failure in failures:
        item = failure.to_dict()
        if len(item["message"]) > _MAX_HEADER_MESSAGE:
            item["message"] = item["message"][: _MAX_HEADER_MESSAGE - 1] + "…"
        encoded = len(orjson.dumps(item)) + 1  # and a comma
        if omitted or size + encoded > MAX_FAILURES_HEADER:
            omitted += 1
            continue
        listed.append(item)
        size += encoded
    headers = [(HEADER_FAILURES, orjson.dumps(listed))]
    if omitted:
        headers.append((HEADER_FAILURES_OMITTED, str(omitted).encode()))
    return headers


def too_large(exc: BaseException) -> bool:
    """Whether a send was refused for the record's size, by librdkafka or kafka-python."""
    if isinstance(exc, confluent_kafka.KafkaException) and exc.args:
        error = exc.args[0]
        code = error.code() if isinstance(error, confluent_kafka.KafkaError) else None
        return code == confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE
    return isinstance(exc, MessageSizeTooLargeError)


def header_map(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, bytes]:
    """Headers as a dict (the last value of a repeated key wins): handy to read a DLQ."""
    return dict(headers or ())
