"""Helpers of the Kafka tests: topics, producing, reading back, and order records."""

from __future__ import annotations

import copy
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tests.conftest import EXAMPLES

ORDERS_FILE = EXAMPLES / "orders.created.yaml"
Message = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]  # key, value, headers
START = datetime(2026, 1, 1, tzinfo=UTC)


def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        admin.close()


def produce(bootstrap: str, topic: str, messages: list[Message]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for key, value, headers in messages:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush(timeout=30)
    finally:
        producer.close()


def end_offsets(bootstrap: str, topic: str, timeout: float = 30) -> dict[int, int]:
    """The high watermark (next offset to be written) of each partition of `topic`.

    Read from fetch responses, not ListOffsets: Tansu 0.6 answers ListOffsets(latest) with
    the base offset of the last batch + 1, not with the end of the log.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, fetch_max_wait_ms=10, max_partition_fetch_bytes=1
    )
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.highwater(tp) is None for tp in partitions):
            assert time.monotonic() < deadline, f"{topic}: no high watermark"
            consumer.poll(timeout_ms=50, max_records=1)
        return {tp.partition: consumer.highwater(tp) for tp in partitions}
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition of `topic` (None: nothing committed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        return {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
    finally:
        consumer.close()


def read_all(bootstrap: str, topic: str, timeout: float = 30) -> list[Any]:
    """Every record now in `topic`, partition by partition (assigned directly: no group)."""
    ends = end_offsets(bootstrap, topic)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in ends]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        remaining = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + timeout
        while remaining:
            assert time.monotonic() < deadline, f"{topic}: partitions {remaining} not read"
            for tp, messages in consumer.poll(timeout_ms=200).items():
                records.extend(messages)
                if messages and messages[-1].offset + 1 >= ends[tp.partition]:
                    remaining.discard(tp.partition)
        return records
    finally:
        consumer.close()


class Tally:
    """Counts the records in some topics, cheaply enough to be asked often: one consumer,
    kept open, reads them as they arrive."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10)
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in self._consumer.partitions_for_topic(t) or ()
        ]
        self._consumer.assign(partitions)
        self._consumer.seek_to_beginning(*partitions)
        self.seen = 0

    def count(self) -> int:
        """Records in the topics, read until a poll finds nothing new."""
        while batch := self._consumer.poll(timeout_ms=30):
            self.seen += sum(len(records) for records in batch.values())
        return self.seen

    def close(self) -> None:
        self._consumer.close()


def count(bootstrap: str, *topics: str) -> int:
    return sum(sum(end_offsets(bootstrap, t).values()) for t in topics)


def headers_of(message: Any) -> dict[str, bytes]:
    return dict(message.headers or ())


# -- order records (contracts/examples/orders.created.yaml) -------------------------------


def order(i: int) -> dict[str, Any]:
    """A valid order, number `i` (its id and created_at are derived from `i`)."""
    created = START + timedelta(seconds=i)
    return {
        "order_id": str(uuid.UUID(int=i + 1)),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "channel": ("web", "ios", "android")[i % 3],
        "customer": {"customer_id": f"C{i:08d}", "email": f"user{i}@example.com", "country": "DE"},
        "line_items": [
            {
                "sku": f"SKU-{j}",
                "quantity": j + 1,
                "unit_price": {"amount_minor": 250, "currency": "EUR"},
            }
            for j in range(2)
        ],
        "total": {"amount_minor": 750, "currency": "EUR"},
    }


# Ways to break an order, with the failure (kind, rule) each one gives.
def _missing_channel(o: dict[str, Any]) -> None:
    del o["channel"]


def _bad_email(o: dict[str, Any]) -> None:
    o["customer"]["email"] = "not an email"


def _mixed_currency(o: dict[str, Any]) -> None:
    o["line_items"][0]["unit_price"]["currency"] = "USD"


def _shipped_early(o: dict[str, Any]) -> None:
    o["shipped_at"] = "2025-12-31T00:00:00Z"


BREAKS = {
    "missing_channel": (_missing_channel, ("schema", "required")),
    "bad_email": (_bad_email, ("schema", "format")),
    "mixed_currency": (_mixed_currency, ("rule", "line_items_share_currency")),
    "shipped_early": (_shipped_early, ("rule", "shipped_after_created")),
    "not_json": (None, ("parse", "json")),
}


def broken(i: int, how: str) -> bytes:
    """Order `i` broken the way `how` names (a key of BREAKS), as the bytes to send."""
    if how == "not_json":
        return b"{not json " + str(i).encode()
    change, _ = BREAKS[how]
    o = copy.deepcopy(order(i))
    assert change is not None
    change(o)
    return orjson.dumps(o)


def mixed_stream(n: int, every: int = 10) -> tuple[list[Message], dict[int, str]]:
    """`n` messages keyed ``k<i>``; each `every`-th is broken (cycling through BREAKS).

    Returns the messages and {i: how} of the broken ones.
    """
    kinds = list(BREAKS)
    messages: list[Message] = []
    bad: dict[int, str] = {}
    for i in range(n):
        if i % every == every - 1:
            how = kinds[len(bad) % len(kinds)]
            bad[i] = how
            value = broken(i, how)
        else:
            value = orjson.dumps(order(i))
        messages.append((f"k{i}".encode(), value, [("trace", f"t{i}".encode())]))
    return messages, bad
