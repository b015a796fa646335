"""`ValidatingConsumer`: a kafka-python consumer that hands the application valid records only.

    with ValidatingConsumer("orders", contract="orders.created", group_id="billing",
                            bootstrap_servers="kafka:9092", dlq_topic="orders.dlq") as orders:
        for order in orders:          # in order per partition
            bill(order.value)         # the parsed JSON; order.version, order.message...

Every invalid record is produced to the dead-letter topic (value and key as they were, the
original headers plus ``accord.*`` ones naming the contract, version, failures and the
source topic/partition/offset/timestamp). Offsets are committed only for records fully
handled: a valid one once the application asks for the next record (or closes the consumer
normally), an invalid one once its DLQ write is acknowledged. Commits are batched — every
`commit_every` records or `commit_interval_ms` — and sent without stopping the stream once
the DLQ writes before them are acknowledged; on close and when partitions are revoked the
DLQ producer is flushed and the commit waited for. A crash therefore loses nothing; it
redelivers at most the records handled since the last acknowledged commit (two batches).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import time
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from contracts import Contract
from enforcers.contract_source import ContractSource, ResolvedContract, parse_event_time
from enforcers.kafka.common import (
    HEADER_DIVERTED,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_TIMESTAMP,
    HEADER_TOPIC,
    HEADER_VALUE_OMITTED,
    Framing,
    Headers,
    SendFailed,
    check_raw,
    contract_headers,
    failures_headers,
    is_invalid,
    too_large,
    without_accord,
)
from enforcers.kafka.writer import RecordWriter
from enforcers.record_validator import Failure
from enforcers.registry_client import RegistryClient
from enforcers.reporting import BreachReporter

__all__ = ["ConsumerStats", "ValidRecord", "ValidatingConsumer", "resolve_source"]

log = logging.getLogger(__name__)


class ValidRecord:
    """A record that meets its contract: the parsed value and where it came from."""

    # A plain class with four slots: built once per record, so the version's details are
    # read from `resolved` when asked for rather than copied into every record.
    __slots__ = ("message", "resolved", "value", "warnings")

    def __init__(
        self,
        value: Any,
        resolved: ResolvedContract,
        message: Any,
        warnings: tuple[Failure, ...] = (),
    ) -> None:
        self.value = value
        self.resolved = resolved
        self.message = message  # kafka.consumer.fetcher.ConsumerRecord, as kafka-python gave it
        self.warnings = warnings  # failures of severity "warning" (not breaches)

    def __repr__(self) -> str:
        m = self.message
        return (
            f"ValidRecord({self.resolved.name}@{self.version}, "
            f"{m.topic}[{m.partition}]@{m.offset}, value={self.value!r})"
        )

    @property
    def contract(self) -> Contract:
        return self.resolved.contract

    @property
    def version(self) -> int | None:
        return self.resolved.version

    @property
    def schema_id(self) -> int | None:
        """The version's global id (None: a local contract)."""
        return self.resolved.global_id

    @property
    def key(self) -> bytes | None:
        key: bytes | None = self.message.key
        return key

    @property
    def topic(self) -> str:
        return str(self.message.topic)

    @property
    def partition(self) -> int:
        return int(self.message.partition)

    @property
    def offset(self) -> int:
        return int(self.message.offset)

    @property
    def headers(self) -> Headers:
        return list(self.message.headers or ())

    @property
    def timestamp(self) -> int | None:
        """Milliseconds since the epoch, as the record carries it (None if it has none)."""
        ts = self.message.timestamp
        return int(ts) if ts is not None and ts >= 0 else None


@dataclass(slots=True)
class _Tally:
    """Records of one contract version since the last report to the BreachReporter.

    Observations go to the reporter once per poll batch, not once per record; the event
    times of valid records are kept as text until then.
    """

    checked: bool  # the version asserts format date-time on the event time field
    records: int = 0
    valid: int = 0
    invalid: int = 0
    texts: list[str] = field(default_factory=list)

    def latest_time(self) -> datetime | None:
        """The greatest event time among `texts`."""
        texts = self.texts
        if not texts:
            return None
        if self.checked and _one_utc_shape(texts):
            # Valid RFC 3339 UTC texts of one shape order as their times: one is parsed.
            latest = parse_event_time(max(texts))
            if latest is not None:
                return latest
        return max(filter(None, map(parse_event_time, texts)), default=None)


def _one_utc_shape(texts: list[str]) -> bool:
    """Whether all `texts` have one length, a "T" at index 10 and a final "Z"."""
    lengths = set(map(len, texts))
    if len(lengths) != 1:
        return False
    (length,) = lengths
    if length <= 10:
        return False
    # One string and two slices: a few ns per text, where a Python loop costs ~100 ns each.
    joined, count = "".join(texts), len(texts)
    return joined[length - 1 :: length] == "Z" * count and joined[10::length] == "T" * count


@dataclass(slots=True)
class ConsumerStats:
    records: int = 0
    valid: int = 0
    invalid: int = 0
    diverted: int = 0  # valid, but dead-lettered by the application (`divert`)
    commits: int = 0
    per_rule: dict[str, int] = field(default_factory=dict)  # "kind:rule" -> failures


def resolve_source(
    contract: ContractSource | Contract | str,
    registry: RegistryClient | str | None = None,
    *,
    refresh_interval: float = 30.0,
) -> ContractSource:
    """A ContractSource from a source, a Contract, or a ``NAME[@VERSION]`` / FILE spec."""
    if isinstance(contract, ContractSource):
        return contract
    if isinstance(contract, Contract):
        return ContractSource.from_contract(contract)
    client = registry if isinstance(registry, RegistryClient) else None
    url = registry if isinstance(registry, str) else None
    return ContractSource.parse(
        contract, client=client, registry_url=url, refresh_interval=refresh_interval
    )


class _CommitOnRevoke(AsyncConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was handled before partitions go to another member.

    kafka-python 3 calls listeners on its IO thread, where a blocking ``commit()`` is not
    allowed: the listener is async and awaits ``commit_async``. The application thread is
    inside ``poll()`` meanwhile, so the consumer's bookkeeping is not moving under it.
    """

    def __init__(self, owner: ValidatingConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        owner = self._owner
        revoked = set(revoked)
        try:
            in_flight = owner._in_flight
            if in_flight is not None and not in_flight.is_done:
                # Commits reach the broker one at a time, in order; this one supersedes it.
                with contextlib.suppress(Exception):
                    await in_flight
            offsets = owner._take_commit(revoked)
            if offsets:
                if owner.reporter is not None:
                    owner.reporter.persist()  # (thread-safe) counts before their commit
                await owner._consumer.commit_async(offsets)
                owner.stats.commits += 1
        except Exception as exc:  # the new owner redelivers: duplicates, never loss
            log.warning("commit on revoke failed (%s); records will be redelivered", exc)
        owner._forget(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("assigned %s", sorted(assigned))
        self._owner._rewind(set(assigned))

    async def on_partitions_lost(self, lost: Iterable[TopicPartition]) -> None:
        self._owner._forget(set(lost))


class ValidatingConsumer(Iterator[ValidRecord]):
    """Iterate to get valid records; invalid ones go to `dlq_topic`. See the module doc.

    `contract` is a ContractSource, a Contract, or ``NAME[@VERSION]`` / a contract FILE
    (``registry``: a RegistryClient or URL for names). `dlq_topic` None drops invalid
    records after reporting them. `reporter` (source: the group id, by convention) is told
    about every record; the consumer neither starts nor closes it. Further keyword
    arguments configure the KafkaConsumer (``auto_offset_reset``, ``session_timeout_ms``...).
    Dead letters are written by a `RecordWriter` (librdkafka) made on first use, which
    `producer_config` configures (librdkafka settings: ``security.protocol``...); or by
    `producer`, a RecordWriter or kafka-python KafkaProducer of the caller's, left open.
    `consumer_timeout_ms` ends iteration after that long without a record while partitions
    are assigned (default: never).
    """

    def __init__(
        self,
        topics: str | Iterable[str],
        *,
        contract: ContractSource | Contract | str,
        group_id: str,
        bootstrap_servers: str | list[str] = "localhost:9092",
        dlq_topic: str | None,
        reporter: BreachReporter | None = None,
        registry: RegistryClient | str | None = None,
        framing: Framing = "auto",
        commit_every: int = 5000,
        commit_interval_ms: int = 5000,
        consumer_timeout_ms: float = math.inf,
        poll_timeout_ms: int = 200,
        producer: RecordWriter | KafkaProducer | None = None,
        producer_config: Mapping[str, Any] | None = None,
        send_timeout: float = 60.0,
        **consumer_config: Any,
    ) -> None:
        if consumer_config.pop("enable_auto_commit", False):
            raise ValueError("offsets are committed by ValidatingConsumer: no auto-commit")
        for key in ("value_deserializer", "key_deserializer"):
            if key in consumer_config:
                raise ValueError(f"{key}: ValidatingConsumer reads raw bytes itself")
        if commit_every < 1:
            raise ValueError("commit_every must be at least 1")
        self.source = resolve_source(contract, registry)
        self.group_id = group_id
        self.dlq_topic = dlq_topic
        self.reporter = reporter
        self.framing: Framing = framing
        self.stats = ConsumerStats()
        self._commit_every = commit_every
        self._commit_interval = commit_interval_ms / 1000
        self._consumer_timeout = consumer_timeout_ms / 1000
        self._poll_timeout_ms = poll_timeout_ms
        self._send_timeout = send_timeout
        self._owns_producer = producer is None
        self._producer = producer
        self._producer_config = dict(producer_config or {})
        self._bootstrap_servers = bootstrap_servers
        # Bookkeeping: last handled offset per (topic, partition), sends not yet checked.
        self._handled_offsets: dict[tuple[str, int], int] = {}
        self._uncommitted = 0
        self._commit_due = time.monotonic() + self._commit_interval
        self._sends: list[Any] = []
        # A periodic commit waiting for its DLQ writes: (offsets, the sends made before them).
        self._waiting: tuple[dict[TopicPartition, OffsetAndMetadata], list[Any]] | None = None
        # Per revoked partition, the offset of the first buffered record not handled (see
        # `_rewind`).
        self._dropped: dict[TopicPartition, int] = {}
        self._in_flight: Any = None  # the last commit_async, a kafka.future.Future
        self._tallies: dict[ResolvedContract, _Tally] = {}
        self._buffer: list[Any] = []
        self._position = 0
        self._yielded: Any = None  # the message of the record last handed out
        self._records = self._stream()
        self._stopping = False
        self._closed = False
        self._broken: BaseException | None = None
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            **consumer_config,
        )
        try:
            self._consumer.subscribe(
                topics=[topics] if isinstance(topics, str) else list(topics),
                listener=_CommitOnRevoke(self),
            )
        except BaseException:
            self._consumer.close()  # a bad topic name: no client left running
            raise

    # -- public ------------------------------------------------------------------------------

    @property
    def consumer(self) -> KafkaConsumer:
        """The wrapped KafkaConsumer (don't poll or commit it yourself)."""
        return self._consumer

    @property
    def producer(self) -> RecordWriter | KafkaProducer:
        """What DLQ records are written with (a RecordWriter made on first use by default)."""
        if self._producer is None:
            # A dead letter not acknowledged within `send_timeout` fails (and the consumer
            # stops committing) rather than being retried for librdkafka's default 5 min.
            config = {"message.timeout.ms": int(self._send_timeout * 1000)}
            self._producer = RecordWriter(
                self._bootstrap_servers,
                {**config, **self._producer_config},
                max_block=self._send_timeout,
            )
        return self._producer

    def track(self, future: Any) -> None:
        """Hold the next commit until this send (a FutureRecordMetadata) is acknowledged.

        For applications that forward records: track the send, then ask for the next
        record; the forwarded one is committed only once its send succeeded.
        """
        self._sends.append(future)

    def stop(self) -> None:
        """End iteration after the current record (safe from a signal handler)."""
        self._stopping = True

    def divert(self, record: ValidRecord, why: str) -> None:
        """Dead-letter a valid record that the application cannot take where it goes (too
        large for the topic a bridge forwards to, say): handled, rather than tried forever.

        Its dead letter is as an invalid record's, with no failures and an
        ``accord.diverted`` header saying `why` (with no DLQ it is dropped, as an invalid
        record is). Call it for the record in hand; it is committed once the DLQ write is
        acknowledged, as any.
        """
        message = record.message
        log.warning(
            "valid record %s[%s]@%s goes to the DLQ (if any): %s",
            message.topic,
            message.partition,
            message.offset,
            why,
        )
        self.stats.diverted += 1
        self._dead_letter(
            message, record.resolved, record.schema_id, [], [(HEADER_DIVERTED, why.encode())]
        )

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` (less once stopped) without taking records, staying in the
        group: for an application that waits before trying a record again.

        kafka-python leaves the group when `poll` has not been called for
        ``max_poll_interval_ms`` (5 minutes): the partitions would go to another member, and
        what this one handled then could not be committed. So this polls, with every
        partition paused (no records come back; what was fetched is fetched again later),
        which also lets a rebalance run as in any poll.
        """
        consumer = self._consumer
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            paused = consumer.assignment() - consumer.paused()  # not those paused already
            consumer.pause(*paused)
            try:
                batch = consumer.poll(timeout_ms=max(1, int(min(left, 1.0) * 1000)))
            finally:
                consumer.resume(*(paused & consumer.assignment()))
            # A partition assigned during the poll was not paused, and may have come back
            # with records: not taken now, so they are fetched again later.
            for tp, messages in (batch or {}).items():
                if messages:
                    consumer.seek(tp, messages[0].offset)

    @property
    def stopping(self) -> bool:
        """`stop` or `close` was called: iteration ends (or has ended)."""
        return self._stopping or self._closed

    def __iter__(self) -> Iterator[ValidRecord]:
        records = self._records
        if inspect.getgeneratorstate(records) == inspect.GEN_CLOSED:
            # Ended, by an exception or by stopping: its state is the consumer's, so a new
            # one picks up where it stopped (a record that raised is tried again).
            records = self._records = self._stream()
        return records

    def __next__(self) -> ValidRecord:
        return next(iter(self))

    def commit(self) -> None:
        """Commit every handled record now (after checking that its sends were acked)."""
        self._report(persist=True)
        if self._broken is not None:
            return
        offsets = self._take_commit(None)
        if offsets:
            try:
                self._settle()
                self._consumer.commit(offsets)
            except KafkaError as exc:
                # Uncommitted records are redelivered (here or to the partition's new owner).
                log.warning("offset commit failed (%s); records will be redelivered", exc)
            else:
                self.stats.commits += 1
        self._uncommitted = 0
        self._commit_due = time.monotonic() + self._commit_interval

    def close(self, *, last_handled: bool = True) -> None:
        """Commit what was handled, then close the consumer (and the DLQ producer we made).

        `last_handled` False leaves the record last returned uncommitted (it is redelivered):
        what leaving a ``with`` block by an exception does.
        """
        if self._closed:
            return
        self._stopping = True
        try:
            if self._yielded is not None and last_handled:
                self._handled_offsets[self._yielded.topic, self._yielded.partition] = (
                    self._yielded.offset
                )
            self._yielded = None
            if self._broken is None:
                self.commit()
        finally:
            self._closed = True
            try:
                self._consumer.close(autocommit=False)
            finally:
                if self._owns_producer and self._producer is not None:
                    self._producer.close(timeout=self._send_timeout)

    def __enter__(self) -> ValidatingConsumer:
        return self

    def __exit__(self, exc_type: object, *_exc: object) -> None:
        self.close(last_handled=exc_type is None)

    # -- the record path ---------------------------------------------------------------------

    def _fill(self) -> bool:
        """Poll for the next batch; False when iteration should end."""
        self._report()
        idle_since = time.monotonic()
        while not (self._stopping or self._closed):
            if self._waiting is not None:
                # Also while the topic is idle: the commit goes as soon as its DLQ writes
                # are acknowledged, not with the next record.
                self._commit_waiting()
            if self._uncommitted and time.monotonic() >= self._commit_due:
                self.commit()
            batch = self._consumer.poll(timeout_ms=self._poll_timeout_ms)
            if batch:
                buffer: list[Any] = []
                for messages in batch.values():
                    buffer.extend(messages)
                self._buffer, self._position = buffer, 0
                return True
            if not self._consumer.assignment():
                idle_since = time.monotonic()  # joining the group is not being idle
            elif time.monotonic() - idle_since >= self._consumer_timeout:
                return False
        return False

    def _stream(self) -> Generator[ValidRecord, None, None]:
        """The record path: one generator, whose locals cost less per record than calls.

        A record is handled (its offset may be committed) once the generator is resumed
        after yielding it, i.e. when the application asks for the next one.
        """
        stats = self.stats
        offsets = self._handled_offsets
        commit_every = self._commit_every
        unframed = self.framing != "confluent"
        while True:
            if self._broken is not None:
                raise SendFailed("an earlier send failed; close and restart") from self._broken
            if self._ended():
                return
            if self._position >= len(self._buffer):
                if not self._fill():
                    return
                continue
            # The rest of this poll batch; left for the loop above after a commit, which may
            # have changed the batch (a rebalance drops the records of revoked partitions).
            buffer = self._buffer
            current = self.source.current()
            validate = current.validator.validate_json
            for position in range(self._position, len(buffer)):
                message = buffer[position]
                raw = message.value
                try:
                    if unframed and raw and raw[0] != 0:
                        resolved, global_id = current, None
                        record, failures = validate(raw)
                    else:
                        resolved, global_id, record, failures = check_raw(
                            self.source, raw, self.framing
                        )
                    invalid = bool(failures) and is_invalid(failures)
                    if invalid:
                        self._dead_letter(message, resolved, global_id, failures)
                except BaseException:
                    # Not handled (say the registry was unreachable to look up its schema
                    # id, or the DLQ write could not start): nothing was counted, and the
                    # next call starts with this record again.
                    self._position = position
                    raise
                self._position = position + 1
                stats.records += 1
                tally = self._tallies.get(resolved)
                if tally is None:
                    tally = self._tallies[resolved] = _Tally(resolved.freshness_checked)
                tally.records += 1
                if failures:
                    self._count_failures(resolved, record, failures, invalid, tally)
                if not invalid:
                    stats.valid += 1
                    tally.valid += 1
                    if resolved.freshness_field is not None:
                        text = resolved.event_text(record)
                        if text is not None:
                            tally.texts.append(text)
                    self._yielded = message
                    # tuple() of an empty list costs ~0.1 us: most records have no warnings.
                    yield ValidRecord(
                        record, resolved, message, tuple(failures) if failures else ()
                    )
                    if self._yielded is not message:
                        return  # close() took it meanwhile
                    self._yielded = None
                    if self._buffer is not buffer:
                        # A rebalance while the record was out (`wait` polls): the buffer
                        # now holds only what this member still owns. The record counts as
                        # handled only if its partition is still ours (else its new owner
                        # reads it again); then go on from what is left of the buffer.
                        tp = TopicPartition(message.topic, message.partition)
                        if tp in self._consumer.assignment():
                            offsets[message.topic, message.partition] = message.offset
                            self._uncommitted += 1
                        break
                offsets[message.topic, message.partition] = message.offset
                self._uncommitted += 1
                if self._uncommitted >= commit_every or (
                    # The clock is read every 64 records only: per record, it would cost
                    # ~0.1 us, a tenth of this bookkeeping.
                    not self._uncommitted & 63 and time.monotonic() >= self._commit_due
                ):
                    self._commit_periodically()
                    break
                if self._stopping or self._closed or self._broken is not None:
                    break

    def _ended(self) -> bool:
        """Iteration should end: `stop` or `close` was called.

        A call rather than the test inline, so that mypy does not take the flags as still
        false after a yield (they change while the generator waits).
        """
        return self._stopping or self._closed

    def _count_failures(
        self,
        resolved: ResolvedContract,
        record: Any,
        failures: list[Failure],
        invalid: bool,
        tally: _Tally,
    ) -> None:
        """Report `failures` (errors or warnings); count the record if it was invalid."""
        if self.reporter is not None:
            self.reporter.add_failures(resolved.contract, resolved.version, failures, record)
        if not invalid:
            return
        stats = self.stats
        stats.invalid += 1
        tally.invalid += 1
        per_rule = stats.per_rule
        for failure in failures:
            key = f"{failure.kind}:{failure.rule}"
            per_rule[key] = per_rule.get(key, 0) + 1

    def _report(self, *, persist: bool = False) -> None:
        """Hand the reporter the observations counted since the last call; with `persist`
        (before a commit) have it spool what it holds, so that counts of committed records
        survive a crash."""
        tallies, self._tallies = self._tallies, {}
        if self.reporter is None:
            return
        for resolved, tally in tallies.items():
            self.reporter.observe(
                resolved.name,
                resolved.version,
                tally.records,
                tally.valid,
                tally.invalid,
                tally.latest_time(),
            )
        if persist:
            self.reporter.persist()

    def _dead_letter(
        self,
        message: Any,
        resolved: ResolvedContract,
        global_id: int | None,
        failures: list[Failure],
        extra: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Start the DLQ write of an invalid record (its acknowledgement is checked later)."""
        if self.dlq_topic is None:
            log.info(
                "dropping invalid record %s[%s]@%s",
                message.topic,
                message.partition,
                message.offset,
            )
            return
        timestamp = message.timestamp if message.timestamp is not None else -1
        schema_id = global_id if global_id is not None else resolved.global_id
        headers = [
            *without_accord(message.headers),
            *contract_headers(resolved.name, resolved.version, schema_id),
            *failures_headers(failures),
            (HEADER_TOPIC, message.topic.encode()),
            (HEADER_PARTITION, str(message.partition).encode()),
            (HEADER_OFFSET, str(message.offset).encode()),
            (HEADER_TIMESTAMP, str(timestamp).encode()),
            *extra,
        ]
        value = message.value
        while True:
            try:
                send = self.producer.send(
                    self.dlq_topic,
                    value=value,
                    key=message.key,
                    headers=headers,
                    timestamp_ms=timestamp if timestamp >= 0 else None,
                )
                break
            except Exception as exc:
                if value is None or not too_large(exc):
                    raise
            # Too large for the DLQ (the producer's message.max.bytes, below the broker's):
            # retrying would stall the partition for good. The dead letter goes without its
            # value; its headers say where the record is, and how large it was.
            log.warning(
                "invalid record %s[%s]@%s is too large for the DLQ (%d bytes): its dead "
                "letter leaves the value out",
                message.topic,
                message.partition,
                message.offset,
                len(value),
            )
            headers = [*headers, (HEADER_VALUE_OMITTED, str(len(value)).encode())]
            value = None
        self._sends.append(send)

    # -- commits -----------------------------------------------------------------------------

    def _commit_periodically(self) -> None:
        """The periodic commit, which does not stop the stream to wait for the broker.

        The offsets handled so far are committed asynchronously once every DLQ write made
        before them is acknowledged; until then they wait, checked again at each poll. A
        commit still waiting when the next one is due is made the blocking way (`commit`),
        which bounds what a crash can redeliver.
        """
        self._uncommitted = 0
        self._commit_due = time.monotonic() + self._commit_interval
        if self._waiting is not None and not self._commit_waiting():
            self.commit()
            return
        self._report(persist=True)
        if self._broken is not None or not self._handled_offsets:
            return
        self._waiting, self._sends = (self._offsets(None), self._sends), []
        self._commit_waiting()

    def _commit_waiting(self) -> bool:
        """Send the waiting commit if its DLQ writes are acknowledged; False if not yet."""
        assert self._waiting is not None
        offsets, sends = self._waiting
        in_flight = self._in_flight
        if (in_flight is not None and not in_flight.is_done) or any(
            not future.is_done for future in sends
        ):
            return False
        self._waiting = None
        self._check_sends(sends)
        self._in_flight = self._consumer.commit_async(offsets, callback=self._async_committed)
        return True

    def _settle(self) -> None:
        """Wait for the commit in flight: the broker need not apply two at once in order."""
        in_flight = self._in_flight
        deadline = time.monotonic() + self._send_timeout
        while in_flight is not None and not in_flight.is_done and time.monotonic() < deadline:
            time.sleep(0.001)  # completed by kafka-python's IO thread

    def _async_committed(self, _offsets: object, response: object) -> None:
        # A failed commit is made good by the next one: handled offsets stay in the
        # bookkeeping until their partition is revoked.
        if isinstance(response, Exception):
            log.warning("offset commit failed (%s); the next commit retries", response)
        else:
            self.stats.commits += 1

    def _await_sends(self) -> None:
        """Block until every tracked send is acknowledged; SendFailed if one was not."""
        sends, self._sends = self._sends, []
        if self._waiting is not None:  # superseded by the commit this is for
            sends, self._waiting = self._waiting[1] + sends, None
        if self._producer is not None and any(not future.is_done for future in sends):
            # Not made for this: sends of the application's own producer (`track`) are
            # waited for one by one below.
            self._producer.flush(timeout=self._send_timeout)
        self._check_sends(sends)

    def _check_sends(self, sends: list[Any]) -> None:
        """SendFailed if one of these sends failed (waiting for any not done yet)."""
        for future in sends:
            try:
                if not future.is_done:
                    future.get(timeout=self._send_timeout)
                if future.failed():
                    raise future.exception
            except Exception as exc:
                self._broken = exc
                raise SendFailed(f"a record could not be written to Kafka: {exc}") from exc

    def _take_commit(
        self, partitions: set[TopicPartition] | None
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Offsets (next to read) of the handled records, once their sends are acked."""
        if not self._handled_offsets or self._broken is not None:
            return {}  # after a failed send nothing more is committed: it would skip it
        self._await_sends()
        return self._offsets(partitions)

    def _offsets(
        self, partitions: set[TopicPartition] | None
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        return {
            TopicPartition(topic, partition): OffsetAndMetadata(offset + 1, "", -1)
            for (topic, partition), offset in list(self._handled_offsets.items())
            if partitions is None or TopicPartition(topic, partition) in partitions
        }

    def _forget(self, partitions: set[TopicPartition]) -> None:
        """Partitions went elsewhere: drop their bookkeeping and buffered records."""
        for tp in partitions:
            self._handled_offsets.pop((tp.topic, tp.partition), None)
        if self._waiting is not None:
            # Their new owner starts from what was committed: a commit sent later would move
            # it back (or fail on the new generation).
            offsets, sends = self._waiting
            kept = {tp: offset for tp, offset in offsets.items() if tp not in partitions}
            self._waiting = (kept, sends) if kept else None
        # Always a new list, even an empty one: a record out with the application when this
        # ran sees that its buffer changed (`_stream`).
        keep = []
        for m in self._buffer[self._position :]:
            tp = TopicPartition(m.topic, m.partition)
            if tp not in partitions:
                keep.append(m)
            elif tp not in self._dropped:  # the first of its records not handled
                self._dropped[tp] = m.offset
        self._buffer, self._position = keep, 0

    def _rewind(self, assigned: set[TopicPartition]) -> None:
        """Partitions (back) in this member's hands: fetch again what `_forget` dropped.

        kafka-python keeps the position of a partition assigned back to the member that had
        it, and that position is past the records dropped from the buffer: without a seek
        they would never be read (nor their offsets' records validated). The others start
        from what was committed, which is before them.
        """
        dropped, self._dropped = self._dropped, {}
        for tp, offset in dropped.items():
            if tp in assigned:
                self._consumer.seek(tp, offset)
