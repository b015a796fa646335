"""Engine and sessions: SQLite tuned for concurrent writers, PostgreSQL as it comes."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from registry.errors import Conflict

__all__ = ["Database", "create_engine"]

T = TypeVar("T")
log = logging.getLogger("registry")

_WRITE = "accord_write"
ATTEMPTS = 8


def create_engine(url: str, *, autocommit: bool = False) -> Engine:
    """An engine for `url` (already normalised by `Settings`).

    `autocommit`: every statement on its own, for single-statement reads: no BEGIN and
    no ROLLBACK round trips around them.
    """
    # As many pooled connections as FastAPI has worker threads (40): under load a smaller
    # pool would open and close an overflow connection per request.
    pool: dict[str, Any] = {"pool_size": 40, "max_overflow": 10}
    if not url.startswith("sqlite:"):
        if autocommit:
            pool["isolation_level"] = "AUTOCOMMIT"
        return sa.create_engine(url, pool_recycle=1800, **pool)
    engine = sa.create_engine(
        url,
        # Requests run on FastAPI's worker threads; the pool hands each one connection.
        connect_args={"check_same_thread": False, "timeout": 30},
        **pool,
    )
    event.listen(engine, "connect", _sqlite_connect)
    if not autocommit:  # without BEGIN, sqlite3 in our set-up runs each statement alone
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Take transaction control from the sqlite3 module, so that `_sqlite_begin` decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; a busy writer is waited for, not failed.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A writer that began deferred and read first cannot upgrade once another writer
    # committed (SQLITE_BUSY_SNAPSHOT, not retried by busy_timeout): take the lock up front.
    immediate = connection.get_execution_options().get(_WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The database: sessions for `reads()` and `writes()`, and `read()` for hot paths.

    `read_threads`: how many `read()` calls of one event loop may wait on a server
    database at once. A few threads keep the socket waits overlapped; many more only add
    GIL hand-offs (measured on 2 cores: 2 beat 40 for throughput).
    """

    def __init__(self, url: str, *, read_threads: int = 2) -> None:
        self.url = url
        self.read_threads = read_threads
        self._limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
            WeakKeyDictionary()
        )
        self.engine = create_engine(url)
        self.reader = create_engine(url, autocommit=True)
        self.dialect = self.engine.dialect.name
        # SQLite is a library call in this process, cheaper than a hop to a worker thread;
        # a server database is waited on over a socket, which must not stall the event loop.
        self.inline_reads = self.dialect == "sqlite"
        self.reads: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.writes: sessionmaker[Session] = sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, retried when it collides with another.

        Collisions are expected under concurrent publishes: two creates of one contract
        (unique name), a PostgreSQL serialization failure or deadlock, a busy SQLite file.
        Each attempt is a fresh transaction, so a failed attempt leaves nothing behind.
        """
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.writes() as session, session.begin():
                    return work(session)
            except (IntegrityError, OperationalError) as exc:
                if attempt == ATTEMPTS or not _retryable(exc):
                    if isinstance(exc, IntegrityError):
                        raise Conflict(
                            "the write kept colliding with concurrent writes; retry it"
                        ) from exc
                    raise
                log.info("write attempt %d collided (%s); retrying", attempt, exc.orig)
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run a short read (one statement, or a few that need not share a snapshot) on
        an autocommit connection: inline for SQLite, on a worker thread otherwise."""
        if self.inline_reads:
            return self._read(work)
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:  # per loop: a limiter belongs to the loop it was made in
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.read_threads)
        return await anyio.to_thread.run_sync(self._read, work, limiter=limiter)

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.reader.connect() as connection:
            return work(connection)

    def dispose(self) -> None:
        self.engine.dispose()
        self.reader.dispose()


_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout


def _retryable(exc: IntegrityError | OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRY_SQLSTATES:
        return True
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)
