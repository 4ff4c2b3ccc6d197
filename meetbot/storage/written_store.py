"""The queries of written answers: the prompts posted for them, the answers, the opt-ins.

Writes are made inside the caller's transaction (an event's, or the window shell's own).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetbot.storage.database import Database


@dataclass(frozen=True)
class WrittenPrompt:
    txn_id: str
    region_id: str
    number: int
    prompt_id: str
    room_id: str
    user_id: str | None  # None: posted in the region's room; else a direct chat


@dataclass(frozen=True)
class WrittenAnswer:
    event_id: str
    region_id: str
    number: int
    prompt_id: str
    room_id: str
    sender: str
    display_name: str
    body: str
    language: str | None
    via: str  # thread | direct
    at: datetime


@dataclass(frozen=True)
class Forgotten:
    answers: int
    texts: set[str]
    slots: set[tuple[str, int]]  # the planned meetings (region, number) they belonged to


class WrittenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the prompts posted -----------------------------------------------------------
    async def add_prompt(self, prompt: WrittenPrompt) -> None:
        await self.db.conn.execute(
            "INSERT OR IGNORE INTO written_prompts (txn_id, region_id, number, prompt_id, "
            "room_id, user_id) VALUES (?, ?, ?, ?, ?, ?)",
            (prompt.txn_id, prompt.region_id, prompt.number, prompt.prompt_id, prompt.room_id,
             prompt.user_id),
        )

    async def prompt_posted_as(self, event_id: str) -> WrittenPrompt | None:
        """The written prompt whose sent message is ``event_id`` (a thread root)."""
        async with self.db.conn.execute(
            "SELECT p.* FROM written_prompts p JOIN outbox o ON o.txn_id = p.txn_id "
            "WHERE o.sent_event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return WrittenPrompt(row["txn_id"], row["region_id"], row["number"], row["prompt_id"],
                             row["room_id"], row["user_id"])

    async def has_prompts(self, region_id: str, number: int, user_id: str | None) -> bool:
        sql = "SELECT 1 FROM written_prompts WHERE region_id = ? AND number = ? AND user_id "
        args: tuple[object, ...] = (region_id, number)
        if user_id is None:
            sql += "IS NULL"
        else:
            sql += "= ?"
            args += (user_id,)
        async with self.db.conn.execute(sql + " LIMIT 1", args) as cur:
            return await cur.fetchone() is not None

    # -- the answers ------------------------------------------------------------------
    async def add_answer(self, answer: WrittenAnswer) -> None:
        await self.db.conn.execute(
            "INSERT OR IGNORE INTO written_answers (event_id, region_id, number, prompt_id, "
            "room_id, sender, display_name, body, language, via, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (answer.event_id, answer.region_id, answer.number, answer.prompt_id, answer.room_id,
             answer.sender, answer.display_name, answer.body, answer.language, answer.via,
             answer.at.isoformat()),
        )

    async def keep_translations(self, event_id: str, record_key: str) -> None:
        """A translation already queued for the answer (``translation.mode: always``
        translates every message) is kept with the written answers' record."""
        await self.db.conn.execute(
            "UPDATE tasks SET payload = json_set(payload, '$.meeting_id', ?) "
            "WHERE key = ? AND done_at IS NULL",
            (record_key, f"translate:{event_id}"),
        )

    async def edit_answer(self, event_id: str, sender: str, body: str) -> bool:
        cur = await self.db.conn.execute(
            "UPDATE written_answers SET body = ? WHERE event_id = ? AND sender = ?",
            (body, event_id, sender),
        )
        return cur.rowcount > 0

    async def remove_answer(self, event_id: str) -> bool:
        """A redacted answer leaves the record (with its translations)."""
        cur = await self.db.conn.execute(
            "DELETE FROM written_answers WHERE event_id = ?", (event_id,)
        )
        await self.db.conn.execute("DELETE FROM translations WHERE event_id = ?", (event_id,))
        return cur.rowcount > 0

    async def answers(self, region_id: str, number: int) -> list[WrittenAnswer]:
        """The answers of one planned meeting, oldest first."""
        async with self.db.conn.execute(
            "SELECT * FROM written_answers WHERE region_id = ? AND number = ? "
            "ORDER BY at, event_id", (region_id, number),
        ) as cur:
            return [_answer(r) for r in await cur.fetchall()]

    async def answer(self, event_id: str) -> WrittenAnswer | None:
        async with self.db.conn.execute(
            "SELECT * FROM written_answers WHERE event_id = ?", (event_id,)
        ) as cur:
            row = await cur.fetchone()
        return _answer(row) if row is not None else None

    async def forget_person(
        self, user_id: str, slots: set[tuple[str, int]] | None = None
    ) -> Forgotten:
        """The answers written by ``user_id`` (in ``slots`` only, if given: an opt-out) and
        their translations go; for a withdrawal (no ``slots``) also the prompts sent to
        them and their opt-in. Returns what went, so the bot's own copies of the texts
        (queued translations) and the minutes that showed them can be dealt with."""
        conn = self.db.conn
        async with conn.execute(
            "SELECT event_id, body, region_id, number FROM written_answers WHERE sender = ?",
            (user_id,),
        ) as cur:
            rows = [r for r in await cur.fetchall()
                    if slots is None or (r["region_id"], r["number"]) in slots]
        ids = [r["event_id"] for r in rows]
        texts = {r["body"] for r in rows}
        for event_id in ids:
            async with conn.execute(
                "SELECT text FROM translations WHERE event_id = ?", (event_id,)
            ) as cur:
                texts.update(r[0] for r in await cur.fetchall())
        await conn.executemany("DELETE FROM translations WHERE event_id = ?",
                               [(i,) for i in ids])
        await conn.executemany("DELETE FROM written_answers WHERE event_id = ?",
                               [(i,) for i in ids])
        if slots is None:
            await conn.execute("DELETE FROM written_prompts WHERE user_id = ?", (user_id,))
            await conn.execute("DELETE FROM written_optins WHERE user_id = ?", (user_id,))
        return Forgotten(len(ids), texts, {(r["region_id"], r["number"]) for r in rows})

    # -- who asked for the prompts by direct message ----------------------------------
    async def set_optin(self, user_id: str, room_id: str | None) -> None:
        if room_id is None:
            await self.db.conn.execute("DELETE FROM written_optins WHERE user_id = ?", (user_id,))
        else:
            await self.db.conn.execute(
                "INSERT INTO written_optins (user_id, room_id) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id",
                (user_id, room_id),
            )

    async def optins(self) -> dict[str, str]:
        """Person -> the direct chat the prompts go to."""
        async with self.db.conn.execute("SELECT user_id, room_id FROM written_optins") as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}


def _answer(r: Any) -> WrittenAnswer:
    return WrittenAnswer(r["event_id"], r["region_id"], r["number"], r["prompt_id"], r["room_id"],
                         r["sender"], r["display_name"], r["body"], r["language"], r["via"],
                         datetime.fromisoformat(r["at"]))


def ids_of(answers: Iterable[WrittenAnswer]) -> list[str]:
    return [a.event_id for a in answers]
