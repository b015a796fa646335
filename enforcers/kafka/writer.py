"""`RecordWriter`: the producer that writes dead letters and the bridge's valid records.

It runs on librdkafka (confluent-kafka). kafka-python's produce path is pure Python: 40-60 us
of the calling thread per record, and its IO thread builds, compresses and checksums every
batch while holding the GIL (60-200 us per record, depending on how many share a request),
which a consumer in the same process then waits for. librdkafka does that work in C threads
of its own; a `send` costs the caller 4 us (~25 us when interleaved with a busy consumer's
work, which leaves the caches cold).
`send` returns a `Delivery`, which answers like kafka-python's futures (``is_done``,
``failed()``, ``exception``, ``get(timeout)``), so the consumer's commit logic treats both
alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import confluent_kafka

from enforcers.kafka.common import Headers

__all__ = ["WRITER_CONFIG", "Delivery", "RecordWriter"]

log = logging.getLogger(__name__)

WRITER_CONFIG: Mapping[str, Any] = {
    "acks": "all",
    # Batches are built in librdkafka's own threads: a short linger is cheap, and records
    # forwarded by the bridge are not held back for long.
    "linger.ms": 50,
    # Any reader of the DLQ can decompress it: kafka-python, for one, needs extra packages
    # for lz4, snappy and zstd, and none for gzip.
    "compression.type": "gzip",
    # One request in flight per broker: a retry cannot reorder records within a partition.
    "max.in.flight.requests.per.connection": 1,
    # Keys go to the partitions Java clients and kafka-python choose (murmur2).
    "partitioner": "murmur2_random",
}


class Delivery:
    """The outcome of one `RecordWriter.send`: done once the broker acknowledged or refused it.

    librdkafka reports outcomes when the producer is polled; asking `is_done` polls it.
    """

    __slots__ = ("_done", "_producer", "exception")

    def __init__(self, producer: confluent_kafka.Producer) -> None:
        self._producer = producer
        self._done = False
        self.exception: Exception | None = None

    @property
    def is_done(self) -> bool:
        if not self._done:
            self._producer.poll(0)
        return self._done

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def get(self, timeout: float | None = None) -> None:
        """Wait until done; the broker's error if the write failed, TimeoutError if not done."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"record not acknowledged within {timeout} s")
            self._producer.poll(left)
        if self.exception is not None:
            raise self.exception

    def _complete(self, error: confluent_kafka.KafkaError | None, _message: Any) -> None:
        self._done = True
        if error is not None:
            self.exception = confluent_kafka.KafkaException(error)


class RecordWriter:
    """Writes records to Kafka: `send`, then `flush` or each `Delivery`'s `get` to wait.

    `config` adds librdkafka settings (``security.protocol``, ``sasl.mechanism``...) to
    `WRITER_CONFIG`, or overrides them. `max_block` bounds how long `send` waits for room
    when librdkafka's local queue is full.
    """

    def __init__(
        self,
        bootstrap_servers: str | list[str],
        config: Mapping[str, Any] | None = None,
        *,
        max_block: float = 60.0,
    ) -> None:
        servers = (
            bootstrap_servers if isinstance(bootstrap_servers, str) else ",".join(bootstrap_servers)
        )
        self._producer = confluent_kafka.Producer(
            # librdkafka's own log goes through `logging`, not straight to stderr.
            {"bootstrap.servers": servers, **WRITER_CONFIG, **(config or {}), "logger": log}
        )
        self._max_block = max_block

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Headers | None = None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
    ) -> Delivery:
        """Queue one record; its `Delivery` tells when the broker acknowledged it.

        `partition` None leaves the choice to the partitioner (by key: murmur2).
        BufferError if the local queue stayed full for `max_block` seconds; errors of the
        arguments (an invalid topic name...) are raised at once.
        """
        delivery = Delivery(self._producer)
        # librdkafka's stubs want values typed str | bytes | None: a copy of the list says so.
        pairs: list[tuple[str, str | bytes | None]] | None = (
            None if headers is None else list(headers)
        )
        deadline = time.monotonic() + self._max_block
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=pairs,
                    timestamp=timestamp_ms or 0,  # 0: now
                    on_delivery=delivery._complete,
                    partition=-1 if partition is None else partition,  # -1: by the partitioner
                )
                break
            except BufferError:
                # The local queue is full: serving delivery reports makes room.
                if time.monotonic() >= deadline:
                    raise
                self._producer.poll(0.1)
        self._producer.poll(0)
        return delivery

    def flush(self, timeout: float | None = None) -> None:
        """Send what is queued and wait for every outcome (at most `timeout` seconds).

        Records still undelivered after that stay not done: their `Delivery` says so.
        """
        self._producer.flush(-1 if timeout is None else timeout)

    def close(self, timeout: float | None = None) -> None:
        """Flush; librdkafka's threads end when the producer is garbage-collected."""
        self.flush(timeout)
