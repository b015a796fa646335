"""The validating bridge behind ``accord enforce kafka``: topic in, valid topic + DLQ out.

Valid records are produced to the valid topic (value, key and timestamp as they were, the
headers plus ``accord.contract`` / ``accord.version``), invalid ones to the DLQ by the
`ValidatingConsumer`; so is a valid record the writer refuses for its size
(`ValidatingConsumer.divert`), rather than tried forever. A consumed record is committed
only once its produce was acknowledged, so a crash loses nothing and duplicates at most two
commit batches; `stop` (SIGTERM) finishes the record in hand, flushes, commits and returns.

While the registry cannot be reached to look up a framed record's schema id, or answers
with a 5xx or 429, the bridge waits and tries that record again (backing off up to
`MAX_BACKOFF` seconds, from the start again once a record went through), as it does for
any record it cannot yet handle: nothing is skipped, nothing is dead-lettered for it. It
stays in its consumer group while it waits (`ValidatingConsumer.wait`), however long.
"""

from __future__ import annotations

import logging

from enforcers.kafka.common import contract_headers, too_large, without_accord
from enforcers.kafka.consumer import ConsumerStats, ValidatingConsumer
from enforcers.registry_client import RegistryError

__all__ = ["MAX_BACKOFF", "run_bridge"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


def _transient(exc: RegistryError) -> bool:
    """Whether waiting may help: unreachable, overloaded (429) or failing (5xx)."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def run_bridge(consumer: ValidatingConsumer, valid_topic: str) -> ConsumerStats:
    """Forward `consumer`'s valid records to `valid_topic` until it stops; then close it.

    Returns the consumer's counts. The consumer is closed (its last commit made) even
    when forwarding fails; an exception leaves the record in hand uncommitted.
    """
    backoff, handled = 0.5, -1
    try:
        while True:
            try:
                _forward(consumer, valid_topic)
                break
            except RegistryError as exc:
                if not _transient(exc):
                    raise  # refused: waiting would not help
                if consumer.stopping:
                    break  # what was handled is committed on close; this record was not
                if consumer.stats.records != handled:  # records went through since: anew
                    backoff, handled = 0.5, consumer.stats.records
                state = "unreachable" if exc.status is None else "unavailable"
                log.warning("registry %s (%s); trying again in %.1f s", state, exc, backoff)
                consumer.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
    except BaseException:
        consumer.close(last_handled=False)
        raise
    consumer.close()
    return consumer.stats


def _forward(consumer: ValidatingConsumer, valid_topic: str) -> None:
    producer = consumer.producer
    for record in consumer:
        message = record.message
        headers = without_accord(message.headers)
        headers.extend(contract_headers(record.contract.name, record.version, record.schema_id))
        timestamp = message.timestamp
        try:
            send = producer.send(
                valid_topic,
                value=message.value,
                key=message.key,
                headers=headers,
                timestamp_ms=timestamp if timestamp is not None and timestamp >= 0 else None,
            )
        except Exception as exc:
            if not too_large(exc):
                raise
            # Refused for its size (the writer's message.max.bytes): trying again would stop
            # the partition for good. It goes to the DLQ, as the README says.
            size = len(message.value or b"")
            consumer.divert(record, f"too large for {valid_topic} ({size} bytes)")
            continue
        consumer.track(send)
