"""ValidatingConsumer against a real broker: routing, order, DLQ headers, reports, commits."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError

from contracts import load_file
from enforcers.contract_source import ContractSource
from enforcers.kafka import SendFailed, ValidatingConsumer, ValidRecord, run_bridge
from enforcers.reporting import BreachReporter
from tests.kafka.helpers import (
    BREAKS,
    ORDERS_FILE,
    START,
    committed,
    create_topics,
    end_offsets,
    headers_of,
    mixed_stream,
    order,
    produce,
    read_all,
)
from tests.processes import free_port

pytestmark = pytest.mark.timeout(120)


def settings(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """Consumer settings for tests: fast group joins, start at the beginning."""
    return {
        "bootstrap_servers": bootstrap,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 2000,
        "consumer_timeout_ms": 1500,
        **extra,
    }


def orders_source(version: int | None = 4, global_id: int | None = 17) -> ContractSource:
    return ContractSource.from_contract(load_file(str(ORDERS_FILE)), version, global_id=global_id)


def number(key: bytes | None) -> int:
    assert key is not None
    return int(key[1:])


def test_valid_records_in_order_invalid_ones_dead_lettered_and_reported(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=3)
    messages, bad = mixed_stream(600, every=10)  # 60 invalid: 12 for each way of breaking
    warned = {i for i in range(0, 600, 50) if i not in bad}
    for i in warned:  # valid, with a warning (total_is_positive)
        o = order(i)
        o["total"]["amount_minor"] = 0
        messages[i] = (messages[i][0], orjson.dumps(o), messages[i][2])
    produce(kafka_broker, topic, messages)
    sent = {m.key: m for m in read_all(kafka_broker, topic)}

    batches: list[Any] = []
    reporter = BreachReporter(
        batches.append, source=group, spool_dir=tmp_path / "spool", flush_interval=3600
    )
    got: list[ValidRecord] = []
    with ValidatingConsumer(
        topic,
        contract=orders_source(),
        group_id=group,
        dlq_topic=dlq,
        reporter=reporter,
        commit_every=64,
        **settings(kafka_broker),
    ) as consumer:
        got.extend(consumer)
        stats = consumer.stats
    assert reporter.close()

    # The application got every valid record once, in order within each partition.
    valid = [i for i in range(600) if i not in bad]
    assert sorted(number(r.key) for r in got) == valid
    by_partition: dict[int, list[ValidRecord]] = {}
    for record in got:
        by_partition.setdefault(record.partition, []).append(record)
    for records in by_partition.values():
        offsets = [r.offset for r in records]
        assert offsets == sorted(offsets)
        assert [number(r.key) for r in records] == sorted(number(r.key) for r in records)
    for record in got:
        i = number(record.key)
        assert record.value == orjson.loads(messages[i][1] or b"")
        assert (record.contract.name, record.version, record.schema_id) == (
            "orders.created",
            4,
            17,
        )
        assert [w.rule for w in record.warnings] == (["total_is_positive"] if i in warned else [])
    assert (stats.records, stats.valid, stats.invalid) == (600, 540, 60)

    # Every invalid record is in the DLQ, as it was, with the reasons and its origin.
    dead = read_all(kafka_broker, dlq)
    assert sorted(number(m.key) for m in dead) == sorted(bad)
    for message in dead:
        i = number(message.key)
        original = sent[message.key]
        headers = headers_of(message)
        assert message.value == messages[i][1]
        assert message.timestamp == original.timestamp
        assert headers["trace"] == f"t{i}".encode()
        assert headers["accord.contract"] == b"orders.created"
        assert headers["accord.version"] == b"4"
        assert headers["accord.schema_id"] == b"17"
        assert headers["accord.source.topic"] == topic.encode()
        assert headers["accord.source.partition"] == str(original.partition).encode()
        assert headers["accord.source.offset"] == str(original.offset).encode()
        assert headers["accord.source.timestamp"] == str(original.timestamp).encode()
        failures = orjson.loads(headers["accord.failures"])
        kind, rule = BREAKS[bad[i]][1]
        assert [(f["kind"], f["rule"]) for f in failures] == [(kind, rule)]
        if bad[i] == "bad_email":  # a PII value never leaves in a message
            assert "not an email" not in failures[0]["message"]

    # The reports count exactly: every record observed, N failures per rule.
    observations = [o for batch in batches for o in batch["observations"]]
    assert sum(o["records"] for o in observations) == 600
    assert sum(o["invalid"] for o in observations) == 60
    assert sum(o["valid"] for o in observations) == 540
    assert {o["version"] for o in observations} == {4}
    assert max(o["max_event_time"] for o in observations) == (
        (START + timedelta(seconds=max(valid))).isoformat().replace("+00:00", "Z")
    )
    counts: Counter[tuple[str, str]] = Counter()
    for batch in batches:
        assert batch["source"] == group
        for breach in batch["breaches"]:
            counts[breach["kind"], breach["rule"]] += breach["count"]
    assert counts == {
        **{kind_rule: 12 for _, kind_rule in BREAKS.values()},
        ("rule", "total_is_positive"): len(warned),
    }

    # Everything handled is committed.
    assert committed(kafka_broker, group, topic) == end_offsets(kafka_broker, topic)


def test_commits_what_was_handled_and_redelivers_the_record_in_hand(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    produce(
        kafka_broker, topic, [(f"k{i}".encode(), orjson.dumps(order(i)), []) for i in range(30)]
    )
    options = {"contract": orders_source(), "group_id": group, "dlq_topic": dlq}

    # Leaving the loop normally: the last record was handled, and is committed.
    with ValidatingConsumer(topic, **options, **settings(kafka_broker)) as consumer:
        first = [number(r.key) for _, r in zip(range(10), consumer, strict=False)]
    assert first == list(range(10))
    assert committed(kafka_broker, group, topic) == {0: 10}

    # An exception while handling a record: that one is not committed.
    with (
        pytest.raises(RuntimeError, match="handler failed"),
        ValidatingConsumer(topic, **options, **settings(kafka_broker)) as consumer,
    ):
        for record in consumer:
            if number(record.key) == 14:
                raise RuntimeError("handler failed")
    assert committed(kafka_broker, group, topic) == {0: 14}

    with ValidatingConsumer(topic, **options, **settings(kafka_broker)) as consumer:
        rest = [number(r.key) for r in consumer]
    assert rest == list(range(14, 30))
    assert committed(kafka_broker, group, topic) == {0: 30}


def test_waiting_stays_in_the_group_past_the_poll_interval(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    # What the bridge does while the registry is away: wait, and keep its partitions.
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    produce(
        kafka_broker, topic, [(f"k{i}".encode(), orjson.dumps(order(i)), []) for i in range(10)]
    )
    options = {"contract": orders_source(), "group_id": group, "dlq_topic": dlq}
    patient = settings(kafka_broker, max_poll_interval_ms=3000, consumer_timeout_ms=3000)
    with ValidatingConsumer(topic, **options, **patient) as consumer:
        first = [number(r.key) for _, r in zip(range(5), consumer, strict=False)]
        consumer.wait(7)  # more than twice the poll interval, taking no records
        rest = [number(r.key) for r in consumer]
    assert first + rest == list(range(10))  # none lost, none again
    assert committed(kafka_broker, group, topic) == {0: 10}


def test_a_rebalance_while_waiting_loses_no_buffered_record(kafka_broker: str, names: Any) -> None:
    # Another member joins while the consumer waits with records of both partitions
    # buffered and one out: both are revoked and one given back (which one varies). The
    # records buffered for the one that left must not be handed out; those of the one
    # given back must be read again (kafka-python keeps its position past them).
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=2)
    produce(
        kafka_broker, topic, [(f"k{i}".encode(), orjson.dumps(order(i)), []) for i in range(60)]
    )
    options = {"contract": orders_source(), "group_id": group, "dlq_topic": dlq}
    joined: list[int] = []
    with ValidatingConsumer(topic, **options, **settings(kafka_broker)) as consumer:
        first = [number(r.key) for _, r in zip(range(5), consumer, strict=False)]
        joiner = KafkaConsumer(
            topic,
            group_id=group,
            enable_auto_commit=False,
            **{k: v for k, v in settings(kafka_broker).items() if k != "consumer_timeout_ms"},
        )
        done = threading.Event()

        def join() -> None:
            while not done.is_set():
                for messages in joiner.poll(timeout_ms=200).values():
                    joined.extend(number(m.key) for m in messages)

        joining = threading.Thread(target=join)
        joining.start()
        try:
            deadline = time.monotonic() + 30
            while not joiner.assignment() and time.monotonic() < deadline:
                consumer.wait(0.5)
            assert joiner.assignment(), "the group did not rebalance"
            rest = [number(r.key) for r in consumer]
            time.sleep(2)  # the joiner reads its partition
        finally:
            done.set()
            joining.join(10)
            joiner.close()
    mine = first + rest
    assert len(mine) == len(set(mine))  # nothing twice here
    # Nothing of a partition that went to the joiner, but the record that was in hand.
    assert len(set(mine) & set(joined)) <= 1, (mine, joined)
    assert sorted(set(mine) | set(joined)) == list(range(60))  # nothing lost


class _RefusingProducer(KafkaProducer):  # type: ignore[misc]
    """Refuses its first send, as kafka-python does when topic metadata does not come in time."""

    refused = 0

    def send(self, *args: Any, **kwargs: Any) -> Any:
        if not self.refused:
            self.refused += 1
            raise KafkaTimeoutError("Failed to update metadata after 60.0 secs.")
        return super().send(*args, **kwargs)


def test_a_dead_letter_that_cannot_start_is_tried_again_and_counted_once(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    messages, bad = mixed_stream(40, every=10)
    produce(kafka_broker, topic, messages)
    batches: list[Any] = []
    reporter = BreachReporter(
        batches.append, source=group, spool_dir=tmp_path / "spool", flush_interval=3600
    )
    producer = _RefusingProducer(bootstrap_servers=kafka_broker)
    got, refusals = [], 0
    with ValidatingConsumer(
        topic,
        contract=orders_source(),
        group_id=group,
        dlq_topic=dlq,
        reporter=reporter,
        producer=producer,
        **settings(kafka_broker),
    ) as consumer:
        while True:
            try:  # the application carries on after the error, as a long-running one would
                got.extend(number(record.key) for record in consumer)
                break
            except KafkaTimeoutError:
                refusals += 1
        stats = consumer.stats
    producer.close()
    assert reporter.close()

    assert refusals == 1
    assert got == [i for i in range(40) if i not in bad]
    # The refused record was written on the next try, and counted once.
    assert sorted(number(m.key) for m in read_all(kafka_broker, dlq)) == sorted(bad)
    assert (stats.records, stats.valid, stats.invalid) == (40, 36, 4)
    observations = [o for batch in batches for o in batch["observations"]]
    assert sum(o["records"] for o in observations) == 40
    assert sum(o["invalid"] for o in observations) == 4
    assert sum(b["count"] for batch in batches for b in batch["breaches"]) == 4
    assert committed(kafka_broker, group, topic) == {0: 40}


def test_counts_of_committed_records_survive_a_crashed_reporter(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    messages, bad = mixed_stream(30, every=10)
    produce(kafka_broker, topic, messages)
    spool = tmp_path / "spool"
    sent: list[Any] = []
    reporter = BreachReporter(sent.append, source=group, spool_dir=spool, flush_interval=3600)
    with ValidatingConsumer(
        topic,
        contract=orders_source(),
        group_id=group,
        dlq_topic=dlq,
        reporter=reporter,
        **settings(kafka_broker),
    ) as consumer:
        assert len(list(consumer)) == 30 - len(bad)
        failures = sum(consumer.stats.per_rule.values())
    assert committed(kafka_broker, group, topic) == {0: 30}
    # The reporter never flushed (it "crashed"): its spool holds what was committed.
    assert not sent and reporter.pending >= 1
    successor = BreachReporter(sent.append, source=group, spool_dir=spool)
    assert successor.flush()
    assert sum(o["records"] for batch in sent for o in batch["observations"]) == 30
    assert sum(b["count"] for batch in sent for b in batch["breaches"]) == failures >= len(bad)


def test_a_record_too_large_for_the_dlq_is_dead_lettered_without_its_value(
    kafka_broker: str, names: Any
) -> None:
    # The DLQ producer takes less than the source topic held (here 4,000 bytes): retrying
    # the record would stall its partition for good.
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=1)
    big = orjson.dumps({**order(1), "channel": "x" * 6000})  # invalid: not in the enum
    produce(
        kafka_broker,
        topic,
        [(f"k{i}".encode(), big if i == 1 else orjson.dumps(order(i)), []) for i in range(3)],
    )
    with ValidatingConsumer(
        topic,
        contract=orders_source(),
        group_id=group,
        dlq_topic=dlq,
        producer_config={"message.max.bytes": 4000},
        **settings(kafka_broker),
    ) as consumer:
        assert [number(record.key) for record in consumer] == [0, 2]
    [letter] = read_all(kafka_broker, dlq)
    headers = headers_of(letter)
    assert letter.key == b"k1" and letter.value is None
    assert headers["accord.value.omitted"] == str(len(big)).encode()
    assert (headers["accord.source.topic"], headers["accord.source.offset"]) == (
        topic.encode(),
        b"1",
    )
    [failure] = orjson.loads(headers["accord.failures"])
    assert failure["rule"] == "enum" and len(failure["message"]) <= 512
    assert committed(kafka_broker, group, topic) == {0: 3}


def test_a_valid_record_too_large_to_forward_is_diverted_to_the_dlq(
    kafka_broker: str, names: Any
) -> None:
    # The bridge's writer takes less than the source topic held: forwarding the record
    # again and again would stop its partition for good.
    topic, valid, dlq, group = names("in"), names("valid"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, valid, dlq, partitions=1)
    large = order(1)
    large["line_items"] = large["line_items"] * 100  # valid: at most 500 items
    big = orjson.dumps(large)
    assert len(big) > 4000
    produce(
        kafka_broker,
        topic,
        [(f"k{i}".encode(), big if i == 1 else orjson.dumps(order(i)), []) for i in range(3)],
    )
    consumer = ValidatingConsumer(
        topic,
        contract=orders_source(),
        group_id=group,
        dlq_topic=dlq,
        producer_config={"message.max.bytes": 4000},
        **settings(kafka_broker),
    )
    stats = run_bridge(consumer, valid)
    assert (stats.valid, stats.invalid, stats.diverted) == (3, 0, 1)
    assert [m.key for m in read_all(kafka_broker, valid)] == [b"k0", b"k2"]
    [letter] = read_all(kafka_broker, dlq)
    headers = headers_of(letter)
    assert headers["accord.diverted"] == f"too large for {valid} ({len(big)} bytes)".encode()
    assert letter.value is None and headers["accord.value.omitted"] == str(len(big)).encode()
    assert orjson.loads(headers["accord.failures"]) == []
    assert committed(kafka_broker, group, topic) == {0: 3}


def test_a_dead_letter_never_acknowledged_stops_the_commits(kafka_broker: str, names: Any) -> None:
    topic, group = names("in"), names("group")
    create_topics(kafka_broker, topic, partitions=1)
    messages, bad = mixed_stream(40, every=10)
    produce(kafka_broker, topic, messages)
    # Dead letters go to a broker that is not there: none is acknowledged within send_timeout.
    nowhere = {"bootstrap.servers": f"127.0.0.1:{free_port()}"}
    got: list[int] = []
    with (
        pytest.raises(SendFailed, match="could not be written"),
        ValidatingConsumer(
            topic,
            contract=orders_source(),
            group_id=group,
            dlq_topic=names("dlq"),
            producer_config=nowhere,
            send_timeout=1.0,
            commit_every=5,
            **settings(kafka_broker),
        ) as consumer,
    ):
        got.extend(number(record.key) for record in consumer)
    first_bad = min(bad)
    assert got[:first_bad] == list(range(first_bad))
    # Nothing at or after the unwritten dead letter was committed: it is read again.
    assert committed(kafka_broker, group, topic).get(0, 0) <= first_bad


def test_partitions_revoked_in_a_rebalance_are_committed_first(
    kafka_broker: str, names: Any, tmp_path: Path
) -> None:
    """Nothing is committed by count or time here: only the revoke listener commits, so a
    record delivered twice would show that it did not."""
    topic, dlq, group = names("in"), names("dlq"), names("group")
    create_topics(kafka_broker, topic, dlq, partitions=4)
    messages = [(f"k{i}".encode(), orjson.dumps(order(i)), []) for i in range(400)]
    produce(kafka_broker, topic, messages[:200])
    seen: dict[str, list[int]] = {"a": [], "b": []}
    consumers: dict[str, ValidatingConsumer] = {}
    ready = {name: threading.Event() for name in seen}

    def run(name: str) -> None:
        consumer = ValidatingConsumer(
            topic,
            contract=orders_source(),
            group_id=group,
            dlq_topic=dlq,
            commit_every=10**9,
            commit_interval_ms=10**9,
            **settings(kafka_broker, consumer_timeout_ms=float("inf")),
        )
        consumers[name] = consumer
        ready[name].set()
        with consumer:
            for record in consumer:
                seen[name].append(number(record.key))

    a = threading.Thread(target=run, args=("a",))
    a.start()
    deadline = time.monotonic() + 30
    while len(seen["a"]) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(seen["a"]) == 200
    b = threading.Thread(target=run, args=("b",))
    b.start()
    # Wait for the rebalance to give b some partitions.
    ready["b"].wait(10)
    deadline = time.monotonic() + 30
    while not consumers["b"].consumer.assignment() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert consumers["b"].consumer.assignment()
    produce(kafka_broker, topic, messages[200:])
    deadline = time.monotonic() + 30
    while len(seen["a"]) + len(seen["b"]) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    for consumer in consumers.values():
        consumer.stop()
    a.join(10)
    b.join(10)
    everything = seen["a"] + seen["b"]
    duplicates = len(everything) - len(set(everything))
    print(f"a: {len(seen['a'])}, b: {len(seen['b'])}, duplicates: {duplicates}")
    assert sorted(everything) == list(range(400))
    assert seen["b"], "b got no records after the rebalance"
    assert committed(kafka_broker, group, topic) == end_offsets(kafka_broker, topic)
