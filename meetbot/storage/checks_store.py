"""Round-trip checks of authors' messages (``!check``), who wants them, and the counts the
report's translation section is made of."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetbot.storage.database import Database


@dataclass(frozen=True)
class CheckRow:
    event_id: str
    user_id: str
    lang: str
    source_lang: str
    text: str
    back_text: str
    score: float


@dataclass(frozen=True)
class PairStats:
    """One region's translations from one language into another."""

    region_id: str
    source: str
    target: str
    translated: int = 0
    corrected: int = 0  # by people (origin 'human')
    checks: int = 0  # round trips scored
    mean_score: float | None = None
    glossary_hits: int = 0


class ChecksStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def conn(self) -> Any:
        return self.db.conn

    # -- who wants their messages checked (call inside a transaction) ------------------
    async def set_mode(self, user_id: str, mode: str) -> None:
        if mode == "off":
            await self.conn.execute("DELETE FROM check_prefs WHERE user_id = ?", (user_id,))
            return
        await self.conn.execute(
            "INSERT INTO check_prefs (user_id, mode) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET mode = excluded.mode",
            (user_id, mode),
        )

    async def mode(self, user_id: str) -> str:
        async with self.conn.execute(
            "SELECT mode FROM check_prefs WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else "off"

    async def users_with_mode(self, mode: str) -> set[str]:
        async with self.conn.execute(
            "SELECT user_id FROM check_prefs WHERE mode = ?", (mode,)
        ) as cur:
            return {str(row[0]) for row in await cur.fetchall()}

    # -- the checks -------------------------------------------------------------------
    async def save_checks(self, rows: Sequence[CheckRow], at: datetime) -> None:
        """Keep round trips (a check made again replaces the one before)."""
        await self.conn.executemany(
            "INSERT INTO translation_checks (event_id, user_id, lang, source_lang, text, "
            "back_text, score, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (event_id, lang) DO UPDATE SET user_id = excluded.user_id, "
            "source_lang = excluded.source_lang, text = excluded.text, "
            "back_text = excluded.back_text, score = excluded.score, at = excluded.at",
            [(r.event_id, r.user_id, r.lang, r.source_lang, r.text, r.back_text, r.score,
              at.isoformat()) for r in rows],
        )

    async def checks_of(self, event_id: str) -> list[CheckRow]:
        async with self.conn.execute(
            "SELECT event_id, user_id, lang, source_lang, text, back_text, score "
            "FROM translation_checks WHERE event_id = ? ORDER BY lang", (event_id,)
        ) as cur:
            return [CheckRow(*row) for row in await cur.fetchall()]

    async def count_of(self, user_id: str) -> tuple[int, int]:
        """(checks, preferences) kept about a person (for the withdrawal's tests)."""
        async with self.conn.execute(
            "SELECT (SELECT COUNT(*) FROM translation_checks WHERE user_id = ?), "
            "(SELECT COUNT(*) FROM check_prefs WHERE user_id = ?)", (user_id, user_id)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]), int(row[1])

    async def forget_user(self, user_id: str) -> None:
        """A withdrawal: the person's checks and their choice go (call inside a transaction)."""
        await self.conn.execute("DELETE FROM translation_checks WHERE user_id = ?", (user_id,))
        await self.conn.execute("DELETE FROM check_prefs WHERE user_id = ?", (user_id,))

    async def forget_events(self, event_ids: Iterable[str]) -> None:
        """Messages that left the record (redaction, opt-out) take their checks along."""
        ids = list(event_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            await self.conn.execute(
                f"DELETE FROM translation_checks WHERE event_id IN ({marks})", chunk
            )

    # -- what other parts write: for tests that prove the report's counts ---------------
    async def mark_corrected(
        self, event_id: str, lang: str, text: str, user_id: str, at: datetime
    ) -> None:
        """A person's correction of a stored translation, as ``!fix`` keeps it."""
        await self.conn.execute(
            "UPDATE translations SET machine_text = COALESCE(machine_text, text), text = ?, "
            "origin = 'human', corrected_by = ?, corrected_at = ? "
            "WHERE event_id = ? AND lang = ?",
            (text, user_id, at.isoformat(), event_id, lang),
        )

    async def add_glossary_hit(self, event_id: str, lang: str, term: str) -> None:
        await self.conn.execute(
            "INSERT OR IGNORE INTO glossary_hits (event_id, lang, term) VALUES (?, ?, ?)",
            (event_id, lang, term),
        )

    # -- the report's translation section ----------------------------------------------
    async def pair_stats(self, meeting_ids: Iterable[str]) -> list[PairStats]:
        """Per region and language pair, over these meetings: messages translated, how many
        of those translations people corrected, round trips scored and their mean score,
        and glossary terms used."""
        ids = list(meeting_ids)
        if not ids:
            return []
        found: dict[tuple[str, str, str], dict[str, Any]] = {}

        def slot(region: str, source: str | None, target: str) -> dict[str, Any]:
            key = (region, source or "?", target)
            return found.setdefault(key, {"translated": 0, "corrected": 0, "checks": 0,
                                          "score_sum": 0.0, "glossary_hits": 0})

        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            scope = (f"FROM events e JOIN meetings m ON m.meeting_id = e.meeting_id "
                     f"WHERE e.meeting_id IN ({marks})")
            async with self.conn.execute(
                "SELECT m.region_id, t.source_lang, t.lang, COUNT(*), "
                "SUM(CASE WHEN t.origin = 'human' THEN 1 ELSE 0 END) "
                f"FROM translations t JOIN ({'SELECT e.event_id, m.region_id ' + scope}) m "
                "ON m.event_id = t.event_id GROUP BY 1, 2, 3", chunk
            ) as cur:
                for region, source, target, n, corrected in await cur.fetchall():
                    row = slot(region, source, target)
                    row["translated"] += int(n)
                    row["corrected"] += int(corrected or 0)
            async with self.conn.execute(
                "SELECT m.region_id, c.source_lang, c.lang, COUNT(*), SUM(c.score) "
                f"FROM translation_checks c JOIN ({'SELECT e.event_id, m.region_id ' + scope})"
                " m ON m.event_id = c.event_id GROUP BY 1, 2, 3", chunk
            ) as cur:
                for region, source, target, n, total in await cur.fetchall():
                    row = slot(region, source, target)
                    row["checks"] += int(n)
                    row["score_sum"] += float(total or 0)
            async with self.conn.execute(
                "SELECT m.region_id, t.source_lang, h.lang, COUNT(*) "
                f"FROM glossary_hits h JOIN ({'SELECT e.event_id, m.region_id ' + scope}) m "
                "ON m.event_id = h.event_id LEFT JOIN translations t "
                "ON t.event_id = h.event_id AND t.lang = h.lang GROUP BY 1, 2, 3", chunk
            ) as cur:
                for region, source, target, n in await cur.fetchall():
                    slot(region, source, target)["glossary_hits"] += int(n)
        return [
            PairStats(region, source, target, row["translated"], row["corrected"],
                      row["checks"],
                      round(row["score_sum"] / row["checks"], 1) if row["checks"] else None,
                      row["glossary_hits"])
            for (region, source, target), row in sorted(found.items())
        ]
