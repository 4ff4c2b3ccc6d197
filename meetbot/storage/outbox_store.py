"""The outbox: every message the bot sends, queued in the transaction that caused it and
sent exactly once (its transaction id comes from its cause)."""

from __future__ import annotations

import json
from typing import Any

from meetbot.storage.json_text import compact_json
from meetbot.storage.records import Records, utcnow
from meetbot.storage.rows import OutboxMessage


class OutboxRecords(Records):
    # -- outbox -----------------------------------------------------------------------
    async def enqueue(
        self,
        room_id: str,
        txn_id: str,
        content: dict[str, Any],
        event_type: str = "m.room.message",
        *,
        background: bool = False,
    ) -> None:
        """Queue a message; ``background`` (live translations): the room's answers go first."""
        await self.db.write(
            "INSERT OR IGNORE INTO outbox (room_id, txn_id, event_type, content, created_at, "
            "background) VALUES (?, ?, ?, ?, ?, ?)",
            (room_id, txn_id, event_type, compact_json(content), utcnow(),
             int(background)),
        )

    async def pending_outbox(
        self, limit: int = 50, per_room: int | None = None
    ) -> list[OutboxMessage]:
        """Rows still to send, oldest first; ``per_room``: at most that many of each room's
        answers and of its background rows (one room's long queue never hides another's)."""
        async with self.db.between_writes() as conn:
            if per_room is None:
                rows = await conn.execute_fetchall(
                    "SELECT * FROM outbox WHERE sent_at IS NULL AND failed = 0 "
                    "ORDER BY id LIMIT ?",
                    (limit,),
                )
            else:
                rows = await conn.execute_fetchall(
                    "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY room_id, "
                    "background ORDER BY id) AS place FROM outbox WHERE sent_at IS NULL AND "
                    "failed = 0) WHERE place <= ? ORDER BY id LIMIT ?",
                    (per_room, limit),
                )
        return [
            OutboxMessage(r["id"], r["room_id"], r["txn_id"], r["event_type"],
                          json.loads(r["content"]), r["attempts"], bool(r["background"]))
            for r in rows
        ]

    async def mark_sent(self, outbox_id: int, event_id: str) -> None:
        # Once sent, only the event id is needed (edits and redactions point at it); the
        # content goes, so no copy of what people said lingers here.
        await self.conn.execute(
            "UPDATE outbox SET sent_at = ?, sent_event_id = ?, content = '{}' WHERE id = ?",
            (utcnow(), event_id, outbox_id),
        )

    async def failed_outbox(self, room_id: str | None = None) -> list[tuple[str, str, str]]:
        """Rows given up for good: (room id, txn id, last error), oldest first."""
        sql = "SELECT room_id, txn_id, last_error FROM outbox WHERE failed = 1"
        args: tuple[Any, ...] = ()
        if room_id is not None:
            sql += " AND room_id = ?"
            args = (room_id,)
        async with self.conn.execute(sql + " ORDER BY id", args) as cur:
            return [(r[0], r[1], r[2] or "") for r in await cur.fetchall()]

    async def mark_attempt(self, outbox_id: int, error: str, give_up: bool) -> None:
        await self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed = ? WHERE id = ?",
            (error, 1 if give_up else 0, outbox_id),
        )

    async def sent_event_id(self, txn_id: str) -> str | None:
        async with self.conn.execute(
            "SELECT sent_event_id FROM outbox WHERE txn_id = ?", (txn_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def outbox_state(self, txn_id: str) -> tuple[str, str | None] | None:
        """("sent", event_id), ("pending", None), ("failed", None), or None if unknown."""
        async with self.conn.execute(
            "SELECT sent_event_id, failed FROM outbox WHERE txn_id = ?", (txn_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        if row[0]:
            return ("sent", row[0])
        return ("failed", None) if row[1] else ("pending", None)

    async def outbox_depth(self) -> int:
        """Messages waiting to be sent (not given up)."""
        async with self.db.between_writes() as conn:
            rows = list(await conn.execute_fetchall(
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed = 0"
            ))
        return int(rows[0][0]) if rows else 0

    async def is_own_event(self, event_id: str) -> bool:
        async with self.conn.execute(
            "SELECT 1 FROM outbox WHERE sent_event_id = ?", (event_id,)
        ) as cur:
            return await cur.fetchone() is not None
