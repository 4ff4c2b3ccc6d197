"""The glossary's queries: terms added from rooms (``glossary_terms``) and which terms each
translation used (``glossary_hits``). All their SQL lives here; callers hold the transaction
when they write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from meetbot.storage.store import Store, utcnow


@dataclass(frozen=True)
class RoomTerm:
    source: str
    lang: str  # '' : kept as written in every language
    target: str
    added_by: str
    room_id: str | None
    at: str


class GlossaryStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def terms(self) -> list[RoomTerm]:
        """Every term added from a room, oldest first."""
        async with self.store.conn.execute(
            "SELECT source, lang, target, added_by, room_id, at FROM glossary_terms "
            "ORDER BY at, source, lang"
        ) as cur:
            return [RoomTerm(*row) for row in await cur.fetchall()]

    async def add(self, source: str, lang: str, target: str, added_by: str,
                  room_id: str | None) -> None:
        """Add a term, or replace the one with the same words for the same language."""
        await self.store.conn.execute(
            "INSERT INTO glossary_terms (source, lang, target, added_by, room_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, lang) DO UPDATE SET "
            "target = excluded.target, added_by = excluded.added_by, "
            "room_id = excluded.room_id, at = excluded.at",
            (source, lang, target, added_by, room_id, utcnow()),
        )

    async def remove(self, source: str) -> list[RoomTerm]:
        """Remove every term with these words (any case); returns those removed."""
        removed = [t for t in await self.terms() if t.source.casefold() == source.casefold()]
        await self.store.conn.executemany(
            "DELETE FROM glossary_terms WHERE source = ? AND lang = ?",
            [(t.source, t.lang) for t in removed],
        )
        return removed

    async def forget_user(self, user_id: str) -> int:
        """A withdrawal: the terms the person added go. Returns how many."""
        cur = await self.store.conn.execute(
            "DELETE FROM glossary_terms WHERE added_by = ?", (user_id,)
        )
        return cur.rowcount

    async def save_hits(self, event_id: str, hits: Mapping[str, Sequence[str]]) -> None:
        """The terms each translation of the event used (replacing an earlier translation's,
        after an edit)."""
        await self.store.conn.execute("DELETE FROM glossary_hits WHERE event_id = ?", (event_id,))
        await self.store.conn.executemany(
            "INSERT OR IGNORE INTO glossary_hits (event_id, lang, term) VALUES (?, ?, ?)",
            [(event_id, lang, term) for lang, terms in hits.items() for term in terms],
        )

    async def hits(self, event_id: str) -> dict[str, list[str]]:
        async with self.store.conn.execute(
            "SELECT lang, term FROM glossary_hits WHERE event_id = ? ORDER BY lang, term",
            (event_id,),
        ) as cur:
            found: dict[str, list[str]] = {}
            for lang, term in await cur.fetchall():
                found.setdefault(lang, []).append(term)
            return found

    async def mark_glossary_origin(self, event_id: str, langs: Sequence[str]) -> None:
        """These translations are the glossary's (the whole text was one term), unless a
        person corrected them."""
        await self.store.conn.executemany(
            "UPDATE translations SET origin = 'glossary' WHERE event_id = ? AND lang = ? "
            "AND origin = 'machine'",
            [(event_id, lang) for lang in langs],
        )
