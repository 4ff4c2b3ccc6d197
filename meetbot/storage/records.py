"""What every part of the store stands on: the database, and its connection."""

from __future__ import annotations

from datetime import datetime, timezone

import aiosqlite

from meetbot.storage.database import Database


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat()


class Records:
    """Queries over one database; the store is made of such parts, a subject each."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def conn(self) -> aiosqlite.Connection:
        return self.db.conn
