"""SQLite for an asyncio program without a thread hop per call.

aiosqlite runs every call (open a cursor, execute, fetch, close) on a thread of its own and
wakes the event loop for each answer: about 80 µs a call here, four calls a statement, for
statements SQLite itself answers in a few microseconds from its page cache. That hand-off was
a quarter of an update's time (issue 13). This module gives SQLAlchemy's aiosqlite dialect
(`module=dbapi()` in `storage.db.Database`) a connection with aiosqlite's async interface
that runs statements on the event loop's own thread, and keeps off it only what may take
long:

- **Waiting for the write lock.** SQLite's own busy handler would sleep *inside* the call,
  blocking the loop, and with it the very session (same process, another connection) that
  holds the lock: a deadlock until the timeout. So these connections set `busy_timeout` to 0
  and a statement SQLite refuses as busy is retried after an `asyncio.sleep`, with a growing
  pause, until `busy_timeout` (the one the pragmas ask for) has passed; then the error goes
  up as before. A busy statement did nothing (SQLite statements are atomic), so retrying it
  is what SQLite's handler does too.
- **COMMIT**, which waits for the disk (`synchronous=FULL`: the WAL is synced), when the disk
  is slow. On a local disk the sync takes ~0.2 ms, less than the hand-off to a worker thread
  and back (~0.3 ms here, measured: bench/RESULTS.md), and nothing else could use the database
  meanwhile (every transaction holds the write lock, `BEGIN IMMEDIATE`), so a COMMIT runs in
  place while the recent ones typically took less than `SLOW_COMMIT_MS` (a moving average: a
  virtual disk's occasional slow sync, which does hold the loop that once, does not send the
  next ones away), and on a worker thread, where a slow disk blocks nothing, while they took
  longer. `VACUUM` and checkpoints always run there (`run_in_thread`), and after a VACUUM the
  COMMITs do too until the average has come down again (`commit_after_vacuum`): the first
  COMMIT after it may checkpoint the whole file, which the VACUUM wrote to the WAL. SQLite's
  ordinary automatic checkpoint (every 1,000 WAL pages) still runs inside a COMMIT in place: a
  few MB copied and synced, a pause of milliseconds now and then.

A long query would hold the loop while SQLite works. An update's queries take milliseconds
(bench/), but the few reads that grow with the data (the count's inputs, the papers', a digest
round over every cluster: seconds at 3,000 units or 1,000 clusters) run inside `offloaded()`,
where every statement and fetch goes to a worker thread as with aiosqlite. Nothing here changes
what is stored or when: the statements, their order and the transactions are SQLAlchemy's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
SLOW_COMMIT_MS = 2.0  # COMMITs typically slower: the disk is slow (see the module docstring)
COMMIT_AVERAGING = 0.1  # weight of the newest COMMIT in the moving average of their time
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


_OFFLOADED: ContextVar[bool] = ContextVar("thidua_sqlite_offloaded", default=False)


@contextmanager
def offloaded() -> Iterator[None]:
    """Run this block's SQLite statements on a worker thread: reads that grow with the data
    (see the module docstring). Nothing on PostgreSQL, whose driver never blocks the loop."""
    token = _OFFLOADED.set(True)
    try:
        yield
    finally:
        _OFFLOADED.reset(token)


def _busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # the extended code: the primary one is its low byte
    return code is not None and code & 0xFF in _BUSY


class InlineCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor, run in place."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection
        self._cursor = connection.raw.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: Any) -> None:
        self._cursor.close()

    async def _run(self, call: Callable[[], Any]) -> Any:
        if _OFFLOADED.get():
            return await self._connection.run_in_thread(call)
        return await self._connection.retry_busy(call)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._run(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)
        await self._run(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchall(self) -> list[Any]:
        if _OFFLOADED.get():
            return await asyncio.to_thread(self._cursor.fetchall)
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """An aiosqlite-shaped connection over a sqlite3 connection (see the module docstring)."""

    waits_async = True  # storage.db's pragmas give the busy timeout to `busy_timeout_ms`

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.busy_timeout_ms = 0
        self._connection: sqlite3.Connection | None = raw  # aiosqlite's name: None once closed

    @classmethod
    async def connect(cls, database: Any, **options: Any) -> InlineConnection:
        options["check_same_thread"] = False  # offloaded reads, VACUUM, checkpoints, slow COMMITs: worker threads
        options.pop("timeout", None)  # the waiting is ours (`retry_busy`)
        raw = sqlite3.connect(database, timeout=0, **options)
        return cls(raw)

    async def retry_busy(self, call: Callable[[], Any]) -> Any:
        """`call()` here and now, again after a pause while SQLite says the file is busy."""

        async def in_place() -> Any:
            return call()

        return await self._retry_busy(in_place)

    async def run_in_thread(self, call: Callable[[], Any]) -> Any:
        """`call()` on a worker thread, waiting for the lock as `retry_busy` does."""
        return await self._retry_busy(lambda: asyncio.to_thread(call))

    async def _retry_busy(self, start: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        pause = _FIRST_PAUSE
        while True:
            try:
                return await start()
            except sqlite3.OperationalError as error:
                if not _busy(error) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    def cursor(self) -> InlineCursor:
        return InlineCursor(self)

    commit_seconds = 0.0  # the recent COMMITs' typical time (a moving average), shared by the process's
    # connections (one disk, most likely)

    async def commit(self) -> None:
        if not self.raw.in_transaction:
            return

        def timed_commit() -> None:
            started = time.monotonic()
            self.raw.commit()
            spent = time.monotonic() - started
            InlineConnection.commit_seconds += (spent - InlineConnection.commit_seconds) * COMMIT_AVERAGING

        if InlineConnection.commit_seconds > SLOW_COMMIT_MS / 1000:  # a slow disk, or just after a VACUUM
            await self.run_in_thread(timed_commit)
        else:
            await self.retry_busy(timed_commit)

    @staticmethod
    def commit_after_vacuum() -> None:
        """Send the next COMMITs to a worker thread as if the disk were slow (about 60 of them,
        until the average is under `SLOW_COMMIT_MS` again): see the module docstring."""
        InlineConnection.commit_seconds = max(InlineConnection.commit_seconds, 1.0)

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        self._connection = None
        self.raw.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self.raw.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self.raw.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self.raw.isolation_level = value


class _Adapted(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapter, with the isolation level set directly (aiosqlite's goes through
    its thread's queue)."""

    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> _Adapted:
        kwargs.pop("async_creator_fn", None)
        return _Adapted(self, await_(InlineConnection.connect(*args, **kwargs)))


def dbapi() -> InlineDBAPI:
    """The module to give `create_async_engine(..., module=...)` for a sqlite+aiosqlite URL."""
    return InlineDBAPI(aiosqlite, sqlite3)
