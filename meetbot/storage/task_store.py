"""Durable tasks (minutes, translations, withdrawals: done once, retried with back-off) and
timers, both kept in the database so a restart loses none."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from meetbot.storage.json_text import compact_json
from meetbot.storage.records import Records, utcnow
from meetbot.storage.rows import Task

# A task that fails this many times is given up (with its back-off, after about 1.5 hours).
MAX_TASK_ATTEMPTS = 20


class TaskRecords(Records):
    async def add_task(self, kind: str, key: str, payload: dict[str, Any]) -> None:
        await self.db.write(
            "INSERT OR IGNORE INTO tasks (kind, key, payload, created_at) VALUES (?, ?, ?, ?)",
            (kind, key, compact_json(payload), utcnow()),
        )

    async def pending_tasks(
        self, kinds: Sequence[str], limit: int = 50, max_attempts: int = MAX_TASK_ATTEMPTS
    ) -> list[Task]:
        """Tasks of these kinds that are due: not done, not given up, not waiting to retry."""
        marks = ",".join("?" for _ in kinds)
        async with self.db.between_writes() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT * FROM tasks WHERE done_at IS NULL AND kind IN ({marks}) "
                "AND attempts < ? AND (retry_at IS NULL OR retry_at <= ?) ORDER BY id LIMIT ?",
                (*kinds, max_attempts, utcnow(), limit),
            )
        return [
            Task(
                r["id"],
                r["kind"],
                r["key"],
                json.loads(r["payload"]),
                r["attempts"],
                r["created_at"],
            )
            for r in rows
        ]

    async def pending_translations(self, meeting_id: str) -> int:
        async with self.conn.execute(
            "SELECT COUNT(*) FROM tasks WHERE kind = 'translate' AND done_at IS NULL "
            "AND attempts < 10 AND json_extract(payload, '$.meeting_id') = ?",
            (meeting_id,),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def translation_queue(self) -> int:
        """Translations still to do (not given up)."""
        async with self.db.between_writes() as conn:
            rows = list(await conn.execute_fetchall(
                "SELECT COUNT(*) FROM tasks WHERE kind = 'translate' AND done_at IS NULL "
                "AND attempts < ?", (MAX_TASK_ATTEMPTS,)
            ))
        return int(rows[0][0]) if rows else 0

    async def cancel_translations(self, event_id: str) -> None:
        """The message's text is gone: its translations must not be made any more."""
        await self.conn.execute(
            "UPDATE tasks SET done_at = ?, payload = '{}' WHERE done_at IS NULL "
            "AND kind = 'translate' AND json_extract(payload, '$.event_id') = ?",
            (utcnow(), event_id),
        )

    async def task_pending(self, task_id: int) -> bool:
        rows = await self.conn.execute_fetchall(
            "SELECT 1 FROM tasks WHERE id = ? AND done_at IS NULL", (task_id,)
        )
        return bool(list(rows))

    async def finish_task(self, task_id: int) -> None:
        # Done work keeps its key (so it never runs twice) but not its payload: payloads can
        # hold people's words and ids, which the record must not keep longer than needed.
        await self.conn.execute(
            "UPDATE tasks SET done_at = ?, payload = '{}' WHERE id = ?", (utcnow(), task_id)
        )

    async def fail_task(
        self, task_id: int, error: str, retry_at: datetime | None = None
    ) -> None:
        """Count a failed attempt; the task is due again at ``retry_at`` (None: at once)."""
        await self.conn.execute(
            "UPDATE tasks SET attempts = attempts + 1, last_error = ?, retry_at = ? "
            "WHERE id = ?",
            (error[:2000], retry_at.isoformat() if retry_at else None, task_id),
        )

    # -- timers -----------------------------------------------------------------------
    async def set_timer(self, key: str, room_id: str, at: datetime) -> None:
        await self.db.write(
            "INSERT INTO timers (key, room_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET at = excluded.at, room_id = excluded.room_id",
            (key, room_id, at.isoformat()),
        )

    async def cancel_timer(self, key: str) -> None:
        await self.db.write("DELETE FROM timers WHERE key = ?", (key,))

    async def timers(self) -> list[tuple[str, str, datetime]]:
        async with self.conn.execute("SELECT key, room_id, at FROM timers ORDER BY at") as cur:
            return [(r[0], r[1], datetime.fromisoformat(r[2])) for r in await cur.fetchall()]
