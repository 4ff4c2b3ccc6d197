"""The research record: every meeting held, as its minutes document, numbered per region.

Reports, exports and the coordinator's summary are all built from these documents, which
are rebuilt from the stored events each time, so they always reflect withdrawals. The
document's series number and endorsements come from :mod:`meetbot.minutes.series`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.app import MeetBotApp
from meetbot.config.schema import RegionConfig
from meetbot.minutes.delivery import minutes_data
from meetbot.storage.store import MeetingRow


@dataclass
class HeldMeeting:
    row: MeetingRow
    number: int
    planned: int
    doc: dict[str, Any]


async def held_meetings(
    app: MeetBotApp,
    *,
    include_running: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> list[HeldMeeting]:
    """Every meeting held (ended), oldest first, each with its minutes document."""
    rows = await app.store.meetings()
    chosen = [row for row in rows if row.ended_at is not None or include_running]
    held: list[HeldMeeting] = []
    for row in progress(chosen) if progress else chosen:
        doc = await minutes_data(app, row.meeting_id)
        held.append(HeldMeeting(row, doc["meeting_number"], doc["meetings_planned"], doc))
    return held


def scheduled_start(region: RegionConfig, number: int) -> datetime | None:
    for meeting in region.meetings:
        if meeting.number == number:
            return meeting.starts.replace(tzinfo=ZoneInfo(region.timezone))
    return None
