"""The stored translations a proposal's notices show, with where each comes from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meetbot.storage.database import Database


@dataclass(frozen=True)
class StoredTranslation:
    text: str
    origin: str  # machine | human | glossary
    corrected_by: str | None
    corrected_at: str | None


class ProposalTranslationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def translations(
        self, event_ids: Iterable[str]
    ) -> dict[str, dict[str, StoredTranslation]]:
        """event id -> {language: its stored translation} for these events."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, dict[str, StoredTranslation]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" for _ in chunk)
            async with self.db.conn.execute(
                "SELECT event_id, lang, text, origin, corrected_by, corrected_at "
                f"FROM translations WHERE event_id IN ({marks})",
                chunk,
            ) as cur:
                for row in await cur.fetchall():
                    found.setdefault(row[0], {})[row[1]] = StoredTranslation(
                        row[2], row[3] or "machine", row[4], row[5]
                    )
        return found
