"""Breach reports: aggregated in the process, redacted, delivered at least once.

Failures are counted per (contract, version, kind, rule, window) with first/last seen and a
bounded number of samples; fields classified PII are redacted before a sample is kept.
Each flush writes one batch to a spool directory *before* sending it, and deletes it only
once the registry has acknowledged it, so a registry outage (or a crash after the flush)
loses nothing; every aggregate carries an id, so a batch sent twice is counted once.

A batch the registry refuses (400, 413, 422: say a sample it finds too large; or an id it
stored before with other counts) is sent again without samples, so its counts may still
arrive; one refused even then is moved
to ``rejected/`` in the spool directory and logged, rather than holding up every later
batch. A batch that cannot be spooled (a full disk) is kept in memory and sent from there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from contracts import Contract, FieldPath
from enforcers.record_validator import Failure

__all__ = ["MAX_MESSAGE", "MAX_SAMPLE_RECORD", "BreachReporter", "Deliver", "redact"]

log = logging.getLogger(__name__)
_EPOCH = datetime.fromtimestamp(0, UTC)
_UNREDACTED = object()  # no redacted copy of the record made yet

REDACTED = "<redacted>"
Deliver = Callable[[Mapping[str, Any]], object]  # raises on failure; the batch is retried

# What the registry takes in a sample (`BreachSample`): longer messages are cut, and a
# record larger than this (as JSON) is left out of its sample, which keeps its message.
MAX_MESSAGE = 4096
MAX_SAMPLE_RECORD = 16 * 1024
# Statuses that refuse the batch itself: resending it as it is cannot succeed.
_REFUSED = frozenset({400, 413, 422})


def _sample(path: str, message: str, record: Any) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    try:
        encoded = orjson.dumps(record)
    except (TypeError, orjson.JSONEncodeError):
        return {"path": path, "message": message, "record": None}  # not JSON (too deep)
    if len(encoded) > MAX_SAMPLE_RECORD:
        return {
            "path": path,
            "message": message,
            "record": f"<a record of {len(encoded)} bytes, left out>",
        }
    # A copy of its own: redacting shares the untouched parts with the record, which the
    # application (a valid record with a warning) may change before the sample is sent.
    return {"path": path, "message": message, "record": orjson.loads(encoded)}


def _refused(exc: Exception) -> bool:
    return (
        getattr(exc, "status", None) in _REFUSED
        # An id of the batch stored before with other counts: no resend can be accepted.
        or getattr(exc, "code", None) == "idempotency_conflict"
    )


def redact(record: Any, pii: Sequence[FieldPath]) -> Any:
    """A copy of `record` with every PII field replaced (arrays are transparent)."""
    if not pii:
        return record
    return _redact(record, [tuple(p) for p in pii])


def _redact(value: Any, paths: list[FieldPath]) -> Any:
    if isinstance(value, list):
        return [_redact(item, paths) for item in value]
    if not isinstance(value, Mapping):
        return value
    out = {}
    for key, item in value.items():
        if (key,) in paths:
            out[key] = REDACTED
        else:
            deeper = [p[1:] for p in paths if len(p) > 1 and p[0] == key]
            out[key] = _redact(item, deeper) if deeper else item
    return out


def _sync_directory(directory: Path) -> None:
    if os.name != "posix":  # elsewhere a directory cannot be opened to be synced
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class _Breach:
    contract: str
    version: int | None
    kind: str
    rule: str
    severity: str
    window_start: datetime
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _Observation:
    contract: str
    version: int | None
    window_start: datetime
    records: int = 0
    valid: int = 0
    invalid: int = 0
    max_event_time: datetime | None = None


class BreachReporter:
    """Collects failures and observations from one source and ships them in the background.

    `deliver` sends one batch (a JSON-ready mapping) to the registry and raises if it was
    not accepted; `RegistryClient.report_breaches` is the usual one. `source` names the
    reporting process (a consumer group, a job name + run id).
    """

    def __init__(
        self,
        deliver: Deliver,
        *,
        source: str,
        spool_dir: str | Path,
        window: timedelta = timedelta(minutes=1),
        max_samples: int = 5,
        flush_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._deliver = deliver
        self.source = source
        self.spool_dir = Path(spool_dir)
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        # Batches half written when a process died (an hour ago or more: not another live
        # reporter's). No commit waited for them (`persist` returns after the rename), so
        # their records are read, and counted, again.
        for stale in self.spool_dir.glob("*.partial"):
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > 3600:
                    stale.unlink()
        self.window = window
        self.max_samples = max_samples
        self._clock = clock  # seconds since the epoch
        self._window_cache: tuple[float, float, datetime] = (0.0, 0.0, _EPOCH)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        # Held from taking what was collected until it is on disk: a `persist` returns only
        # once the counts it was called for are spooled, even when another thread took them.
        self._spool_lock = threading.Lock()
        self._breaches: dict[tuple[str, int | None, str, str, datetime], _Breach] = {}
        self._observations: dict[tuple[str, int | None, datetime], _Observation] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interval = flush_interval
        self._unspooled: list[dict[str, Any]] = []  # batches the spool could not take

    # -- collecting (hot path: cheap, never blocks on the network) ------------------------

    def _window_at(self, epoch: float) -> datetime:
        # Called for every record: the window's datetime is made once per window, not per call.
        low, high, start = self._window_cache
        if low <= epoch < high:
            return start
        seconds = self.window.total_seconds()
        low = epoch - epoch % seconds
        start = datetime.fromtimestamp(low, UTC)
        self._window_cache = (low, low + seconds, start)
        return start

    def record(
        self,
        contract: Contract,
        version: int | None,
        failures: Iterable[Failure],
        record: Any = None,
        *,
        event_time: datetime | None = None,
    ) -> None:
        """Count one record: valid when `failures` holds no error, else a breach per rule."""
        failures = list(failures)
        invalid = any(f.severity.value == "error" for f in failures)
        self.observe(contract.name, version, 1, int(not invalid), int(invalid), event_time)
        if failures:
            self.add_failures(contract, version, failures, record)

    def add_failures(
        self, contract: Contract, version: int | None, failures: Iterable[Failure], record: Any
    ) -> None:
        """A breach per failure of one record (no observation: the caller counts records)."""
        epoch = self._clock()
        window = self._window_at(epoch)
        now = datetime.fromtimestamp(epoch, UTC)
        redacted: Any = _UNREDACTED
        with self._lock:
            for failure in failures:
                breach = self._breach(
                    contract.name,
                    version,
                    failure.kind,
                    failure.rule,
                    failure.severity.value,
                    window,
                    now,
                    1,
                )
                if len(breach.samples) < self.max_samples:
                    # Redacting copies the record: done only while a sample is wanted.
                    if redacted is _UNREDACTED:
                        redacted = redact(record, contract.pii_fields)
                    breach.samples.append(_sample(failure.path, failure.message, redacted))

    def observe(
        self,
        contract: str,
        version: int | None,
        records: int,
        valid: int,
        invalid: int,
        max_event_time: datetime | None = None,
    ) -> None:
        """Add to this window's observation of `contract`: records seen, valid, invalid."""
        window = self._window_at(self._clock())
        with self._lock:
            key = (contract, version, window)
            obs = self._observations.get(key)
            if obs is None:
                obs = self._observations[key] = _Observation(contract, version, window)
            obs.records += records
            obs.valid += valid
            obs.invalid += invalid
            if max_event_time is not None and (
                obs.max_event_time is None or max_event_time > obs.max_event_time
            ):
                obs.max_event_time = max_event_time

    def add_breach(
        self,
        contract: str,
        version: int | None,
        kind: str,
        rule: str,
        severity: str,
        count: int,
        samples: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Add `count` failures of `rule` to this window; samples must be redacted already."""
        epoch = self._clock()
        window = self._window_at(epoch)
        now = datetime.fromtimestamp(epoch, UTC)
        with self._lock:
            breach = self._breach(contract, version, kind, rule, severity, window, now, count)
            room = self.max_samples - len(breach.samples)
            breach.samples.extend(
                _sample(sample.get("path", ""), sample.get("message", ""), sample.get("record"))
                for sample in samples[: max(room, 0)]
            )

    def _breach(
        self,
        contract: str,
        version: int | None,
        kind: str,
        rule: str,
        severity: str,
        window: datetime,
        now: datetime,
        count: int,
    ) -> _Breach:
        """The window's aggregate for `rule`, with `count` more failures seen `now`."""
        key = (contract, version, kind, rule, window)
        breach = self._breaches.get(key)
        if breach is None:
            breach = self._breaches[key] = _Breach(contract, version, kind, rule, severity, window)
        breach.count += count
        breach.first_seen = breach.first_seen or now
        breach.last_seen = now
        return breach

    # -- shipping ------------------------------------------------------------------------

    def _take_batch(self) -> dict[str, Any] | None:
        with self._lock:
            breaches, self._breaches = self._breaches, {}
            observations, self._observations = self._observations, {}
        if not breaches and not observations:
            return None
        batch_id = str(uuid.uuid4())

        def end(start: datetime) -> str:
            return _iso(start + self.window)

        return {
            "batch_id": batch_id,
            "source": self.source,
            "breaches": [
                {
                    # One id per aggregate of one flush: a resent batch is recognised,
                    # a later aggregate of the same window is added to it.
                    "id": f"{batch_id}:b{i}",
                    "contract": b.contract,
                    "version": b.version,
                    "kind": b.kind,
                    "rule": b.rule,
                    "severity": b.severity,
                    "window_start": _iso(b.window_start),
                    "window_end": end(b.window_start),
                    "count": b.count,
                    "first_seen": _iso(b.first_seen or b.window_start),
                    "last_seen": _iso(b.last_seen or b.window_start),
                    "samples": b.samples,
                }
                for i, b in enumerate(breaches.values())
            ],
            "observations": [
                {
                    "id": f"{batch_id}:o{i}",
                    "contract": o.contract,
                    "version": o.version,
                    "window_start": _iso(o.window_start),
                    "window_end": end(o.window_start),
                    "records": o.records,
                    "valid": o.valid,
                    "invalid": o.invalid,
                    "max_event_time": _iso(o.max_event_time) if o.max_event_time else None,
                }
                for i, o in enumerate(observations.values())
            ],
        }

    def _spool(self, batch: Mapping[str, Any]) -> Path:
        # Names sort by time, so batches are resent in the order they were made.
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{batch['batch_id']}.json"
        self.spool_dir.mkdir(parents=True, exist_ok=True)  # removed while running: again
        final = self.spool_dir / name
        partial = final.with_suffix(".partial")
        with open(partial, "wb") as handle:
            handle.write(orjson.dumps(batch))
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)
        _sync_directory(self.spool_dir)  # the rename too must survive a power cut
        return final

    @property
    def pending(self) -> int:
        """Batches not yet acknowledged by the registry (spooled, or held in memory)."""
        with self._lock:
            held = len(self._unspooled)
        return len(list(self.spool_dir.glob("*.json"))) + held

    @property
    def rejected_dir(self) -> Path:
        """Where batches the registry refused even without samples are kept, for a look."""
        return self.spool_dir / "rejected"

    def persist(self) -> None:
        """Write what was collected to the spool now, without sending it.

        For a consumer about to commit the offsets of the records it counted: after a crash
        the spool still holds their counts, and the next reporter sends them. Waits for a
        spool write in progress in another thread (which may hold some of them), not for a
        send. A batch the disk cannot take (full) is kept in memory, as the module says.
        """
        with self._spool_lock:
            batch = self._take_batch()
            if batch is not None:
                with self._lock:
                    self._unspooled.append(batch)
            self._spool_held()

    def _spool_held(self) -> None:
        """Spool the batches held in memory, oldest first, until one cannot be written (with
        the spool lock held)."""
        while True:
            with self._lock:  # not held while writing: collecting goes on meanwhile
                if not self._unspooled:
                    return
                batch = self._unspooled.pop(0)
            try:
                self._spool(batch)
            except OSError as exc:
                log.warning("cannot spool breach reports (%s): kept in memory", exc)
                with self._lock:
                    self._unspooled.insert(0, batch)
                return

    def flush(self) -> bool:
        """Spool what was collected, then send every spooled batch; True if all were sent."""
        self.persist()
        with self._send_lock:
            for path in sorted(self.spool_dir.glob("*.json")):
                try:
                    spooled = orjson.loads(path.read_bytes())
                except orjson.JSONDecodeError as exc:  # damaged on disk: never sendable
                    self._reject({"batch_id": path.stem}, path, exc, path.read_bytes())
                    path.unlink()
                    continue
                if not self._send(spooled, path):
                    return False
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            while True:  # what the spool could not take, from memory
                with self._lock:
                    if not self._unspooled:
                        return True
                    batch = self._unspooled[0]
                if not self._send(batch, None):
                    return False
                with self._lock:  # unless a `persist` spooled it meanwhile (resent as one)
                    self._unspooled = [held for held in self._unspooled if held is not batch]

    def _send(self, batch: dict[str, Any], path: Path | None) -> bool:
        """Deliver `batch`; False if it should be tried again later."""
        try:
            self._deliver(batch)
            return True
        except Exception as exc:
            if not _refused(exc):  # unreachable, 5xx, auth: try again later
                log.warning("breach report not delivered yet (%s); %d pending", exc, self.pending)
                return False
            refusal = exc
        without_samples = {
            **batch,
            "breaches": [{**b, "samples": []} for b in batch.get("breaches", [])],
        }
        try:
            self._deliver(without_samples)
        except Exception as exc:
            if not _refused(exc):
                return False
            self._reject(batch, path, exc)
            return True
        log.warning("breach report refused (%s): delivered without its samples", refusal)
        return True

    def _reject(
        self,
        batch: Mapping[str, Any],
        path: Path | None,
        exc: Exception,
        content: bytes | None = None,
    ) -> None:
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        kept = self.rejected_dir / (path.name if path else f"{batch['batch_id']}.json")
        kept.write_bytes(orjson.dumps(batch) if content is None else content)
        log.error("breach report not deliverable (%s): kept in %s", exc, kept)

    # -- background ----------------------------------------------------------------------

    def start(self) -> BreachReporter:
        """Flush every `flush_interval` seconds on a daemon thread until `close`."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="accord-breach-reporter", daemon=True
            )
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # reading a spooled file, say: the thread must go on
                log.exception("breach reporter: flush failed; trying again later")

    def close(self, timeout: float = 10.0) -> bool:
        """Stop the thread and make a last attempt; what is not sent stays spooled."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.flush()

    def __enter__(self) -> BreachReporter:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
