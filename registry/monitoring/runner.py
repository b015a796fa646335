"""The background side of monitoring, run by every registry process.

Three loops on the event loop of the app, each doing its work on a worker thread (the event
loop never waits on the database or a webhook receiver):

- every `sla_interval` seconds, under the ``monitor`` lease (one process at a time):
  evaluate SLAs (`sla.evaluate_all`) and start/end breach episodes (`episodes.detect`);
- every `sla_interval` seconds, see whether an hour has passed since any process pruned
  (the ``retention`` lease), and if so delete what is older than `retention_days`
  (`retention.prune`);
- every `webhook_interval` seconds, in every process: deliver due webhook deliveries
  (claims keep two processes from sending one delivery).

`Monitor.run_once()`, `Monitor.prune()` and `Monitor.deliver_once()` do one round each, for
tests and tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import httpx

from registry.db import Database
from registry.monitoring import episodes, leases, retention, sla, webhooks
from registry.monitoring.sealing import SecretSealer
from registry.settings import Settings

__all__ = ["Monitor", "TickResult"]

log = logging.getLogger("registry")
LEASE = "monitor"
RETENTION_LEASE = "retention"


@dataclass(frozen=True, slots=True)
class TickResult:
    sla_changes: list[sla.Change] = field(default_factory=list)
    episode_changes: list[episodes.EpisodeChange] = field(default_factory=list)
    ran: bool = True  # False: another process holds the lease


class Monitor:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.sealer = SecretSealer(settings.secret_keys)
        self.blocked = settings.blocked_networks  # no webhook goes to these
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._client: httpx.Client | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._held = False

    # -- one round ------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> TickResult:
        """Evaluate SLAs and breach episodes once (no lease: call it from one place)."""
        now = now or datetime.now(UTC)
        changes = sla.evaluate_all(self.db, now)
        quiet = timedelta(seconds=self.settings.episode_quiet)
        return TickResult(changes, episodes.detect(self.db, quiet, now))

    def tick(self, now: datetime | None = None) -> TickResult:
        """`run_once` if this process holds (or takes) the monitor lease."""
        ttl = timedelta(seconds=max(3 * self.settings.sla_interval, 30))
        if not leases.acquire(self.db, LEASE, self.holder, ttl, now):
            return TickResult(ran=False)
        self._held = True
        return self.run_once(now)

    def prune(self, now: datetime | None = None) -> retention.Pruned:
        """Delete the reports and events older than `retention_days` (none if it is 0)."""
        kept = self.settings.retention
        if kept is None:
            return retention.Pruned()
        pruned = retention.prune(self.db, kept, now)
        if pruned.total:
            log.info("retention: deleted %s", pruned)
        return pruned

    def retain(self, now: datetime | None = None) -> retention.Pruned | None:
        """`prune` unless some process did in the last hour; None then.

        The ``retention`` lease, taken for an hour and never renewed, paces it across
        processes and restarts; it is its own lease, so that a long first prune (a large
        history) holds up no SLA evaluation.
        """
        if self.settings.retention is None:
            return None
        if not leases.acquire(
            self.db, RETENTION_LEASE, self.holder, retention.EVERY, now, renew=False
        ):
            return None
        return self.prune(now)

    def deliver_once(self, now: datetime | None = None) -> list[webhooks.Attempt]:
        """Send the webhook deliveries due now."""
        if self._client is None:
            self._client = httpx.Client(timeout=10.0, follow_redirects=False)
        return webhooks.deliver_due(
            self.db,
            self._client,
            sealer=self.sealer,
            backoff=self.settings.webhook_backoff,
            attempts=self.settings.webhook_attempts,
            now=now,
            blocked=self.blocked,
        )

    # -- in the background ----------------------------------------------------------------

    def start(self) -> None:
        """Start the loops whose interval is not 0 (call from the app's lifespan)."""
        loops: list[tuple[float, Callable[[], object], str]] = [
            (self.settings.sla_interval, self.tick, "SLA evaluation"),
            (self.settings.webhook_interval, self.deliver_once, "webhook delivery"),
            (self.settings.sla_interval, self.retain, "retention"),
        ]
        for interval, work, what in loops:
            if interval > 0:
                self._tasks.append(asyncio.create_task(self._loop(interval, work, what)))

    async def _loop(self, interval: float, work: Callable[[], object], what: str) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await anyio.to_thread.run_sync(work)
            except Exception:  # keep going: the next round may well succeed
                log.exception("%s failed; trying again in %ss", what, interval)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._client is not None:
            self._client.close()
            self._client = None
        if not self._held:
            return
        self._held = False
        try:
            await anyio.to_thread.run_sync(leases.release, self.db, LEASE, self.holder)
        except Exception:  # the database may be gone at shutdown; the lease just expires
            log.debug("could not release the monitor lease", exc_info=True)
