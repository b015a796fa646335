"""`ValidatingProducer`: a producer that checks every record before it is sent.

    with ValidatingProducer("orders.created", bootstrap_servers="kafka:9092") as producer:
        producer.send("orders", {"order_id": ...}, key=b"...")   # ContractViolation if bad

With ``on_invalid="dlq"`` a breaching record goes to `dlq_topic` instead (headers name the
contract, version, failures and the topic it was meant for); either way it never reaches the
target topic. ``framing=True`` writes the Confluent wire format with the version's global
id (the registry's, or `schema_id` for a local contract).

Records are written with kafka-python's KafkaProducer (made from the keyword arguments), or
with the `producer` given: a KafkaProducer or a `RecordWriter` (librdkafka), which costs the
sending thread a fraction of kafka-python's CPU per record (`bench/stream.py` (d)).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from kafka import KafkaProducer

from contracts import Contract
from enforcers.contract_source import ContractSource, ResolvedContract
from enforcers.kafka.common import (
    HEADER_TARGET_TOPIC,
    ContractViolation,
    contract_headers,
    failures_headers,
    frame,
    is_invalid,
    without_accord,
)
from enforcers.kafka.consumer import resolve_source
from enforcers.kafka.writer import RecordWriter
from enforcers.record_validator import Failure
from enforcers.registry_client import RegistryClient
from enforcers.reporting import BreachReporter

__all__ = ["ValidatingProducer"]

OnInvalid = Literal["raise", "dlq"]


DEFAULT_PRODUCER_CONFIG: Mapping[str, Any] = {"acks": "all", "linger_ms": 5}


class ValidatingProducer:
    """Validates before `send`. See the module doc.

    `value` may be JSON text (bytes or str) or any value orjson serializes; what is checked
    is exactly the JSON that would be sent. Warnings do not stop a record.
    """

    def __init__(
        self,
        contract: ContractSource | Contract | str,
        *,
        bootstrap_servers: str | list[str] = "localhost:9092",
        on_invalid: OnInvalid = "raise",
        dlq_topic: str | None = None,
        framing: bool = False,
        schema_id: int | None = None,
        reporter: BreachReporter | None = None,
        registry: RegistryClient | str | None = None,
        producer: KafkaProducer | RecordWriter | None = None,
        **producer_config: Any,
    ) -> None:
        if on_invalid == "dlq" and not dlq_topic:
            raise ValueError('on_invalid="dlq" needs a dlq_topic')
        if on_invalid not in ("raise", "dlq"):
            raise ValueError(f"on_invalid must be 'raise' or 'dlq', not {on_invalid!r}")
        self.source = resolve_source(contract, registry)
        self.on_invalid = on_invalid
        self.dlq_topic = dlq_topic
        self.framing = framing
        self.schema_id = schema_id
        self.reporter = reporter
        self._owns_producer = producer is None
        self.producer: KafkaProducer | RecordWriter = producer or KafkaProducer(
            bootstrap_servers=bootstrap_servers, **{**DEFAULT_PRODUCER_CONFIG, **producer_config}
        )
        if framing:
            try:
                self._global_id(self.source.current())  # fail now, not on the first send
            except BaseException:
                if self._owns_producer:
                    self.producer.close()  # no client left running
                raise

    def _global_id(self, resolved: ResolvedContract) -> int:
        global_id = self.schema_id if self.schema_id is not None else resolved.global_id
        if global_id is None:
            raise ValueError(
                f"framing needs the global id of {resolved.name}: it is not registered "
                "here, pass schema_id="
            )
        return global_id

    def check(self, value: Any) -> tuple[ResolvedContract, bytes, list[Failure]]:
        """(version checked against, the JSON bytes, failures) of one value; sends nothing."""
        if isinstance(value, bytes | bytearray | memoryview):
            payload = bytes(value)
        elif isinstance(value, str):
            payload = value.encode()
        else:
            payload = orjson.dumps(value)
        resolved = self.source.current()
        record, failures = resolved.validator.validate_json(payload)
        if self.reporter is not None:
            invalid = bool(failures) and is_invalid(failures)
            event_time = None if invalid else resolved.event_time(record)
            self.reporter.record(
                resolved.contract, resolved.version, failures, record, event_time=event_time
            )
        return resolved, payload, failures

    def send(
        self,
        topic: str,
        value: Any,
        *,
        key: bytes | str | None = None,
        headers: Iterable[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> Any:
        """Send `value` if it meets the contract; the send's future (a FutureRecordMetadata,
        or a `Delivery` when writing with a RecordWriter).

        An invalid record raises ContractViolation, or with ``on_invalid="dlq"`` is sent to
        the DLQ (the future returned is that send's).
        """
        resolved, payload, failures = self.check(value)
        if self.framing:
            payload = frame(self._global_id(resolved), payload)
        raw_key = key.encode() if isinstance(key, str) else key
        if failures and is_invalid(failures):
            if self.on_invalid == "raise":
                raise ContractViolation(resolved.name, resolved.version, failures)
            assert self.dlq_topic is not None
            dlq_headers = [
                *without_accord(headers),
                *contract_headers(
                    resolved.name,
                    resolved.version,
                    self.schema_id if self.schema_id is not None else resolved.global_id,
                ),
                *failures_headers(failures),
                (HEADER_TARGET_TOPIC, topic.encode()),
            ]
            return self.producer.send(
                self.dlq_topic,
                value=payload,
                key=raw_key,
                headers=dlq_headers,
                timestamp_ms=timestamp_ms,
            )
        return self.producer.send(
            topic,
            value=payload,
            key=raw_key,
            headers=list(headers or ()),
            partition=partition,
            timestamp_ms=timestamp_ms,
        )

    def flush(self, timeout: float | None = None) -> None:
        self.producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush, then close the producer if this wrapper made it."""
        self.producer.flush(timeout=timeout)
        if self._owns_producer:
            self.producer.close(timeout=timeout)

    def __enter__(self) -> ValidatingProducer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
