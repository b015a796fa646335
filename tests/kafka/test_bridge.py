"""``accord enforce kafka`` as users run it: the console script in a subprocess.

Stopped with SIGTERM it drains and commits exactly what it wrote; killed with SIGKILL and
restarted it loses nothing, and duplicates at most the batch it had not committed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from enforcers.kafka import frame
from enforcers.kafka.bridge import _transient
from enforcers.registry_client import RegistryClient, RegistryError
from tests.conftest import ACCORD
from tests.kafka.helpers import (
    BREAKS,
    ORDERS_FILE,
    Tally,
    committed,
    count,
    create_topics,
    end_offsets,
    headers_of,
    mixed_stream,
    order,
    produce,
    read_all,
)
from tests.processes import free_port, running_registry

pytestmark = pytest.mark.timeout(180)

N = 5000


class Bridge:
    """One run of the bridge, its output in a log file."""

    def __init__(
        self, bootstrap: str, names: Any, log_dir: Path, *extra: str, contract: str = ""
    ) -> None:
        self.topic, self.valid, self.dlq = names("in"), names("valid"), names("dlq")
        self.group = names("group")
        self.bootstrap, self.log_dir, self.extra = bootstrap, log_dir, extra
        self.contract = contract or str(ORDERS_FILE)
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.runs += 1
        self.log = self.log_dir / f"bridge-{self.runs}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    ACCORD,
                    "enforce",
                    "kafka",
                    "--bootstrap-servers",
                    self.bootstrap,
                    "--topic",
                    self.topic,
                    "--contract",
                    self.contract,
                    "--group",
                    self.group,
                    "--valid-topic",
                    self.valid,
                    "--dlq-topic",
                    self.dlq,
                    "--session-timeout-ms",
                    "6000",
                    *self.extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """Leave no bridge behind, whatever the test did."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the bridge did not stop: {self.log.read_text()}") from None
        return code

    def outputs(self) -> int:
        """Records in the valid topic and the DLQ now (exactly)."""
        return count(self.bootstrap, self.valid, self.dlq)

    def wait_for_outputs(self, at_least: int, timeout: float = 90) -> int:
        assert self.process is not None
        tally = Tally(self.bootstrap, self.valid, self.dlq)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise AssertionError(f"the bridge exited: {self.log.read_text()}")
                written = tally.count()
                if written >= at_least or time.monotonic() > deadline:
                    return written
                time.sleep(0.1)
        finally:
            tally.close()

    def assert_all_committed(self) -> None:
        ends = end_offsets(self.bootstrap, self.topic)
        assert committed(self.bootstrap, self.group, self.topic) == ends


@pytest.fixture
def make_bridge(kafka_broker: str, names: Any, tmp_path: Path) -> Iterator[Callable[..., Bridge]]:
    made: list[Bridge] = []

    def make(*extra: str, contract: str = "") -> Bridge:
        made.append(Bridge(kafka_broker, names, tmp_path, *extra, contract=contract))
        return made[-1]

    yield make
    for bridge in made:
        bridge.kill()


def setup_stream(bridge: Bridge, n: int = N) -> dict[int, str]:
    create_topics(bridge.bootstrap, bridge.topic, bridge.valid, bridge.dlq, partitions=3)
    messages, bad = mixed_stream(n, every=10)
    produce(bridge.bootstrap, bridge.topic, messages)
    return bad


def check_outputs(bridge: Bridge, bad: dict[int, str], n: int = N) -> Counter[int]:
    """Every input record is in the valid topic or the DLQ: how often each one is there."""
    valid = read_all(bridge.bootstrap, bridge.valid)
    dead = read_all(bridge.bootstrap, bridge.dlq)
    seen: Counter[int] = Counter()
    for message in valid:
        i = int(message.key[1:])
        assert i not in bad
        headers = headers_of(message)
        assert headers["trace"] == f"t{i}".encode()
        assert headers["accord.contract"] == b"orders.created"
        seen[i] += 1
    for message in dead:
        i = int(message.key[1:])
        assert i in bad
        headers = headers_of(message)
        assert headers["accord.source.topic"] == bridge.topic.encode()
        assert headers["accord.failures"].startswith(b"[{")
        seen[i] += 1
    # Valid records keep their key, so they keep their partition and, in it, their order.
    by_partition: dict[int, list[int]] = {}
    for message in valid:
        by_partition.setdefault(message.partition, []).append(int(message.key[1:]))
    for keys in by_partition.values():
        firsts = list(dict.fromkeys(keys))  # a duplicate repeats a suffix of the partition
        assert firsts == sorted(firsts)
    missing = set(range(n)) - set(seen)
    assert not missing, f"{len(missing)} records lost, e.g. {sorted(missing)[:10]}"
    return seen


def test_sigterm_drains_commits_and_exits_0(
    kafka_broker: str, make_bridge: Callable[..., Bridge]
) -> None:
    bridge = make_bridge("--commit-every", "200")
    bad = setup_stream(bridge)
    bridge.start()
    written = bridge.wait_for_outputs(N // 4)
    assert written < N, "the bridge finished before it could be stopped mid-stream"
    assert bridge.signal(signal.SIGTERM) == 0, bridge.log.read_text()
    log = bridge.log.read_text()
    assert "SIGTERM: draining" in log and "drained:" in log, log
    # What was written is exactly what was committed: no record in between.
    written = bridge.outputs()
    assert sum(o or 0 for o in committed(kafka_broker, bridge.group, bridge.topic).values()) == (
        written
    )
    print(f"stopped after {written} of {N} records")

    bridge.start()  # carries on where it stopped
    bridge.wait_for_outputs(N)
    assert bridge.signal(signal.SIGINT) == 0, bridge.log.read_text()
    bridge.assert_all_committed()
    seen = check_outputs(bridge, bad)
    assert sum(seen.values()) == N, "duplicates after a clean stop"


@pytest.mark.slow
def test_sigkill_mid_stream_loses_nothing(
    kafka_broker: str, make_bridge: Callable[..., Bridge]
) -> None:
    commit_every = 700  # not a multiple of a poll batch (500): kills land mid-batch
    bridge = make_bridge(
        "--commit-every",
        str(commit_every),
        "--commit-interval-ms",
        "60000",
    )
    n = 3 * N  # long enough that the kill lands mid-stream
    bad = setup_stream(bridge, n)
    bridge.start()
    written = bridge.wait_for_outputs(N // 2)
    assert written < n, "the bridge finished before it could be killed mid-stream"
    bridge.signal(signal.SIGKILL)
    time.sleep(0.5)  # requests the broker had already received are answered
    written = bridge.outputs()
    done = sum(o or 0 for o in committed(kafka_broker, bridge.group, bridge.topic).values())
    print(f"killed: {written} records written, {done} committed")

    restarted = time.monotonic()
    bridge.start()
    # The restart reprocesses everything after the committed offsets: the records written
    # but not committed at the kill come out twice, so the outputs end at this count.
    bridge.wait_for_outputs(written + n - done)
    print(f"restarted: all written after {time.monotonic() - restarted:.1f} s")
    assert bridge.signal(signal.SIGTERM) == 0, bridge.log.read_text()
    bridge.assert_all_committed()
    seen = check_outputs(bridge, bad, n)
    duplicates = sum(seen.values()) - n
    print(
        f"duplicates after SIGKILL + restart: {duplicates} (written but uncommitted at the "
        f"kill: {written - done}; commit batch: {commit_every})"
    )
    # Commits are sent without waiting: at the kill one may be in flight while the next
    # batch is handled, so up to two batches are uncommitted.
    assert duplicates <= 2 * commit_every
    assert written - done <= 2 * commit_every


def test_registry_contract_framed_records_and_breach_reports(
    kafka_broker: str, make_bridge: Callable[..., Bridge], tmp_path: Path
) -> None:
    """NAME from the registry, framed records looked up by global id, reports delivered."""
    with running_registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path) as url:
        with RegistryClient(url) as client:
            published = client.publish(ORDERS_FILE.read_bytes())
        bridge = make_bridge(
            "--registry",
            url,
            "--spool-dir",
            str(tmp_path / "spool"),
            contract="orders.created",
        )
        create_topics(kafka_broker, bridge.topic, bridge.valid, bridge.dlq, partitions=2)
        messages, bad = mixed_stream(500, every=10)  # 10 records broken each way
        produce(
            kafka_broker,
            bridge.topic,
            [
                (key, frame(published.id, value) if i % 2 else value, headers)
                for i, (key, value, headers) in enumerate(messages)
                if value is not None
            ],
        )
        bridge.start()
        bridge.wait_for_outputs(500)
        assert bridge.signal(signal.SIGTERM) == 0, bridge.log.read_text()
        assert "enforcing orders.created version 1" in bridge.log.read_text()
        seen = check_outputs(bridge, bad, n=500)
        assert sum(seen.values()) == 500
        for message in read_all(kafka_broker, bridge.valid):
            headers = headers_of(message)
            assert headers["accord.version"] == b"1"
            assert headers["accord.schema_id"] == str(published.id).encode()
            if int(message.key[1:]) % 2:
                assert message.value[:5] == frame(published.id, b"")  # framing kept
        # The reports reached the registry: exact counts per rule, from this group.
        page = httpx.get(
            f"{url}/contracts/orders.created/breaches", params={"source": bridge.group}
        ).json()
        by_rule = {(r["kind"], r["rule"]): r["count"] for r in page["by_rule"]}
        assert by_rule == {kind_rule: 10 for _, kind_rule in BREAKS.values()}
        assert not list((tmp_path / "spool").glob("*.json"))  # nothing left to send


def test_the_bridge_waits_out_an_unreachable_registry(
    kafka_broker: str, make_bridge: Callable[..., Bridge], tmp_path: Path
) -> None:
    """A framed record whose id the registry must be asked about, while it is down: the
    bridge waits and tries again, then handles it; nothing skipped, nothing dead-lettered."""
    database, port = f"sqlite:///{tmp_path / 'registry.db'}", free_port()
    document = yaml.safe_load(ORDERS_FILE.read_text())
    with running_registry(database, tmp_path, port=port) as url:
        with RegistryClient(url) as client:
            client.publish(document)
        bridge = make_bridge("--registry", url, contract="orders.created")
        create_topics(kafka_broker, bridge.topic, bridge.valid, bridge.dlq, partitions=1)
        produce(kafka_broker, bridge.topic, [(b"k0", orjson.dumps(order(0)), [])])
        bridge.start()
        assert bridge.wait_for_outputs(1) == 1
        document["schema"]["properties"]["note"] = {"type": "string"}  # a compatible change
        with RegistryClient(url) as client:
            second = client.publish(document)
    framed = [(f"k{i}".encode(), frame(second.id, orjson.dumps(order(i))), []) for i in (1, 2)]
    produce(kafka_broker, bridge.topic, framed)
    time.sleep(3)  # the registry is down: the new id cannot be looked up
    assert bridge.outputs() == 1 and bridge.process is not None and bridge.process.poll() is None
    with running_registry(database, tmp_path, port=port):
        assert bridge.wait_for_outputs(3) == 3
        assert bridge.signal(signal.SIGTERM) == 0, bridge.log.read_text()
    assert "registry unreachable" in bridge.log.read_text()
    assert count(kafka_broker, bridge.dlq) == 0
    versions = [headers_of(m)["accord.version"] for m in read_all(kafka_broker, bridge.valid)]
    assert versions == [b"1", b"2", b"2"]
    bridge.assert_all_committed()


@pytest.mark.parametrize(
    ("status", "waits"),
    [(None, True), (503, True), (500, True), (429, True), (401, False), (404, False)],
)
def test_the_bridge_waits_out_what_may_pass_and_stops_on_a_refusal(
    status: int | None, waits: bool
) -> None:
    assert _transient(RegistryError("x", status=status)) is waits
