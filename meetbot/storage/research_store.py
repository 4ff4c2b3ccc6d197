"""Queries for consent, withdrawal and the research outputs. All their SQL lives here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetbot.core.events import Event
from meetbot.storage.codec import decode_event
from meetbot.storage.store import Store, utcnow


@dataclass(frozen=True)
class StoredEvent:
    event_id: str
    meeting_id: str
    room_id: str
    type: str
    sender: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class MeetingEvent:
    """An event stored in a meeting's record, as the core sees it."""

    meeting_id: str
    event: Event

    @property
    def event_id(self) -> str:
        return self.event.event_id


@dataclass(frozen=True)
class AuditEntry:
    at: str
    kind: str
    meetings: int
    events: int


class ResearchStore:
    """Opt-outs, the audit trail, and the rewriting that withdrawal needs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self) -> Any:
        return self.store.conn

    async def harden(self) -> None:
        """Deleted text is overwritten in the file, not only unlinked (per connection)."""
        await self.conn.execute("PRAGMA secure_delete=ON")

    async def checkpoint(self) -> None:
        """Fold the write-ahead log into the database and empty it, old page images and all."""
        await self.store.db.checkpoint()

    async def replace_user_id(self, user_id: str, stand_in: str, meeting_ids: set[str]) -> None:
        """Write ``stand_in`` wherever a stored event of these meetings, a pending message or
        a pending task names ``user_id`` (call inside a transaction)."""
        for meeting_id in meeting_ids:
            await self.conn.execute(
                "UPDATE events SET payload = replace(payload, ?, ?) "
                "WHERE meeting_id = ? AND instr(payload, ?) > 0",
                (user_id, stand_in, meeting_id, user_id),
            )
        await self.conn.execute(
            "UPDATE outbox SET content = replace(content, ?, ?) "
            "WHERE sent_at IS NULL AND instr(content, ?) > 0",
            (user_id, stand_in, user_id),
        )
        await self.conn.execute(
            "UPDATE tasks SET payload = replace(payload, ?, ?) "
            "WHERE done_at IS NULL AND kind != 'withdraw' AND instr(payload, ?) > 0",
            (user_id, stand_in, user_id),
        )

    async def remember_meetings(self, task_id: int, meeting_ids: set[str]) -> None:
        await self.conn.execute(
            "UPDATE tasks SET payload = json_set(payload, '$.meetings', json(?)) WHERE id = ?",
            (json.dumps(sorted(meeting_ids)), task_id),
        )

    # -- opt-outs ---------------------------------------------------------------------
    async def opted_out(self) -> set[str]:
        async with self.conn.execute("SELECT user_id FROM research_optouts") as cur:
            return {row[0] for row in await cur.fetchall()}

    async def set_opted_out(self, user_id: str, opted_out: bool, at: datetime) -> None:
        if opted_out:
            await self.conn.execute(
                "INSERT OR IGNORE INTO research_optouts (user_id, at) VALUES (?, ?)",
                (user_id, at.isoformat()),
            )
        else:
            await self.conn.execute("DELETE FROM research_optouts WHERE user_id = ?", (user_id,))

    # -- audit ------------------------------------------------------------------------
    async def audit(self, kind: str, meetings: int = 0, events: int = 0) -> None:
        await self.conn.execute(
            "INSERT INTO research_audit (at, kind, meetings, events) VALUES (?, ?, ?, ?)",
            (utcnow(), kind, meetings, events),
        )

    async def audit_trail(self) -> list[AuditEntry]:
        async with self.conn.execute(
            "SELECT at, kind, meetings, events FROM research_audit ORDER BY id"
        ) as cur:
            return [AuditEntry(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]

    # -- a person's events ------------------------------------------------------------
    async def events_of(self, user_id: str, meeting_id: str | None = None) -> list[MeetingEvent]:
        """Everything ``user_id`` did inside meetings (or inside one), oldest first."""
        sql = ("SELECT meeting_id, type, payload FROM events "
               "WHERE sender = ? AND payload IS NOT NULL")
        args: tuple[Any, ...] = (user_id,)
        if meeting_id is not None:
            sql += " AND meeting_id = ?"
            args += (meeting_id,)
        async with self.conn.execute(sql + " ORDER BY seq", args) as cur:
            rows = await cur.fetchall()
        return [MeetingEvent(r[0], decode_event(r[1], r[2])) for r in rows]

    async def translated_texts(self, event_ids: Iterable[str]) -> list[str]:
        texts, _sources = await self.store.translations_for(event_ids)
        return [text for by_lang in texts.values() for text in by_lang.values()]

    async def reactions(self, meeting_id: str) -> list[StoredEvent]:
        """The meeting's reactions that were not taken back (redacted)."""
        async with self.conn.execute(
            "SELECT event_id, meeting_id, room_id, type, sender, payload FROM events "
            "WHERE meeting_id = ? AND type = 'Reaction' AND payload IS NOT NULL AND event_id "
            "NOT IN (SELECT json_extract(payload, '$.target') FROM events "
            "WHERE meeting_id = ? AND type = 'Redaction' AND payload IS NOT NULL) ORDER BY seq",
            (meeting_id, meeting_id),
        ) as cur:
            rows = await cur.fetchall()
        return [StoredEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # -- copies of the text elsewhere -------------------------------------------------
    async def forget_text_in_outbox_and_tasks(self, texts: set[str]) -> int:
        """Bot messages and task payloads that quote any of ``texts`` lose their content.

        Sent messages keep their row (the homeserver deduplicates by it) with empty content;
        unsent ones are dropped (marked failed) so the text is never posted again.
        """
        needles = {t for t in texts if t.strip()}
        if not needles:
            return 0
        count = 0
        # Sent notices and finished tasks keep no content: only pending ones can quote anyone.
        async with self.conn.execute(
            "SELECT id, content, sent_at FROM outbox WHERE sent_at IS NULL"
        ) as cur:
            rows = await cur.fetchall()
        for row in rows:
            if _quotes(json.loads(row[1]), needles):
                await self.conn.execute(
                    "UPDATE outbox SET content = '{}', last_error = NULL, "
                    "failed = CASE WHEN sent_at IS NULL THEN 1 ELSE failed END WHERE id = ?",
                    (row[0],),
                )
                count += 1
        async with self.conn.execute(
            "SELECT id, payload FROM tasks WHERE done_at IS NULL"
        ) as cur:
            rows = await cur.fetchall()
        for row in rows:
            if _quotes(json.loads(row[1]), needles):
                await self.conn.execute(
                    "UPDATE tasks SET payload = '{}', last_error = NULL, "
                    "done_at = COALESCE(done_at, ?) WHERE id = ?",
                    (utcnow(), row[0]),
                )
                count += 1
        return count

    async def forget_task_payload(self, task_id: int) -> None:
        await self.conn.execute("UPDATE tasks SET payload = '{}' WHERE id = ?", (task_id,))


def _quotes(value: Any, needles: set[str] | re.Pattern[str]) -> bool:
    """Whether ``value`` quotes any of ``needles`` as a whole: "a" is quoted by "Idea #1: a"
    and not by "agenda" (a text that starts or ends inside a word must stand alone there)."""
    pattern = needles if isinstance(needles, re.Pattern) else _whole(needles)
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, dict):
        return any(_quotes(v, pattern) for v in value.values())
    if isinstance(value, list):
        return any(_quotes(v, pattern) for v in value)
    return False


def _whole(needles: set[str]) -> re.Pattern[str]:
    """One pattern for every needle, longest first, bounded where it begins or ends with a
    word character."""
    parts = []
    for needle in sorted(needles, key=len, reverse=True):
        part = re.escape(needle)
        if re.match(r"\w", needle):
            part = r"(?<!\w)" + part
        if re.search(r"\w$", needle):
            part += r"(?!\w)"
        parts.append(part)
    return re.compile("|".join(parts))
