"""The research record: every meeting held, as its minutes document, numbered per region.

Reports, exports and the coordinator's summary are all built from these documents, which
are rebuilt from the stored events each time, so they always reflect withdrawals. The
document's series number and endorsements come from :mod:`meetbot.minutes.series`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.app import MeetBotApp
from meetbot.config.schema import RegionConfig
from meetbot.minutes.action_history import MeetingCache
from meetbot.minutes.delivery import minutes_data
from meetbot.storage.store import MeetingRow

# Whole meetings kept rebuilt while a report reads the record in order. Few are needed: the
# next meetings' documents read a meeting's actions from its outline, which is always kept
# (see MeetingCache); a whole meeting is 1-2 MB at 500 messages.
KEEP_REBUILT = 4


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
    return [held async for held in each_held_meeting(
        app, include_running=include_running, progress=progress)]


async def each_held_meeting(
    app: MeetBotApp,
    *,
    include_running: bool = False,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> AsyncIterator[HeldMeeting]:
    """The meetings of :func:`held_meetings` one at a time: only one minutes document is in
    memory at once, however large the record."""
    rows = await app.store.meetings()
    chosen = [row for row in rows if row.ended_at is not None or include_running]
    # A meeting's actions name the meetings that carried them over: each meeting is
    # rebuilt once, for its own document.
    meetings = MeetingCache(app, keep=KEEP_REBUILT)
    for row in progress(chosen) if progress else chosen:
        doc = await minutes_data(app, row.meeting_id, meetings=meetings)
        yield HeldMeeting(row, doc["meeting_number"], doc["meetings_planned"], doc)


def scheduled_start(region: RegionConfig, number: int) -> datetime | None:
    for meeting in region.meetings:
        if meeting.number == number:
            return meeting.starts.replace(tzinfo=ZoneInfo(region.timezone))
    return None
