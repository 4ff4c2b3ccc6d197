"""Writes that do not wait for their answer: a batch's inserts pipelined into SQLite's thread.

aiosqlite runs every statement in one worker thread, taking them from a queue in order, and
each ``await conn.execute(...)`` waits for the thread to answer: a thread round trip per
statement (a switch there and back, and an event-loop wake-up). A batch of events writes
hundreds of rows whose result nobody reads, so inside a pipelined transaction
(:meth:`Database.transaction`, ``pipelined=True``) such a write (:meth:`Database.write`) is
kept, and handed to that same queue with the writes after it (up to
:attr:`Pipeline.FLUSH_AT`, or as soon as anything else uses the connection); the caller goes
on at once, while the thread executes them, a run of the same statement as one
``executemany``. The commit waits for them in the same trip to the thread.

Nothing changes order: every statement, waited for or not, goes through the one queue, and
the kept writes go before anything else does (:attr:`Database.conn` hands them over first),
so a later read sees every earlier write. A write that fails is remembered in the thread
(the later ones are skipped); the commit raises that error instead of committing, and the
transaction rolls back, as if the write had raised where it was made.
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
    :meth:`commit`. Writes wait in a list until :meth:`flush` (the database flushes before
    anyone else uses the connection, see :attr:`Database.conn`), and go to the thread
    together: consecutive writes of the same statement as one ``executemany``."""

    FLUSH_AT = 64  # writes kept before they go (the thread works while the caller goes on)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.errors: list[BaseException] = []
        self._pending: list[tuple[str, Any]] = []
        # aiosqlite's own queue and sqlite3 connection: no public call queues a statement
        # without waiting for it (``execute`` enqueues only once awaited).
        self._conn = conn
        self._queue = conn._tx
        # Each hand-over carries a future, as aiosqlite's own calls do (its thread answers
        # every item it takes; no one waits for these).
        self._loop = asyncio.get_running_loop()
        self._sqlite: sqlite3.Connection = conn._conn

    def write(self, sql: str, parameters: Iterable[Any]) -> None:
        self._pending.append((sql, parameters))
        if len(self._pending) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Hand the writes kept so far to the thread (in order, before anything queued
        after this call)."""
        if self._pending:
            self._queue.put_nowait((self._loop.create_future(),
                                    partial(_run, self._sqlite, self._pending, self.errors)))
            self._pending = []

    async def commit(self) -> BaseException | None:
        """The writes not handed over yet, then commit, in one trip to the thread; if a write
        failed, roll back instead. Returns the error to raise (None: committed)."""
        pending, self._pending = self._pending, []
        failed: BaseException | None = await self._conn._execute(
            partial(_commit, self._sqlite, pending, self.errors))
        return failed

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


def _commit(
    conn: sqlite3.Connection, writes: list[tuple[str, Any]], errors: list[BaseException],
) -> BaseException | None:
    """In the connection's thread: the last writes, then the end of the transaction: rolled
    back if a write failed, else committed. Returns the error (None: committed). Ending it
    here, not in the caller, leaves no transaction open even if the caller is cancelled."""
    _run(conn, writes, errors)
    try:
        conn.execute("ROLLBACK" if errors else "COMMIT").close()
    except Exception as exc:
        return errors[0] if errors else exc
    return errors[0] if errors else None
