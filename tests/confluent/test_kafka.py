"""A full round trip through a real broker: confluent-kafka's `JSONSerializer` registers the
schema with Accord and frames each message with its id; `JSONDeserializer` resolves the id
against Accord and reads the messages back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import RuleSet, SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from tests.confluent.conftest import json_schema, record
from tests.kafka.helpers import create_topics

ORDER = record("id", closed=True, id="string", amount="number")
WIDER = record("id", closed=True, id="string", amount="number", note="string")


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def _consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])  # no group rebalance
    values: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            value = message.value()
            assert value is not None
            values.append(value)
    finally:
        consumer.close()
    assert len(values) == count, f"read {len(values)} of {count} messages"
    return values


def test_serializer_and_deserializer_round_trip(
    sr: SchemaRegistryClient, kafka_broker: str, registry_url: str
) -> None:
    topic = f"orders-{uuid.uuid4().hex[:8]}"
    create_topics(kafka_broker, topic, partitions=1)
    context = SerializationContext(topic, MessageField.VALUE)
    v1 = JSONSerializer(json.dumps(ORDER), sr)
    v2 = JSONSerializer(json.dumps(WIDER), sr)
    orders: list[dict[str, Any]] = [
        {"id": "a", "amount": 10.5},
        {"id": "b", "amount": 3},
        {"id": "c", "amount": 7, "note": "gift"},
    ]
    framed = [v1(orders[0], context), v1(orders[1], context), v2(orders[2], context)]
    subject = f"{topic}-value"
    ids = [sr.lookup_schema(subject, json_schema(s)).schema_id for s in (ORDER, WIDER)]
    assert sr.get_versions(subject) == [1, 2]
    _produce(kafka_broker, topic, [value for value in framed if value is not None])

    fresh = SchemaRegistryClient({"url": registry_url})  # nothing cached: ids go to Accord
    deserialize = JSONDeserializer(None, schema_registry_client=fresh)
    read = _consume(kafka_broker, topic, 3)
    for value, schema_id in zip(read, [ids[0], ids[0], ids[1]], strict=True):
        assert value[0] == 0 and int.from_bytes(value[1:5], "big") == schema_id
    assert [deserialize(value, context) for value in read] == orders
    fresh.close()


def test_cel_rules_registered_with_the_schema_run_in_the_serializer(
    sr: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    CelExecutor.register()
    name = subject("value")
    rules = RuleSet.from_dict(
        {
            "domainRules": [
                {
                    "name": "positive_amount",
                    "kind": "CONDITION",
                    "mode": "WRITE",
                    "type": "CEL",
                    "expr": "message.amount > 0",
                }
            ]
        }
    )
    sr.register_schema(name, json_schema(ORDER, rule_set=rules))
    serialize = JSONSerializer(
        json.dumps(ORDER),
        sr,
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    topic = name.removesuffix("-value")
    context = SerializationContext(topic, MessageField.VALUE)
    assert serialize({"id": "a", "amount": 5}, context) is not None
    with pytest.raises(SerializationError) as refused:
        serialize({"id": "b", "amount": -1}, context)
    assert "message.amount > 0" in str(refused.value.__cause__)
