"""The calendar's queries: configured meetings and whether each was held or missed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from meetbot.storage.database import Database

SCHEDULED, HELD, MISSED = "scheduled", "held", "missed"


@dataclass(frozen=True)
class CalendarRow:
    region_id: str
    number: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    title: str
    status: str
    meeting_id: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class CalendarStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def plan(
        self, region_id: str, number: int, starts_at: datetime, ends_at: datetime, tz: str,
        title: str,
    ) -> None:
        """Record a configured meeting; one already held or missed keeps its record."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO scheduled_meetings (region_id, number, starts_at, ends_at, timezone, "
                "title, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (region_id, number) DO UPDATE SET starts_at = excluded.starts_at, "
                "ends_at = excluded.ends_at, timezone = excluded.timezone, "
                "title = excluded.title, updated_at = excluded.updated_at "
                "WHERE scheduled_meetings.status = 'scheduled'",
                (region_id, number, starts_at.isoformat(), ends_at.isoformat(), tz, title, _now()),
            )

    async def mark(
        self, region_id: str, number: int, status: str, meeting_id: str | None = None
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE scheduled_meetings SET status = ?, meeting_id = COALESCE(?, meeting_id), "
                "updated_at = ? WHERE region_id = ? AND number = ?",
                (status, meeting_id, _now(), region_id, number),
            )

    async def rows(self, region_id: str | None = None) -> list[CalendarRow]:
        sql = "SELECT * FROM scheduled_meetings"
        args: tuple[str, ...] = ()
        if region_id is not None:
            sql += " WHERE region_id = ?"
            args = (region_id,)
        async with self.db.conn.execute(sql + " ORDER BY starts_at, region_id", args) as cur:
            found = await cur.fetchall()
        return [
            CalendarRow(
                region_id=r["region_id"],
                number=r["number"],
                starts_at=datetime.fromisoformat(r["starts_at"]),
                ends_at=datetime.fromisoformat(r["ends_at"]),
                timezone=r["timezone"],
                title=r["title"],
                status=r["status"],
                meeting_id=r["meeting_id"],
            )
            for r in found
        ]
