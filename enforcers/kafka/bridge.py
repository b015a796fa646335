"""The validating bridge behind ``accord enforce kafka``: topic in, valid topic + DLQ out.

Valid records are produced to the valid topic (value, key and timestamp as they were, the
headers plus ``accord.contract`` / ``accord.version``), invalid ones to the DLQ by the
`ValidatingConsumer`. A consumed record is committed only once its produce was
acknowledged, so a crash loses nothing and duplicates at most two commit batches;
`stop` (SIGTERM) finishes the record in hand, flushes, commits and returns.
"""

from __future__ import annotations

from enforcers.kafka.common import contract_headers, without_accord
from enforcers.kafka.consumer import ConsumerStats, ValidatingConsumer

__all__ = ["run_bridge"]


def run_bridge(consumer: ValidatingConsumer, valid_topic: str) -> ConsumerStats:
    """Forward `consumer`'s valid records to `valid_topic` until it stops; then close it.

    Returns the consumer's counts. The consumer is closed (its last commit made) even
    when forwarding fails; an exception leaves the record in hand uncommitted.
    """
    producer = consumer.producer
    try:
        for record in consumer:
            message = record.message
            headers = without_accord(message.headers)
            headers.extend(contract_headers(record.contract.name, record.version, record.schema_id))
            timestamp = message.timestamp
            consumer.track(
                producer.send(
                    valid_topic,
                    value=message.value,
                    key=message.key,
                    headers=headers,
                    timestamp_ms=timestamp if timestamp is not None and timestamp >= 0 else None,
                )
            )
    except BaseException:
        consumer.close(last_handled=False)
        raise
    consumer.close()
    return consumer.stats
