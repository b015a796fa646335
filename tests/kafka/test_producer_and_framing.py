"""ValidatingProducer (raise and DLQ modes, framing) and Confluent-framed consumption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from contracts import Severity, load_file
from enforcers.contract_source import ContractSource
from enforcers.kafka import (
    ContractViolation,
    RecordWriter,
    ValidatingConsumer,
    ValidatingProducer,
    frame,
)
from enforcers.kafka.common import MAX_FAILURES_HEADER, failures_headers
from enforcers.record_validator import Failure
from enforcers.reporting import BreachReporter
from tests.conftest import EXAMPLES
from tests.kafka.helpers import (
    ORDERS_FILE,
    broken,
    create_topics,
    headers_of,
    order,
    produce,
    read_all,
)
from tests.kafka.test_consumer import settings

pytestmark = pytest.mark.timeout(120)

WRITERS = ["kafka-python", "librdkafka"]


def writer(kind: str, bootstrap: str) -> dict[str, Any]:
    """ValidatingProducer arguments: its own KafkaProducer, or a RecordWriter of ours."""
    return {"producer": RecordWriter(bootstrap)} if kind == "librdkafka" else {}


@pytest.mark.parametrize("kind", WRITERS)
def test_raise_mode_keeps_bad_records_off_the_topic(
    kafka_broker: str, names: Any, kind: str
) -> None:
    topic = names("out")
    create_topics(kafka_broker, topic, partitions=2)
    with ValidatingProducer(
        str(ORDERS_FILE), bootstrap_servers=kafka_broker, **writer(kind, kafka_broker)
    ) as producer:
        producer.send(topic, order(1), key="k1", partition=1)
        with pytest.raises(ContractViolation) as caught:
            producer.send(topic, broken(2, "mixed_currency"), key="k2")
        assert caught.value.contract == "orders.created"
        assert [f.rule for f in caught.value.failures] == ["line_items_share_currency"]
        with pytest.raises(ContractViolation, match="required"):
            producer.send(topic, broken(3, "missing_channel"))
        with pytest.raises(ContractViolation, match="json"):
            producer.send(topic, b"{oops")
        producer.send(topic, orjson.dumps(order(4)).decode(), key=b"k4")  # JSON text is fine
        warned = order(5)
        warned["total"]["amount_minor"] = 0  # only a warning: sent
        producer.send(topic, warned, key=b"k5", partition=1).get(timeout=10)
    sent = {m.key: m for m in read_all(kafka_broker, topic)}
    assert {key: orjson.loads(m.value) for key, m in sent.items()} == {
        b"k1": order(1),
        b"k4": order(4),
        b"k5": warned,
    }
    assert sent[b"k1"].partition == sent[b"k5"].partition == 1  # as asked
    assert sent[b"k1"].offset < sent[b"k5"].offset


@pytest.mark.parametrize("kind", WRITERS)
def test_dlq_mode_routes_bad_records_and_reports(
    kafka_broker: str, names: Any, tmp_path: Path, kind: str
) -> None:
    topic, dlq = names("out"), names("dlq")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    batches: list[Any] = []
    reporter = BreachReporter(batches.append, source="checkout", spool_dir=tmp_path / "spool")
    source = ContractSource.from_file(ORDERS_FILE, version=2, global_id=5)
    with ValidatingProducer(
        source,
        bootstrap_servers=kafka_broker,
        on_invalid="dlq",
        dlq_topic=dlq,
        reporter=reporter,
        **writer(kind, kafka_broker),
    ) as producer:
        for i in range(20):
            value: Any = broken(i, "shipped_early") if i % 4 == 3 else order(i)
            future = producer.send(topic, value, key=f"k{i}", headers=[("trace", b"x")])
            acknowledged = future.get(timeout=10)  # a RecordWriter's Delivery gives None
            if kind == "kafka-python":  # the future is the send that was made
                assert acknowledged.topic == (dlq if i % 4 == 3 else topic)
    reporter.close()
    assert [m.key for m in read_all(kafka_broker, topic)] == [
        f"k{i}".encode() for i in range(20) if i % 4 != 3
    ]
    dead = read_all(kafka_broker, dlq)
    assert [m.key for m in dead] == [f"k{i}".encode() for i in range(3, 20, 4)]
    for message in dead:
        headers = headers_of(message)
        assert message.value == broken(int(message.key[1:]), "shipped_early")
        assert headers["trace"] == b"x"
        assert headers["accord.target.topic"] == topic.encode()
        assert (headers["accord.contract"], headers["accord.version"]) == (b"orders.created", b"2")
        assert headers["accord.schema_id"] == b"5"
        assert [f["rule"] for f in orjson.loads(headers["accord.failures"])] == [
            "shipped_after_created"
        ]
    observations = [o for b in batches for o in b["observations"]]
    assert (sum(o["records"] for o in observations), sum(o["invalid"] for o in observations)) == (
        20,
        5,
    )
    assert sum(b["count"] for batch in batches for b in batch["breaches"]) == 5


def test_confluent_framing_end_to_end(kafka_broker: str, names: Any, tmp_path: Path) -> None:
    """Framed records are checked against the version their schema id names."""
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=2)
    orders = load_file(str(ORDERS_FILE))
    payments = load_file(str(EXAMPLES / "payments.settled.yaml"))
    # Until the registry serves ids, the id -> version mapping is given explicitly.
    ids = {17: (orders, 4), 23: (payments, 1)}

    with ValidatingProducer(
        ContractSource.from_contract(orders, 4, global_id=17),
        bootstrap_servers=kafka_broker,
        framing=True,
    ) as producer:
        for i in range(10):
            producer.send(topic, order(i), key=f"ok{i}")
    bad = {
        b"unknown-id": frame(99, orjson.dumps(order(50))),
        b"other-contract": frame(23, orjson.dumps(order(51))),
        b"bad-payload": frame(17, broken(52, "mixed_currency")),
        b"truncated": b"\x00\x00\x01",
    }
    produce(
        kafka_broker,
        topic,
        [
            *[(key, value, []) for key, value in bad.items()],
            (b"plain", orjson.dumps(order(53)), []),  # unframed JSON: fine with framing="auto"
        ],
    )
    framed = read_all(kafka_broker, topic)
    assert all(m.value[:5] == b"\x00\x00\x00\x00\x11" for m in framed if m.key.startswith(b"ok"))

    source = ContractSource.from_contract(orders, ids=ids)  # the unframed ones: this file
    with ValidatingConsumer(
        topic, contract=source, group_id=group, dlq_topic=dlq, **settings(kafka_broker)
    ) as consumer:
        got = {r.key: r for r in consumer}
    assert sorted(got) == sorted([f"ok{i}".encode() for i in range(10)] + [b"plain"])
    assert all(got[f"ok{i}".encode()].value == order(i) for i in range(10))
    assert {(r.version, r.schema_id) for k, r in got.items() if k != b"plain"} == {(4, 17)}
    assert (got[b"plain"].version, got[b"plain"].schema_id) == (4, 17)  # found in `ids`

    dead = {m.key: m for m in read_all(kafka_broker, dlq)}
    assert sorted(dead) == sorted(bad)
    rules = {
        key: [f["rule"] for f in orjson.loads(headers_of(m)["accord.failures"])]
        for key, m in dead.items()
    }
    assert rules == {
        b"unknown-id": ["schema_id"],
        b"other-contract": ["schema_id"],
        b"bad-payload": ["line_items_share_currency"],
        b"truncated": ["framing"],
    }
    assert headers_of(dead[b"unknown-id"])["accord.schema_id"] == b"99"
    assert headers_of(dead[b"bad-payload"])["accord.version"] == b"4"
    assert all(dead[key].value == value for key, value in bad.items())


def test_the_failures_header_stays_small() -> None:
    failure = Failure("orders.created", 4, "schema", "enum", "/channel", "m" * 2000, Severity.ERROR)
    [(name, value)] = failures_headers([failure])
    assert name == "accord.failures"
    [listed] = orjson.loads(value)
    assert len(listed["message"]) == 512 and listed["rule"] == "enum"
    many = failures_headers([failure] * 200)
    assert len(many[0][1]) <= MAX_FAILURES_HEADER
    shown = len(orjson.loads(many[0][1]))
    assert many[1] == ("accord.failures.omitted", str(200 - shown).encode()) and shown > 10
