"""The bot's queries, named for what they mean. All SQL lives in this package."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from meetbot.core.events import Event
from meetbot.core.scrubbing import Commands, redaction_removes_words, without_words
from meetbot.storage.codec import decode_event, encode_event, encode_event_at
from meetbot.storage.outbox_store import OutboxRecords
from meetbot.storage.records import utcnow
from meetbot.storage.rows import MeetingRow, NotReady, OutboxMessage, Task, meeting_row
from meetbot.storage.task_store import MAX_TASK_ATTEMPTS, TaskRecords

__all__ = ["MAX_TASK_ATTEMPTS", "MeetingRow", "NotReady", "OutboxMessage", "Store", "Task",
           "utcnow"]


class Store(OutboxRecords, TaskRecords):
    """The record's core queries (settings, events, meetings, translations, people), with
    the outbox's and the durable tasks' in modules of their own."""

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
