"""RecordWriter (librdkafka) against a real broker: order, partitions, failures."""

from __future__ import annotations

import time
from typing import Any

import confluent_kafka
import pytest
from kafka import KafkaProducer

from enforcers.kafka.writer import RecordWriter
from tests.kafka.helpers import create_topics, headers_of, read_all
from tests.processes import free_port

pytestmark = pytest.mark.timeout(120)


def test_records_arrive_in_order_as_they_were_sent(kafka_broker: str, names: Any) -> None:
    topic = names("out")
    create_topics(kafka_broker, topic, partitions=1)
    writer = RecordWriter(kafka_broker)
    deliveries = [
        writer.send(
            topic,
            value=f"v{i}".encode(),
            key=f"k{i}".encode(),
            headers=[("trace", f"t{i}".encode())],
            timestamp_ms=1_700_000_000_000 + i,
        )
        for i in range(200)
    ]
    writer.flush(timeout=30)
    assert all(d.is_done and d.succeeded() and not d.failed() for d in deliveries)
    deliveries[0].get(timeout=0)  # done: returns at once

    records = read_all(kafka_broker, topic)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(200)]
    assert [r.key for r in records] == [f"k{i}".encode() for i in range(200)]
    assert [headers_of(r)["trace"] for r in records] == [f"t{i}".encode() for i in range(200)]
    assert [r.timestamp for r in records] == [1_700_000_000_000 + i for i in range(200)]


def test_keys_go_to_the_partitions_kafka_python_chooses(kafka_broker: str, names: Any) -> None:
    # The bridge forwards records keyed as they were: a key must land in the partition any
    # other (Java-compatible) producer would have picked for it.
    ours, theirs = names("ours"), names("theirs")
    create_topics(kafka_broker, ours, theirs, partitions=5)
    keys = [f"customer-{i}".encode() for i in range(100)]
    writer = RecordWriter(kafka_broker)
    for key in keys:
        writer.send(ours, value=b"x", key=key)
    writer.flush(timeout=30)
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    for key in keys:
        producer.send(theirs, value=b"x", key=key)
    producer.flush(timeout=30)
    producer.close()

    def partitions(topic: str) -> dict[bytes, int]:
        return {r.key: r.partition for r in read_all(kafka_broker, topic)}

    assert partitions(ours) == partitions(theirs)
    assert len(set(partitions(ours).values())) > 1


def test_a_write_no_broker_acknowledges_fails() -> None:
    writer = RecordWriter(f"127.0.0.1:{free_port()}", {"message.timeout.ms": 1000})
    delivery = writer.send("anywhere", value=b"x")
    assert not delivery.is_done
    with pytest.raises(TimeoutError):
        delivery.get(timeout=0.1)
    with pytest.raises(confluent_kafka.KafkaException, match="timed out"):
        delivery.get(timeout=30)
    assert delivery.failed() and not delivery.succeeded()


def test_a_full_queue_waits_for_room_then_gives_up() -> None:
    writer = RecordWriter(
        f"127.0.0.1:{free_port()}",
        {"queue.buffering.max.messages": 1, "message.timeout.ms": 60_000},
        max_block=0.3,
    )
    writer.send("anywhere", value=b"x")
    start = time.monotonic()
    with pytest.raises(BufferError):
        writer.send("anywhere", value=b"y")
    assert time.monotonic() - start >= 0.3
