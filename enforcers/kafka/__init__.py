"""Streaming enforcement on Kafka: kafka-python consumer and producer wrappers, the bridge.

`ValidatingConsumer` hands the application valid records only and dead-letters the rest,
committing offsets only for records fully handled; `ValidatingProducer` checks records
before they are sent; `run_bridge` is ``accord enforce kafka``. Dead letters and the
bridge's valid records are written by a `RecordWriter` (librdkafka).
"""

from enforcers.kafka.bridge import run_bridge
from enforcers.kafka.common import (
    HEADER_CONTRACT,
    HEADER_DIVERTED,
    HEADER_FAILURES,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_SCHEMA_ID,
    HEADER_TARGET_TOPIC,
    HEADER_TIMESTAMP,
    HEADER_TOPIC,
    HEADER_VERSION,
    ContractViolation,
    Framing,
    SendFailed,
    frame,
    header_map,
    unframe,
)
from enforcers.kafka.consumer import ConsumerStats, ValidatingConsumer, ValidRecord
from enforcers.kafka.producer import ValidatingProducer
from enforcers.kafka.writer import Delivery, RecordWriter

__all__ = [
    "HEADER_CONTRACT",
    "HEADER_DIVERTED",
    "HEADER_FAILURES",
    "HEADER_OFFSET",
    "HEADER_PARTITION",
    "HEADER_SCHEMA_ID",
    "HEADER_TARGET_TOPIC",
    "HEADER_TIMESTAMP",
    "HEADER_TOPIC",
    "HEADER_VERSION",
    "ConsumerStats",
    "ContractViolation",
    "Delivery",
    "Framing",
    "RecordWriter",
    "SendFailed",
    "ValidRecord",
    "ValidatingConsumer",
    "ValidatingProducer",
    "frame",
    "header_map",
    "run_bridge",
    "unframe",
]
