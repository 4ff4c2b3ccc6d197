"""What the bot's queries return: outbox messages, durable tasks, meetings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    room_id: str
    txn_id: str
    event_type: str
    content: dict[str, Any]
    attempts: int
    background: bool = False  # a live translation: the room's answers go first


@dataclass(frozen=True)
class Task:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    created_at: str = ""


class NotReady(Exception):
    """Raised by a task's handler: the task waits for other work (e.g. minutes for the last
    translations) and stays pending; its runner tries again soon."""


@dataclass(frozen=True)
class MeetingRow:
    meeting_id: str
    room_id: str
    region_id: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    status: str


def meeting_row(row: aiosqlite.Row) -> MeetingRow:
    return MeetingRow(
        meeting_id=row["meeting_id"],
        room_id=row["room_id"],
        region_id=row["region_id"],
        title=row["title"],
        started_at=datetime.fromisoformat(row["started_at"]),
        ended_at=datetime.fromisoformat(row["ended_at"]) if row["ended_at"] else None,
        status=row["status"],
    )
