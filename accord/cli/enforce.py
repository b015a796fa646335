"""``accord enforce kafka``: a standalone validating bridge, for consumers that can't change.

Kafka and the enforcers are imported inside the command: ``accord lint`` does not pay for them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.markup import escape

from accord.cli.connect import registry_client, spool_directory
from accord.cli.output import EXIT_OK, err, fail
from contracts import DocumentSyntaxError

if TYPE_CHECKING:
    from enforcers.kafka import Framing

__all__ = ["app", "kafka"]

app = typer.Typer(
    help="Enforce contracts on data in motion: validate, route, report breaches.",
    no_args_is_help=True,
)

FRAMINGS = ("auto", "none", "confluent")


def _default_spool(group: str) -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "accord" / "spool" / group


@app.command("kafka")
def kafka(
    bootstrap_servers: str = typer.Option(
        ...,
        "--bootstrap-servers",
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka brokers: host:port, comma-separated.",
        show_default=False,
    ),
    topics: list[str] = typer.Option(
        ..., "--topic", help="Topic to enforce (repeatable).", show_default=False
    ),
    contract: str = typer.Option(
        ...,
        "--contract",
        help="NAME or NAME@VERSION from the registry (latest by default), or a contract FILE.",
        show_default=False,
    ),
    group: str = typer.Option(
        ..., "--group", help="Consumer group (also the breach reports' source).", show_default=False
    ),
    valid_topic: str = typer.Option(
        ..., "--valid-topic", help="Where valid records go.", show_default=False
    ),
    dlq_topic: str = typer.Option(
        ...,
        "--dlq-topic",
        help="Where invalid records go, with the reasons in headers.",
        show_default=False,
    ),
    registry: str | None = typer.Option(
        None,
        "--registry",
        envvar="ACCORD_REGISTRY_URL",
        help="Registry URL (for a NAME: http://127.0.0.1:8000 by default).",
    ),
    spool_dir: Path | None = typer.Option(
        None,
        "--spool-dir",
        help="Where breach reports wait for the registry "
        "(default: $XDG_STATE_HOME/accord/spool/GROUP).",
    ),
    report: bool = typer.Option(
        True,
        "--report/--no-report",
        help="Report breaches to the registry (when there is one: a NAME, or --registry).",
    ),
    framing: str = typer.Option(
        "auto",
        "--framing",
        help="auto (a leading 0 byte is Confluent framing), none, or confluent (required).",
    ),
    commit_every: int = typer.Option(
        5000, "--commit-every", min=1, help="Commit after this many handled records..."
    ),
    commit_interval_ms: int = typer.Option(
        1000, "--commit-interval-ms", min=1, help="...or this long, whichever comes first."
    ),
    refresh_interval: float = typer.Option(
        30.0, "--refresh-interval", help="Seconds between revalidations of NAME@latest."
    ),
    session_timeout_ms: int = typer.Option(
        10000, "--session-timeout-ms", help="Consumer group session timeout."
    ),
    auto_offset_reset: str = typer.Option(
        "earliest",
        "--auto-offset-reset",
        help="Where a group without committed offsets starts: earliest or latest.",
    ),
) -> None:
    """Validate TOPIC against a contract: valid records to --valid-topic, the rest to
    --dlq-topic. Offsets are committed once the produce of each record is acknowledged;
    SIGTERM/SIGINT drains (finishes the record in hand, flushes, commits) and exits 0."""
    from enforcers.contract_source import ContractSource, ContractSourceError, is_contract_file
    from enforcers.kafka import ValidatingConsumer, run_bridge
    from enforcers.reporting import BreachReporter

    if framing not in FRAMINGS:
        raise fail(f"--framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
    if auto_offset_reset not in ("earliest", "latest"):
        raise fail("--auto-offset-reset must be earliest or latest")
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    client = None
    if registry or not is_contract_file(contract):
        client = registry_client(registry)
    reporter = None
    if report and client is not None:
        sender = client

        def deliver(batch: Mapping[str, Any]) -> None:
            sender.report_breaches(batch)  # raises if refused: the batch is retried

        spool = spool_directory(spool_dir or _default_spool(group))
        reporter = BreachReporter(deliver, source=group, spool_dir=spool).start()

    try:
        source = ContractSource.parse(contract, client=client, refresh_interval=refresh_interval)
        consumer = ValidatingConsumer(
            topics,
            contract=source,
            group_id=group,
            bootstrap_servers=bootstrap_servers.split(","),
            dlq_topic=dlq_topic,
            reporter=reporter,
            framing=cast("Framing", framing),
            commit_every=commit_every,
            commit_interval_ms=commit_interval_ms,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(100, session_timeout_ms // 3),
            auto_offset_reset=auto_offset_reset,
        )
    except ContractSourceError as exc:
        _close(reporter, client)
        # An unreadable file's own error already starts with its name: not twice.
        cause = exc.__cause__
        raise fail(str(cause if isinstance(cause, DocumentSyntaxError) else exc)) from None
    except Exception as exc:  # kafka-python: no broker, bad config...
        _close(reporter, client)
        raise fail(f"cannot start the Kafka consumer: {exc}") from None

    stops = 0

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stops
        stops += 1
        if stops > 1:  # asked twice: stop waiting for the drain
            os._exit(128 + signum)
        err.print(f"{signal.Signals(signum).name}: draining")
        consumer.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    current = source.current()
    at = f" version {current.version}" if current.version is not None else ""
    err.print(
        f"enforcing {escape(source.name)}{at} on {escape(', '.join(topics))} (group "
        f"{escape(group)}): valid -> {escape(valid_topic)}, invalid -> {escape(dlq_topic)}"
    )
    try:
        stats = run_bridge(consumer, valid_topic)
    finally:
        _close(reporter, client)
    diverted = f" ({stats.diverted} too large, to the DLQ)" if stats.diverted else ""
    err.print(
        f"drained: {stats.records} records, {stats.valid} valid{diverted}, "
        f"{stats.invalid} invalid; offsets committed"
    )
    raise typer.Exit(EXIT_OK)


def _close(reporter: Any, client: Any) -> None:
    if reporter is not None:
        reporter.close()
    if client is not None:
        client.close()
