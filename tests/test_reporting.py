"""The breach reporter: aggregation, redaction, spooling and redelivery."""

from __future__ import annotations

import copy
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from contracts import load_file
from enforcers.record_validator import validator_for
from enforcers.registry_client import RegistryError
from enforcers.reporting import MAX_MESSAGE, BreachReporter, redact
from tests.conftest import EXAMPLES

ORDERS = load_file(str(EXAMPLES / "orders.created.yaml"))
GOOD = {
    "order_id": "6f1c2f8e-4a1b-4e8e-9c1a-2b3c4d5e6f70",
    "created_at": "2024-01-01T10:00:00Z",
    "channel": "web",
    "customer": {"customer_id": "C12345678", "email": "ada@example.com"},
    "line_items": [
        {"sku": "A", "quantity": 1, "unit_price": {"amount_minor": 5, "currency": "EUR"}}
    ],
    "total": {"amount_minor": 5, "currency": "EUR"},
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC)

    def __call__(self) -> float:
        return self.now.timestamp()


class Registry:
    """Stands in for the registry's idempotent store: counts each aggregate id once."""

    def __init__(self) -> None:
        self.up = True
        self.seen: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def deliver(self, batch: Any) -> None:
        self.calls += 1
        if not self.up:
            raise ConnectionError("registry down")
        for item in batch["breaches"] + batch["observations"]:
            self.seen.setdefault(item["id"], item)

    def count(self, rule: str) -> int:
        return sum(b["count"] for b in self.seen.values() if b.get("rule") == rule)


def feed(reporter: BreachReporter, record: dict[str, Any], times: int = 1) -> None:
    validator = validator_for(ORDERS, 1)
    for _ in range(times):
        reporter.record(ORDERS, 1, validator.validate(record), record)


def bad_channel() -> dict[str, Any]:
    return {**GOOD, "channel": "fax"}


def test_aggregates_per_rule_and_window_with_bounded_redacted_samples(tmp_path: Path) -> None:
    clock, registry = Clock(), Registry()
    reporter = BreachReporter(
        registry.deliver, source="job-1", spool_dir=tmp_path, max_samples=2, clock=clock
    )
    feed(reporter, GOOD, 3)
    feed(reporter, bad_channel(), 5)
    clock.now += timedelta(minutes=1)
    feed(reporter, bad_channel(), 1)
    assert reporter.flush()
    breaches = [b for b in registry.seen.values() if "rule" in b]
    assert sorted((b["rule"], b["count"], b["window_start"]) for b in breaches) == [
        ("enum", 1, "2024-05-01T12:01:00Z"),
        ("enum", 5, "2024-05-01T12:00:00Z"),
    ]
    first = next(b for b in breaches if b["count"] == 5)
    assert len(first["samples"]) == 2
    assert first["samples"][0]["record"]["customer"]["email"] == "<redacted>"
    assert first["samples"][0]["path"] == "/channel"
    observations = sorted(
        (o["window_start"], o["records"], o["valid"], o["invalid"])
        for o in registry.seen.values()
        if "records" in o
    )
    assert observations == [("2024-05-01T12:00:00Z", 8, 3, 5), ("2024-05-01T12:01:00Z", 1, 0, 1)]
    assert reporter.pending == 0


def test_registry_down_spools_and_redelivers_exactly_once(tmp_path: Path) -> None:
    registry = Registry()
    registry.up = False
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(reporter, bad_channel(), 4)
    assert not reporter.flush()
    feed(reporter, bad_channel(), 2)
    assert not reporter.flush()
    assert reporter.pending == 2
    registry.up = True
    assert reporter.flush()
    assert registry.count("enum") == 6 and reporter.pending == 0
    # A batch that reaches the registry twice (ack lost) is still counted once.
    spooled = list(tmp_path.iterdir())
    assert spooled == []


def test_a_crashed_reporters_spool_is_sent_by_the_next_one(tmp_path: Path) -> None:
    registry = Registry()
    registry.up = False
    crashed = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(crashed, bad_channel(), 3)
    crashed.flush()  # spooled, not delivered; the process then dies without close()
    registry.up = True
    successor = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    assert successor.flush()
    assert registry.count("enum") == 3


def test_resending_the_same_batch_is_idempotent(tmp_path: Path) -> None:
    registry = Registry()
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(reporter, bad_channel(), 2)
    batch = reporter._take_batch()
    assert batch is not None
    registry.deliver(batch)
    registry.deliver(batch)
    assert registry.count("enum") == 2


def test_background_thread_flushes(tmp_path: Path) -> None:
    registry = Registry()
    with BreachReporter(
        registry.deliver, source="s", spool_dir=tmp_path, flush_interval=0.05
    ) as reporter:
        feed(reporter, bad_channel(), 1)
        for _ in range(100):
            if registry.count("enum"):
                break
            time.sleep(0.02)
    assert registry.count("enum") == 1


INVALID = RegistryError("invalid body", status=422, code="invalid_request")
# An aggregate's id stored before with other counts: 409, which would go away on no resend.
REUSED = RegistryError("id stored before", status=409, code="idempotency_conflict")


class Refusing(Registry):
    """Refuses (`error`) every batch with samples, or every batch at all."""

    def __init__(self, *, samples_only: bool, error: RegistryError = INVALID) -> None:
        super().__init__()
        self.samples_only = samples_only
        self.error = error

    def deliver(self, batch: Any) -> None:
        has_samples = any(b["samples"] for b in batch["breaches"])
        if has_samples or not self.samples_only:
            self.calls += 1
            raise self.error
        super().deliver(batch)


def test_a_refused_batch_arrives_without_samples(tmp_path: Path) -> None:
    registry = Refusing(samples_only=True)
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(reporter, bad_channel(), 3)
    assert reporter.flush() and reporter.pending == 0
    assert registry.count("enum") == 3


@pytest.mark.parametrize("error", [INVALID, REUSED], ids=["invalid", "id-reused"])
def test_a_batch_refused_outright_is_set_aside_and_holds_nothing_up(
    tmp_path: Path, error: RegistryError
) -> None:
    registry = Refusing(samples_only=False, error=error)
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(reporter, bad_channel(), 3)
    assert reporter.flush() and reporter.pending == 0
    [kept] = reporter.rejected_dir.iterdir()
    assert orjson.loads(kept.read_bytes())["breaches"][0]["count"] == 3
    (tmp_path / "0-damaged.json").write_bytes(b"{not json")  # a damaged spool file too
    registry.samples_only = True
    feed(reporter, bad_channel(), 2)
    assert reporter.flush() and reporter.pending == 0  # later batches go through
    assert registry.count("enum") == 2
    assert len(list(reporter.rejected_dir.iterdir())) == 2


def test_a_batch_that_cannot_be_spooled_is_sent_from_memory(tmp_path: Path) -> None:
    registry = Registry()
    registry.up = False
    spool = tmp_path / "spool"
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=spool, clock=Clock())
    spool.rmdir()
    spool.write_text("a file where the spool folder was")  # say the disk filled up
    feed(reporter, bad_channel(), 2)
    assert not reporter.flush() and reporter.pending == 1  # held in memory
    registry.up = True
    assert reporter.flush() and reporter.pending == 0
    assert registry.count("enum") == 2


def test_the_background_thread_outlives_a_failed_flush(tmp_path: Path) -> None:
    registry = Registry()
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, flush_interval=0.02)
    failures = iter([OSError("unreadable spool")])
    flush = reporter.flush

    def flaky() -> bool:
        for failure in failures:
            raise failure
        return flush()

    reporter.flush = flaky  # type: ignore[method-assign]
    with reporter:
        feed(reporter, bad_channel(), 1)
        deadline = time.monotonic() + 5
        while not registry.count("enum") and time.monotonic() < deadline:
            time.sleep(0.02)
    assert registry.count("enum") == 1


def test_samples_are_bounded(tmp_path: Path) -> None:
    registry = Registry()
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    huge = {**bad_channel(), "channel": "f" * 20_000}  # quoted in the message, and large
    feed(reporter, huge, 1)
    assert reporter.flush()
    [sample] = next(b for b in registry.seen.values() if b.get("rule") == "enum")["samples"]
    assert len(sample["message"]) == MAX_MESSAGE
    assert sample["record"].startswith("<a record of ")


@pytest.mark.parametrize(
    ("record", "paths", "expected"),
    [
        ({"a": 1, "b": {"c": 2, "d": 3}}, [("b", "c")], {"a": 1, "b": {"c": "<redacted>", "d": 3}}),
        (
            {"l": [{"x": 1}, {"x": 2}]},
            [("l", "x")],
            {"l": [{"x": "<redacted>"}, {"x": "<redacted>"}]},
        ),
        ({"a": 1}, [], {"a": 1}),
        ("scalar", [("a",)], "scalar"),
    ],
)
def test_redact(record: Any, paths: Any, expected: Any) -> None:
    assert redact(record, paths) == expected


def test_persist_spools_without_sending(tmp_path: Path) -> None:
    # A consumer persists before it commits: a crash after the commit loses no count.
    registry = Registry()
    crashed = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    feed(crashed, bad_channel(), 3)
    crashed.persist()
    assert registry.calls == 0 and crashed.pending == 1  # on disk, not sent
    successor = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    assert successor.flush() and registry.count("enum") == 3


def test_persist_returns_once_counts_another_thread_took_are_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reporter's own flush took the counts and is writing them when the consumer,
    # about to commit, asks for them to be on disk: it must wait for that write.
    reporter = BreachReporter(Registry().deliver, source="s", spool_dir=tmp_path, clock=Clock())
    writing, spool = threading.Event(), reporter._spool

    def slow_spool(batch: Any) -> Path:
        writing.set()
        time.sleep(0.3)
        return spool(batch)

    monkeypatch.setattr(reporter, "_spool", slow_spool)
    feed(reporter, bad_channel(), 3)
    other = threading.Thread(target=reporter.persist)
    other.start()
    assert writing.wait(5)
    reporter.persist()  # nothing new to take: what the other thread holds must be written
    assert len(list(tmp_path.glob("*.json"))) == 1
    other.join()


def test_samples_are_copies_and_half_written_batches_are_cleared(tmp_path: Path) -> None:
    stale = tmp_path / "20240101T000000000000-x.partial"
    stale.write_bytes(b'{"batch_id": "x", "brea')
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = tmp_path / "20240101T000000000000-y.partial"  # another reporter writing now
    fresh.write_bytes(b"{")
    registry = Registry()
    reporter = BreachReporter(registry.deliver, source="s", spool_dir=tmp_path, clock=Clock())
    assert not stale.exists() and fresh.exists()
    record = copy.deepcopy(bad_channel())  # its own nested values, to change
    feed(reporter, record)
    record["line_items"][0]["sku"] = "CHANGED"  # the application goes on with its record
    assert reporter.flush()
    [breach] = [b for b in registry.seen.values() if "rule" in b]
    assert breach["samples"][0]["record"]["line_items"][0]["sku"] == "A"
