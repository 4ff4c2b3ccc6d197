"""Writes that do not wait for their answer: a batch's inserts pipelined into SQLite's thread.

aiosqlite runs every statement in one worker thread, taking them from a queue in order, and
each ``await conn.execute(...)`` waits for the thread to answer: a thread round trip per
statement (a switch there and back, and an event-loop wake-up). A batch of events writes
hundreds of rows whose result nobody reads, so inside a pipelined transaction
(:meth:`Database.transaction`, ``pipelined=True``) such a write is put in that same queue
and the caller goes on at once, while the thread executes it.

Nothing changes order: every statement, waited for or not, goes through the one queue, so a
later read sees every earlier write. A write that fails is remembered in the thread; the
transaction checks (:meth:`Pipeline.settle`) before it commits and raises that error, and
rolls back, as if the write had raised where it was made.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from functools import partial
from itertools import groupby
from operator import itemgetter
from typing import Any

import aiosqlite


class Pipeline:
    """Writes queued in order on one connection's thread, their failures kept for
    :meth:`settle`. Writes wait in a list until :meth:`flush` (the database flushes before
    anyone else uses the connection, see :attr:`Database.conn`), and go to the thread
    together: consecutive writes of the same statement as one ``executemany``."""

    FLUSH_AT = 64  # writes kept before they go (the thread works while the caller goes on)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.errors: list[BaseException] = []
        self._pending: list[tuple[str, Any]] = []
        # aiosqlite's own queue and sqlite3 connection: no public call queues a statement
        # without waiting for it (``execute`` enqueues only once awaited).
        self._queue = conn._tx
        self._sqlite: sqlite3.Connection = conn._conn

    def write(self, sql: str, parameters: Iterable[Any]) -> None:
        self._pending.append((sql, parameters))
        if len(self._pending) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Hand the writes kept so far to the thread (in order, before anything queued
        after this call)."""
        if self._pending:
            self._queue.put_nowait((None, partial(_run, self._sqlite, self._pending,
                                                  self.errors)))
            self._pending = []

    async def settle(self) -> None:
        """Wait for every write made so far; raise the first that failed."""
        self.flush()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._queue.put_nowait((None, partial(loop.call_soon_threadsafe, _resolve, done)))
        await done
        self.raise_failure()

    def raise_failure(self) -> None:
        if self.errors:
            raise self.errors[0]


def _run(
    conn: sqlite3.Connection, writes: list[tuple[str, Iterable[Any]]],
    errors: list[BaseException],
) -> None:
    """In the connection's thread: the writes in order, runs of one statement together."""
    if errors:
        return  # the transaction is lost already: it will be rolled back
    try:
        for sql, group in groupby(writes, key=itemgetter(0)):
            rows: list[Any] = [parameters for _sql, parameters in group]
            conn.executemany(sql, rows).close()
    except BaseException as exc:
        errors.append(exc)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
