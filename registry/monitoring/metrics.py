"""Prometheus metrics at ``/metrics``: what the database knows, and what this process did.

Two kinds, so that any number of uvicorn worker processes report one truth:

- **From the database, at scrape time** (`DatabaseCollector`): breaches by contract,
  version, kind and rule; records validated (valid/invalid) by contract and source; SLA
  status per contract and per check; breach episodes open; webhook outbox by state. Any
  worker answers the same, whichever the load balancer picks.
- **Per process** (HTTP requests, publishes, compatibility checks: counts and latency):
  counted in this process. With several workers ``accord serve`` points
  ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start, and every
  worker then writes its counts to files there, summed by whichever worker is scraped
  (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.db import Database
from registry.tables import (
    BreachEpisodeRow,
    BreachTotalRow,
    ContractRow,
    ObservationTotalRow,
    SlaStatusRow,
    WebhookDeliveryRow,
)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "DatabaseCollector",
    "MetricsMiddleware",
    "check_done",
    "prepare_multiprocess",
    "render",
]

log = logging.getLogger("registry")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# No `_created` series: Prometheus does not need them, and they double every sample.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Per-process metrics, in a registry of their own (never prometheus_client's global one).
PROCESS = CollectorRegistry(auto_describe=True)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "accord_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=PROCESS,
)
HTTP_LATENCY = Histogram(
    "accord_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=PROCESS,
)
PUBLISHES = Counter(
    "accord_publishes",
    "Publish requests by result: created, existing, refused (409), invalid (4xx), error.",
    ["result"],
    registry=PROCESS,
)
PUBLISH_LATENCY = Histogram(
    "accord_publish_duration_seconds",
    "Time to answer a publish request.",
    buckets=LATENCY_BUCKETS,
    registry=PROCESS,
)
CHECKS = Counter(
    "accord_compatibility_checks",
    "Dry-run compatibility checks by result: compatible, incompatible, invalid, error.",
    ["result"],
    registry=PROCESS,
)
CHECK_LATENCY = Histogram(
    "accord_compatibility_check_duration_seconds",
    "Time to answer a dry-run compatibility check.",
    buckets=LATENCY_BUCKETS,
    registry=PROCESS,
)

# Route templates of publishes and dry-run checks, native and Confluent-compatible.
PUBLISH_ROUTES = {"/contracts/{name}/versions", "/subjects/{subject}/versions"}
CHECK_ROUTES = {
    "/contracts/{name}/compatibility",
    "/compatibility/subjects/{subject}/versions",
    "/compatibility/subjects/{subject}/versions/{version}",
}


def check_done(report: dict[str, Any]) -> None:
    """Count the verdict of a dry-run check (called by `registry.publishing.dry_run`)."""
    CHECKS.labels("compatible" if report.get("compatible") else "incompatible").inc()


def _publish_result(status: int) -> str:
    if status == 201:
        return "created"
    if 200 <= status < 300:
        return "existing"
    if status == 409:
        return "refused"
    return "invalid" if status < 500 else "error"


class MetricsMiddleware:
    """Count and time every HTTP request by its route template (bounded label values)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            if method == "POST" and template in PUBLISH_ROUTES:
                PUBLISHES.labels(_publish_result(status)).inc()
                PUBLISH_LATENCY.observe(elapsed)
            elif method == "POST" and template in CHECK_ROUTES:
                CHECK_LATENCY.observe(elapsed)
                if status >= 300:
                    CHECKS.labels("invalid" if status < 500 else "error").inc()


class DatabaseCollector(Collector):
    """Metrics computed from the registry's database when Prometheus scrapes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "accord_metrics_database_up", "1 when the database answered this scrape."
        )
        try:
            with self.db.reader.connect() as connection:
                families = list(_families(connection))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _families(connection: sa.Connection) -> Iterator[Metric]:
    b, o, s = BreachTotalRow, ObservationTotalRow, SlaStatusRow
    breaches = CounterMetricFamily(
        "accord_breaches",
        "Failing records reported by enforcers (and SLA breach episodes), "
        "by contract, version, kind and rule.",
        labels=["contract", "version", "kind", "rule"],
    )
    for contract, version, kind, rule, count in connection.execute(
        sa.select(b.contract, b.version, b.kind, b.rule, sa.func.sum(b.count)).group_by(
            b.contract, b.version, b.kind, b.rule
        )
    ):
        version_label = str(version) if version else ""  # 0: reports that named none
        breaches.add_metric([contract, version_label, kind, rule], float(count or 0))
    yield breaches

    records = CounterMetricFamily(
        "accord_records_validated",
        "Records enforcers validated, by contract, source and result (valid, invalid).",
        labels=["contract", "source", "result"],
    )
    for contract, source, valid, invalid in connection.execute(
        sa.select(o.contract, o.source, o.valid, o.invalid)
    ):
        records.add_metric([contract, source, "valid"], float(valid))
        records.add_metric([contract, source, "invalid"], float(invalid))
    yield records

    checks = GaugeMetricFamily(
        "accord_sla_breached",
        "1 while an SLA check (freshness, volume, breach_rate) of a source is breached.",
        labels=["contract", "source", "rule"],
    )
    measured = GaugeMetricFamily(
        "accord_sla_measured",
        "The last measured value of an SLA check: freshness age in seconds, records in "
        "the last volume window, or breach rate.",
        labels=["contract", "source", "rule"],
    )
    worst: dict[str, int] = {}
    for contract, source, rule, status, value in connection.execute(
        sa.select(s.contract, s.source, s.rule, s.status, s.measured).where(s.status != "inactive")
    ):
        breached = status == "breached"
        checks.add_metric([contract, source, rule], float(breached))
        if value is not None:
            measured.add_metric([contract, source, rule], float(value))
        worst[contract] = max(worst.get(contract, 0), int(breached))
    status_gauge = GaugeMetricFamily(
        "accord_sla_status",
        "SLA status per contract: 1 ok, 0 breached (any check of any source).",
        labels=["contract"],
    )
    for contract, breached_any in sorted(worst.items()):
        status_gauge.add_metric([contract], float(1 - breached_any))
    yield status_gauge
    yield checks
    yield measured

    e = BreachEpisodeRow
    episodes = GaugeMetricFamily(
        "accord_breach_episodes_open",
        "Breach episodes in progress (a rule breaching, not yet quiet), by contract.",
        labels=["contract"],
    )
    for contract, count in connection.execute(
        sa.select(e.contract, sa.func.count()).where(e.ended_at.is_(None)).group_by(e.contract)
    ):
        episodes.add_metric([contract], float(count))
    yield episodes

    d = WebhookDeliveryRow
    outbox = GaugeMetricFamily(
        "accord_webhook_deliveries",
        "Webhook deliveries by state: pending, delivered, failed.",
        labels=["state"],
    )
    counts = {
        state: count
        for state, count in connection.execute(
            sa.select(d.state, sa.func.count()).group_by(d.state)
        )
    }
    for state in ("pending", "delivered", "failed"):
        outbox.add_metric([state], float(counts.get(state, 0)))
    yield outbox

    contracts = GaugeMetricFamily("accord_contracts", "Live contracts in the registry.")
    live = connection.scalar(
        sa.select(sa.func.count()).where(
            ContractRow.deleted_at.is_(None),
            ContractRow.purged_at.is_(None),
            ContractRow.latest_version.is_not(None),
        )
    )
    contracts.add_metric([], float(live or 0))
    yield contracts


def render(db: Database) -> bytes:
    """The text exposition of every metric, for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        for collector in (HTTP_REQUESTS, HTTP_LATENCY, PUBLISHES, PUBLISH_LATENCY):
            registry.register(collector)
        for collector in (CHECKS, CHECK_LATENCY):
            registry.register(collector)
    registry.register(DatabaseCollector(db))
    return generate_latest(registry)


def prepare_multiprocess(workers: int) -> str | None:
    """Before starting `workers` > 1 processes: a fresh multiprocess directory for their
    metrics (unless ``PROMETHEUS_MULTIPROC_DIR`` names one), removed at exit."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        return os.environ.get(MULTIPROC_ENV)
    directory = tempfile.mkdtemp(prefix="accord-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory
