"""People's corrections of machine translations, and the translation memory they feed.

A translation row (``translations``) says where its text comes from (``origin``): a
back-end (``machine``), a person (``human``: a ``!fix``, or the translation memory) or the
glossary. A ``!fix`` keeps the machine's version beside the person's (``machine_text``), who
corrected it and when; the correction enters ``translation_memory`` keyed by the source
sentence with its whitespace normalised, so the same sentence is never sent to a back-end
again for that language pair. Call the writing methods inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import aiosqlite

from meetbot.storage.store import Store

MACHINE, HUMAN, GLOSSARY = "machine", "human", "glossary"


def normalised(text: str) -> str:
    """The memory's key for a source sentence: its words, single-spaced."""
    return " ".join(text.split())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass(frozen=True)
class StoredTranslation:
    """One language's translation of a message, as the record keeps it."""

    event_id: str
    lang: str
    text: str
    source_lang: str | None
    origin: str
    machine_text: str | None = None
    corrected_by: str | None = None
    corrected_at: str | None = None


@dataclass(frozen=True)
class Remembered:
    """A person's translation of a sentence, from the memory."""

    text: str
    user_id: str
    at: str


class CorrectionsStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def conn(self) -> aiosqlite.Connection:
        return self.store.conn

    # -- which message a notice translates -------------------------------------------
    async def remember_notice(self, txn_id: str, room_id: str, event_id: str) -> None:
        await self.conn.execute(
            "INSERT OR IGNORE INTO translation_notices (txn_id, room_id, event_id) "
            "VALUES (?, ?, ?)",
            (txn_id, room_id, event_id),
        )

    async def translated_by_notice(self, room_id: str, notice_event_id: str) -> str | None:
        """The message whose translation notice is ``notice_event_id`` (None: not one)."""
        async with self.conn.execute(
            "SELECT n.event_id FROM outbox o JOIN translation_notices n ON n.txn_id = o.txn_id "
            "WHERE o.sent_event_id = ? AND n.room_id = ?",
            (notice_event_id, room_id),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def txn_of_sent(self, room_id: str, event_id: str) -> str | None:
        """The txn id of the bot's message sent as ``event_id`` in ``room_id``."""
        async with self.conn.execute(
            "SELECT txn_id FROM outbox WHERE sent_event_id = ? AND room_id = ?",
            (event_id, room_id),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def notice_room(self, event_id: str) -> tuple[str, str] | None:
        """(room id, txn id) of the translation notice of ``event_id``, if it had one."""
        async with self.conn.execute(
            "SELECT room_id, txn_id FROM translation_notices WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return (str(row[0]), str(row[1])) if row else None

    # -- translations with their origin ----------------------------------------------
    async def translations(self, event_id: str) -> list[StoredTranslation]:
        async with self.conn.execute(
            "SELECT event_id, lang, text, source_lang, origin, machine_text, corrected_by, "
            "corrected_at FROM translations WHERE event_id = ? ORDER BY rowid",
            (event_id,),
        ) as cur:
            return [StoredTranslation(*row) for row in await cur.fetchall()]

    async def save(
        self,
        event_id: str,
        source_lang: str | None,
        texts: Mapping[str, str],
        backend: str,
        remembered: Mapping[str, Remembered] | None = None,
    ) -> None:
        """Store a (re-)translation. A language taken from the memory is ``human``, credited
        to the person who corrected that sentence; the others are the machine's. A
        re-translation (the message was edited) replaces a correction of the old text: the
        correction no longer matches what the message says (it stays in the memory for the
        old sentence)."""
        remembered = remembered or {}
        rows = []
        for lang, text in texts.items():
            hit = remembered.get(lang)
            rows.append((
                event_id, lang, text, source_lang, backend,
                HUMAN if hit else MACHINE,
                hit.user_id if hit else None,
                hit.at if hit else None,
            ))
        await self.conn.executemany(
            "INSERT INTO translations (event_id, lang, text, source_lang, backend, origin, "
            "machine_text, corrected_by, corrected_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?) "
            "ON CONFLICT (event_id, lang) DO UPDATE SET text = excluded.text, "
            "source_lang = excluded.source_lang, backend = excluded.backend, "
            "origin = excluded.origin, machine_text = NULL, "
            "corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at",
            rows,
        )

    async def correct(self, event_id: str, lang: str, text: str, user_id: str) -> None:
        """A person's version replaces the text; the machine's first version is kept."""
        await self.conn.execute(
            "UPDATE translations SET machine_text = CASE WHEN origin = 'human' "
            "THEN machine_text ELSE text END, text = ?, origin = 'human', corrected_by = ?, "
            "corrected_at = ? WHERE event_id = ? AND lang = ?",
            (text, user_id, _now(), event_id, lang),
        )

    async def undo(self, event_id: str, lang: str) -> bool:
        """Back to the machine's version (a translation taken from the memory, which has
        none, goes). False when there was no correction to undo."""
        async with self.conn.execute(
            "SELECT origin, machine_text FROM translations WHERE event_id = ? AND lang = ?",
            (event_id, lang),
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[0] != HUMAN:
            return False
        if row[1] is None:
            await self.conn.execute(
                "DELETE FROM translations WHERE event_id = ? AND lang = ?", (event_id, lang)
            )
        else:
            await self.conn.execute(
                "UPDATE translations SET text = machine_text, origin = 'machine', "
                "machine_text = NULL, corrected_by = NULL, corrected_at = NULL "
                "WHERE event_id = ? AND lang = ?",
                (event_id, lang),
            )
        return True

    async def sources(self, event_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """event_id -> {lang: 'machine' | 'human' | 'glossary'} for the exports and minutes.
        A machine translation that used glossary terms counts as 'glossary'."""
        ids = list(event_ids)
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            async with self.conn.execute(
                f"SELECT t.event_id, t.lang, t.origin, EXISTS (SELECT 1 FROM glossary_hits g "
                f"WHERE g.event_id = t.event_id AND g.lang = t.lang) FROM translations t "
                f"WHERE t.event_id IN ({marks})",
                chunk,
            ) as cur:
                for event_id, lang, origin, hit in await cur.fetchall():
                    source = GLOSSARY if origin == MACHINE and hit else origin
                    found.setdefault(event_id, {})[lang] = source
        return found

    # -- the translation memory -------------------------------------------------------
    async def remember(
        self, source_lang: str, target_lang: str, source_text: str, text: str, user_id: str,
        event_id: str,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO translation_memory (source_lang, target_lang, source_text, text, "
            "user_id, event_id, at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source_lang, target_lang, source_text) DO UPDATE SET "
            "text = excluded.text, user_id = excluded.user_id, event_id = excluded.event_id, "
            "at = excluded.at",
            (source_lang, target_lang, normalised(source_text), text, user_id, event_id, _now()),
        )

    async def forget_memory_of(self, event_id: str, target_lang: str) -> None:
        await self.conn.execute(
            "DELETE FROM translation_memory WHERE event_id = ? AND target_lang = ?",
            (event_id, target_lang),
        )

    async def forget_sentence(self, source_lang: str, target_lang: str, source_text: str) -> None:
        await self.conn.execute(
            "DELETE FROM translation_memory WHERE source_lang = ? AND target_lang = ? "
            "AND source_text = ?",
            (source_lang, target_lang, normalised(source_text)),
        )

    async def recall(
        self, source_lang: str, targets: Sequence[str], source_text: str
    ) -> dict[str, Remembered]:
        """What people have translated this sentence into, for each of ``targets``."""
        if not targets:
            return {}
        marks = ",".join("?" for _ in targets)
        async with self.conn.execute(
            f"SELECT target_lang, text, user_id, at FROM translation_memory "
            f"WHERE source_lang = ? AND source_text = ? AND target_lang IN ({marks})",
            (source_lang, normalised(source_text), *targets),
        ) as cur:
            return {r[0]: Remembered(r[1], r[2], r[3]) for r in await cur.fetchall()}

    # -- withdrawal -------------------------------------------------------------------
    async def forget_messages(self, event_ids: Iterable[str]) -> None:
        """The messages' words leave the record: so do memory entries made from them (the
        source sentence is their words) and their notices' bookkeeping."""
        for event_id in event_ids:
            await self.conn.execute(
                "DELETE FROM translation_memory WHERE event_id = ?", (event_id,)
            )

    async def forget_corrections_of(self, user_id: str) -> tuple[set[str], set[str]]:
        """A person withdraws: their corrections go back to the machine's version (a
        translation taken from their memory entries goes) and their memory entries go.
        Returns (the messages whose translations changed, the texts they had written)."""
        async with self.conn.execute(
            "SELECT event_id, lang, text FROM translations "
            "WHERE origin = 'human' AND corrected_by = ?",
            (user_id,),
        ) as cur:
            rows = list(await cur.fetchall())
        async with self.conn.execute(
            "SELECT text FROM translation_memory WHERE user_id = ?", (user_id,)
        ) as cur:
            texts = {str(r[0]) for r in await cur.fetchall()}
        for event_id, lang, text in rows:
            texts.add(str(text))
            await self.undo(event_id, lang)
        await self.conn.execute("DELETE FROM translation_memory WHERE user_id = ?", (user_id,))
        return {str(r[0]) for r in rows}, texts
