"""A consistent copy of an SQLite database that another process may be writing.

SQLite's online backup API reads the source in one read transaction (all pages in one step),
so the copy is one moment of the database: every committed transaction up to then, those still
in the write-ahead log included, and nothing half-written. In WAL mode readers and writers do
not block each other, so the running bot goes on writing meanwhile.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """The copy could not be made, or is not sound; the message says which file and why."""


@dataclass(frozen=True)
class Copied:
    """What a backup copied: its tables' row counts and the schema version, if it has one."""

    rows: dict[str, int]
    schema_version: int | None


def is_sqlite(path: Path) -> bool:
    """True for an SQLite database file (by its 16-byte header)."""
    try:
        with path.open("rb") as fh:
            return fh.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def backup_database(source: Path, destination: Path, *, busy_timeout_ms: int = 10_000) -> Copied:
    """Copy the database ``source`` to the new file ``destination``, online, and check it.

    The source is opened read-write but never written (an existing database only: nothing is
    created); run this as the user the bot runs as, since SQLite may create the ``-wal`` and
    ``-shm`` files beside it. The copy is a single self-contained file (rollback journal, no
    ``-wal``); it passes ``PRAGMA integrity_check`` or :class:`BackupError` is raised.
    """
    if destination.exists():
        raise BackupError(f"{destination}: already exists")
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: cannot open the database: {exc}") from exc
    try:
        src.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"{destination}: the copy is not sound: {problems[:5]}")
            copied = _describe(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        destination.unlink(missing_ok=True)
        raise BackupError(f"{source}: the backup failed: {exc}") from exc
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return copied


def _describe(conn: sqlite3.Connection) -> Copied:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    # The names come from the database's own catalogue, quoted as identifiers.
    rows = {
        name: conn.execute(f'SELECT COUNT(*) FROM "{name.replace(chr(34), chr(34) * 2)}"')
        .fetchone()[0]
        for name in tables
    }
    version = None
    if "schema_version" in rows:
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return Copied(rows, version)
