"""Actions followed up across meetings: their network-wide numbers and their history.

An action's words and owners stay in its meeting's record (the stored events); this store
only numbers it and keeps what happened to it since (carried over, done, dropped).
Writes are made inside the caller's transaction (the event's own, in ``app.ingest``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from meetbot.storage.database import Database

OPENED, CARRIED, DONE, DROPPED = "opened", "carried", "done", "dropped"
CLOSED = (DONE, DROPPED)


@dataclass(frozen=True)
class ActionRow:
    number: int
    meeting_id: str
    item_n: int
    region_id: str
    room_id: str
    opened_at: datetime


@dataclass(frozen=True)
class ActionStep:
    number: int
    step: str  # carried | done | dropped
    meeting_id: str | None
    region_id: str | None
    room_id: str | None
    user_id: str | None
    reason: str | None
    at: datetime


class ActionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def note(
        self, meeting_id: str, items: Iterable[int], region_id: str, room_id: str, at: datetime
    ) -> None:
        """Number the meeting's actions not numbered yet (in item order)."""
        for n in sorted(items):
            # Not INSERT OR IGNORE: an ignored row would still use up a number.
            await self.db.conn.execute(
                "INSERT INTO actions (number, meeting_id, item_n, region_id, room_id, opened_at) "
                "SELECT (SELECT COALESCE(MAX(number), 0) + 1 FROM actions), ?, ?, ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM actions WHERE meeting_id = ? AND item_n = ?)",
                (meeting_id, n, region_id, room_id, at.isoformat(), meeting_id, n),
            )

    async def actions(
        self, *, region_id: str | None = None, number: int | None = None,
        meeting_ids: Iterable[str] | None = None, numbers: Iterable[int] | None = None,
    ) -> list[ActionRow]:
        sql, args = "SELECT * FROM actions WHERE 1 = 1", list[object]()
        for column, values in (("meeting_id", meeting_ids), ("number", numbers)):
            if values is not None:
                sql += " AND " + _one_of(column, values, args)
        if region_id is not None:
            sql += " AND region_id = ?"
            args.append(region_id)
        if number is not None:
            sql += " AND number = ?"
            args.append(number)
        rows = await self.db.conn.execute_fetchall(sql + " ORDER BY number", args)
        return [
            ActionRow(r["number"], r["meeting_id"], r["item_n"], r["region_id"], r["room_id"],
                      datetime.fromisoformat(r["opened_at"]))
            for r in rows
        ]

    async def touched_in(self, meeting_id: str) -> set[int]:
        """The actions a meeting opened, carried over or closed."""
        rows = await self.db.conn.execute_fetchall(
            "SELECT number FROM actions WHERE meeting_id = ? "
            "UNION SELECT number FROM action_steps WHERE meeting_id = ?", (meeting_id, meeting_id))
        return {r["number"] for r in rows}

    async def steps(self, numbers: Iterable[int] | None = None) -> dict[int, list[ActionStep]]:
        """Each action's steps, oldest first."""
        sql, args = "SELECT * FROM action_steps", list[object]()
        if numbers is not None:
            sql += " WHERE " + _one_of("number", numbers, args)
        rows = await self.db.conn.execute_fetchall(sql + " ORDER BY id", args)
        found: dict[int, list[ActionStep]] = {}
        for r in rows:
            found.setdefault(r["number"], []).append(ActionStep(
                r["number"], r["step"], r["meeting_id"], r["region_id"], r["room_id"],
                r["user_id"], r["reason"], datetime.fromisoformat(r["at"]),
            ))
        return found

    async def add_step(
        self, number: int, step: str, at: datetime, *, meeting_id: str | None = None,
        region_id: str | None = None, room_id: str | None = None, user_id: str | None = None,
        reason: str | None = None, event_id: str | None = None,
    ) -> None:
        await self.db.conn.execute(
            "INSERT INTO action_steps (number, step, meeting_id, region_id, room_id, user_id, "
            "reason, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (number, step, meeting_id, region_id, room_id, user_id, reason, event_id,
             at.isoformat()),
        )

    async def meetings_showing(self, user_id: str, opened_in: Iterable[str]) -> set[str]:
        """The meetings whose minutes tell the story of an action the person closed, or of
        one opened in ``opened_in`` (where they may be an owner): what a withdrawal rewrites."""
        opened = list(opened_in)
        marks = ", ".join("?" for _ in opened) or "NULL"
        rows = await self.db.conn.execute_fetchall(
            "SELECT a.meeting_id AS opened, s.meeting_id AS step FROM actions a "
            "LEFT JOIN action_steps s ON s.number = a.number "
            f"WHERE a.meeting_id IN ({marks}) OR a.number IN "
            "(SELECT number FROM action_steps WHERE user_id = ?)",
            (*opened, user_id),
        )
        return {m for r in rows for m in (r["opened"], r["step"]) if m}

    async def forget_user(self, user_id: str, stand_in: str) -> int:
        """A withdrawal: the person's closing steps name the stand-in and lose the reason
        they typed (call inside a transaction). Returns how many steps were touched."""
        cur = await self.db.conn.execute(
            "UPDATE action_steps SET user_id = ?, reason = NULL WHERE user_id = ?",
            (stand_in, user_id),
        )
        return cur.rowcount or 0


def _one_of(column: str, values: Iterable[object], args: list[object]) -> str:
    """``column IN (?, ...)`` for ``values``, which are added to ``args``."""
    wanted = list(values)
    args.extend(wanted)
    return f"{column} IN ({', '.join('?' for _ in wanted)})"
