"""The bot's queries, named for what they mean. All SQL lives here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import aiosqlite

from meetbot.core.events import Event
from meetbot.core.scrubbing import Commands, redaction_removes_words, without_words
from meetbot.storage.codec import decode_event, encode_event, encode_event_at
from meetbot.storage.database import Database
from meetbot.storage.json_text import compact_json
from meetbot.storage.rows import MeetingRow, NotReady, OutboxMessage, Task, meeting_row

__all__ = ["MeetingRow", "NotReady", "OutboxMessage", "Store", "Task", "utcnow"]


# A task that fails this many times is given up (with its back-off, after about 1.5 hours).
MAX_TASK_ATTEMPTS = 20


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat()


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def conn(self) -> aiosqlite.Connection:
        return self.db.conn

    # -- small settings ---------------------------------------------------------------
    async def get_value(self, key: str) -> str | None:
        async with self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_value(self, key: str, value: str) -> None:
        await self.db.write(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def values_with_prefix(self, prefix: str) -> dict[str, str]:
        """Keys starting with ``prefix`` (the prefix removed) and their values."""
        async with self.conn.execute(
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        ) as cur:
            return {r[0][len(prefix):]: r[1] for r in await cur.fetchall()}

    async def keys_with_value(self, prefix: str, value: str) -> set[str]:
        """Keys starting with ``prefix`` (the prefix removed) whose value is ``value``."""
        async with self.conn.execute(
            "SELECT key FROM kv WHERE substr(key, 1, ?) = ? AND value = ?",
            (len(prefix), prefix, value),
        ) as cur:
            return {r[0][len(prefix):] for r in await cur.fetchall()}

    async def delete_value(self, key: str) -> None:
        await self.db.write("DELETE FROM kv WHERE key = ?", (key,))

    # -- the record -------------------------------------------------------------------
    async def has_event(self, event_id: str) -> bool:
        return bool(await self.known_events([event_id]))

    async def known_events(self, event_ids: Sequence[str]) -> set[str]:
        """Those of ``event_ids`` already in the record (one round trip for a batch)."""
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.conn.execute_fetchall(
                f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    async def add_event(self, event: Event, meeting_id: str | None) -> None:
        """Keep the whole event inside a meeting; outside one only that it was seen."""
        type_name, payload, at = encode_event_at(event)
        await self.db.write(
            "INSERT INTO events (event_id, room_id, meeting_id, type, sender, at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                event.room_id,
                meeting_id,
                type_name,
                event.sender if meeting_id else None,
                at,
                payload if meeting_id else None,
            ),
        )

    async def meeting_events(self, meeting_id: str, limit: int = -1) -> list[Event]:
        async with self.conn.execute(
            "SELECT type, payload FROM events WHERE meeting_id = ? AND payload IS NOT NULL "
            "ORDER BY seq LIMIT ?",
            (meeting_id, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [decode_event(row["type"], row["payload"]) for row in rows]

    async def scrub_events(
        self,
        event_ids: Iterable[str],
        created_items: set[str],
        *,
        prefix: str,
        commands: Commands,
    ) -> int:
        """A redaction: remove the words of these events (and of their edits) for good, as
        the one rule of :mod:`meetbot.core.scrubbing` says
        (:func:`~meetbot.core.scrubbing.without_words`: a shared file's name and address go
        too; a command keeps its structure, e.g. ``!next``, anything else is marked withdrawn
        and ``created_items`` keep their item's number). Only messages and edits are
        rewritten (:func:`~meetbot.core.scrubbing.redaction_removes_words`).

        The event keeps its place in the record so replaying the meeting gives the same
        meeting. Its translations go too, and so do those still to be made.
        """
        count = 0
        targets = list(event_ids)
        for event_id in list(targets):
            targets.extend(await self.edits_of(event_id))
        for event_id in targets:
            event = await self.stored_event(event_id)
            if event is None or not redaction_removes_words(event):
                continue
            await self.rewrite_event(without_words(
                event, prefix, commands, created_item=event_id in created_items
            ))
            count += 1
        return count

    async def stored_event(self, event_id: str) -> Event | None:
        """The event as the record keeps it (None if it kept only that it was seen)."""
        async with self.conn.execute(
            "SELECT type, payload FROM events WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None or row["payload"] is None:
            return None
        return decode_event(row["type"], row["payload"])

    async def rewrite_event(self, event: Event) -> None:
        """Write ``event`` over the stored event with its id (who sent it and what it holds,
        e.g. once its words are gone); its translations go, and so do those still to be made.
        """
        _type_name, payload = encode_event(event)
        await self.conn.execute(
            "UPDATE events SET sender = ?, payload = ? WHERE event_id = ?",
            (event.sender, payload, event.event_id),
        )
        await self.conn.execute("DELETE FROM translations WHERE event_id = ?", (event.event_id,))
        await self.cancel_translations(event.event_id)

    async def meeting_of_event(self, event_id: str) -> str | None:
        rows = list(await self.conn.execute_fetchall(
            "SELECT meeting_id FROM events WHERE event_id = ? AND payload IS NOT NULL",
            (event_id,),
        ))
        return rows[0][0] if rows else None

    async def edits_of(self, event_id: str) -> list[str]:
        """Stored edits of an event (their text goes when the event's does)."""
        async with self.conn.execute(
            "SELECT event_id FROM events "
            "WHERE type = 'Edit' AND json_extract(payload, '$.target') = ?",
            (event_id,),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def latest_event_ids(self, room_id: str, limit: int = 200) -> set[str]:
        async with self.conn.execute(
            "SELECT event_id FROM events WHERE room_id = ? ORDER BY seq DESC LIMIT ?",
            (room_id, limit),
        ) as cur:
            return {row[0] for row in await cur.fetchall()}

    # -- meetings ---------------------------------------------------------------------
    async def add_meeting(
        self, meeting_id: str, room_id: str, region_id: str, title: str, started_at: datetime
    ) -> None:
        await self.db.write(
            "INSERT OR IGNORE INTO meetings (meeting_id, room_id, region_id, title, started_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (meeting_id, room_id, region_id, title, started_at.isoformat()),
        )

    async def end_meeting(self, meeting_id: str, ended_at: datetime) -> None:
        await self.db.write(
            "UPDATE meetings SET ended_at = ?, status = 'ended' WHERE meeting_id = ?",
            (ended_at.isoformat(), meeting_id),
        )

    async def running_meetings(self) -> list[MeetingRow]:
        async with self.conn.execute(
            "SELECT * FROM meetings WHERE status = 'running' ORDER BY started_at"
        ) as cur:
            return [meeting_row(r) for r in await cur.fetchall()]

    async def meeting(self, meeting_id: str) -> MeetingRow | None:
        async with self.conn.execute(
            "SELECT * FROM meetings WHERE meeting_id = ? OR meeting_id LIKE ? "
            "ORDER BY meeting_id LIMIT 2",
            (meeting_id, meeting_id + "%"),
        ) as cur:
            rows = list(await cur.fetchall())
        exact = [r for r in rows if r["meeting_id"] == meeting_id]
        if exact or len(rows) == 1:
            return meeting_row((exact or rows)[0])
        return None

    async def meetings(self, region_id: str | None = None) -> list[MeetingRow]:
        sql = "SELECT * FROM meetings"
        args: tuple[Any, ...] = ()
        if region_id:
            sql += " WHERE region_id = ?"
            args = (region_id,)
        async with self.conn.execute(sql + " ORDER BY started_at", args) as cur:
            return [meeting_row(r) for r in await cur.fetchall()]

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

    async def translation_queue(self) -> int:
        """Translations still to do (not given up)."""
        async with self.db.between_writes() as conn:
            rows = list(await conn.execute_fetchall(
                "SELECT COUNT(*) FROM tasks WHERE kind = 'translate' AND done_at IS NULL "
                "AND attempts < ?", (MAX_TASK_ATTEMPTS,)
            ))
        return int(rows[0][0]) if rows else 0

    async def is_own_event(self, event_id: str) -> bool:
        async with self.conn.execute(
            "SELECT 1 FROM outbox WHERE sent_event_id = ?", (event_id,)
        ) as cur:
            return await cur.fetchone() is not None

    # -- durable tasks ----------------------------------------------------------------
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

    # -- translations and preferences -------------------------------------------------
    async def save_translations(
        self, event_id: str, source_lang: str | None, texts: dict[str, str], backend: str
    ) -> None:
        await self.conn.executemany(
            "INSERT INTO translations (event_id, lang, text, source_lang, backend) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id, lang) DO UPDATE SET "
            "text = excluded.text, source_lang = excluded.source_lang, backend = excluded.backend",
            [(event_id, lang, text, source_lang, backend) for lang, text in texts.items()],
        )

    async def translations_for(
        self, event_ids: Iterable[str]
    ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        """(event_id -> {lang: text}, event_id -> source language) for these events."""
        ids = list(event_ids)
        texts: dict[str, dict[str, str]] = {}
        sources: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            async with self.conn.execute(
                f"SELECT event_id, lang, text, source_lang FROM translations "
                f"WHERE event_id IN ({marks})",
                chunk,
            ) as cur:
                for row in await cur.fetchall():
                    texts.setdefault(row[0], {})[row[1]] = row[2]
                    if row[3]:
                        sources[row[0]] = row[3]
        return texts, sources

    async def user_language(self, user_id: str) -> str | None:
        async with self.conn.execute(
            "SELECT language FROM user_prefs WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_user_language(self, user_id: str, language: str | None) -> None:
        await self.db.write(
            "INSERT INTO user_prefs (user_id, language) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
            (user_id, language),
        )

    async def forget_user(self, user_id: str) -> None:
        """Delete the preferences kept for a person (their chosen language)."""
        await self.conn.execute("DELETE FROM user_prefs WHERE user_id = ?", (user_id,))

    async def keep_undecrypted(
        self, event_id: str, room_id: str, source: dict[str, Any], first_seen: float
    ) -> None:
        await self.conn.execute(
            "INSERT OR IGNORE INTO undecrypted (event_id, room_id, source, first_seen) "
            "VALUES (?, ?, ?, ?)",
            (event_id, room_id, json.dumps(source), first_seen),
        )

    async def undecrypted(self) -> list[tuple[str, dict[str, Any], float]]:
        rows = await self.conn.execute_fetchall(
            "SELECT room_id, source, first_seen FROM undecrypted ORDER BY first_seen"
        )
        return [(row[0], json.loads(row[1]), float(row[2])) for row in rows]

    async def forget_undecrypted(self, event_id: str) -> None:
        await self.conn.execute("DELETE FROM undecrypted WHERE event_id = ?", (event_id,))

    async def user_languages(self) -> dict[str, str]:
        async with self.conn.execute(
            "SELECT user_id, language FROM user_prefs WHERE language IS NOT NULL"
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}
