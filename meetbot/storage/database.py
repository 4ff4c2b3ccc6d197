"""SQLite through aiosqlite: WAL, foreign keys, a busy timeout and versioned migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from meetbot.storage.migrations import MIGRATIONS, Migration
from meetbot.storage.pipeline import Pipeline

log = logging.getLogger(__name__)


class DatabaseTooNew(RuntimeError):
    pass


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # One connection serves the whole bot: writers take turns so that no write lands
        # inside another task's transaction.
        self._write_lock = asyncio.Lock()
        self._pipeline: Pipeline | None = None  # inside a pipelined transaction

    @property
    def conn(self) -> aiosqlite.Connection:
        """The connection; in a pipelined transaction, the writes kept so far are handed to
        SQLite's thread first, so whatever the caller does next comes after them."""
        if self._pipeline is not None:
            self._pipeline.flush()
        return self._conn

    @classmethod
    async def open(cls, path: Path, migrations: list[Migration] | None = None) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        # Closed on any failure (a file that is not a database fails the first PRAGMA): an
        # open connection's thread would keep the process from exiting.
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA synchronous=NORMAL")
            db = cls(conn, path)
            await db._migrate(MIGRATIONS if migrations is None else migrations)
        except BaseException:
            await conn.close()
            raise
        return db

    async def _migrate(self, migrations: list[Migration]) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self.conn.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        current = (row[0] if row else None) or 0
        newest = max((m.version for m in migrations), default=0)
        if current > newest:
            raise DatabaseTooNew(
                f"{self.path}: the database is at version {current}, newer than this meetbot "
                f"(which knows up to {newest}). Upgrade meetbot; never downgrade a database."
            )
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version <= current:
                continue
            async with self.transaction():
                for statement in _statements(migration.sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_version VALUES (?, ?, datetime('now'))",
                    (migration.version, migration.description),
                )

    @asynccontextmanager
    async def transaction(self, *, pipelined: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic unit of work; every write goes through one of these. ``pipelined``:
        :meth:`write` does not wait for SQLite (see :mod:`meetbot.storage.pipeline`); if a
        write failed, the transaction is rolled back instead of committed and its error
        raised."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            pipeline = self._pipeline = Pipeline(self.conn) if pipelined else None
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                if pipeline is not None:  # a write failed first: that is the error to raise
                    self._pipeline = None
                    pipeline.raise_failure()
                raise
            else:
                if pipeline is None:
                    await self.conn.execute("COMMIT")
                elif (failed := await pipeline.commit()) is not None:
                    raise failed
            finally:
                self._pipeline = None

    async def write(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        """A statement whose result nobody reads (an insert, an update): in a pipelined
        transaction queued without waiting, otherwise executed now."""
        if self._pipeline is not None:
            self._pipeline.write(sql, parameters)
        else:
            await self.conn.execute(sql, parameters)

    @asynccontextmanager
    async def between_writes(self) -> AsyncIterator[aiosqlite.Connection]:
        """Read without seeing another task's transaction half-done (one connection serves
        all: a read in the middle of someone's transaction would see its uncommitted rows)."""
        async with self._write_lock:
            yield self.conn

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and empty it (after a withdrawal
        no old page with the removed text may stay in the log). Taken between writers."""
        async with self._write_lock:
            try:
                await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as exc:  # a reader holds the log: try next time
                log.warning("WAL checkpoint postponed: %s", exc)

    async def close(self) -> None:
        await self.conn.close()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (scripts hold no semicolons in strings); a
    trigger's body (``BEGIN ...; END``) stays one statement."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if sqlite3.complete_statement(pending + ";") or not pending.strip():
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
