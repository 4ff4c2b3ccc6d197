"""The research record: every meeting held, as its minutes document, numbered per region.

Reports, exports and the coordinator's summary are all built from these documents, which
are rebuilt from the stored events each time, so they always reflect withdrawals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config, RegionConfig
from meetbot.research.removal import is_tombstone
from meetbot.storage.research_store import ResearchStore
from meetbot.storage.store import MeetingRow

# Meetings a region holds when its config lists no schedule (the programme's 6 x 4).
PLANNED_MEETINGS = 4
TOP_ENDORSED = 3


def planned_meetings(region: RegionConfig | None) -> int:
    scheduled = [m.number for m in region.meetings] if region is not None else []
    return max([PLANNED_MEETINGS, *scheduled])


def meeting_numbers(config: Config, rows: Iterable[MeetingRow]) -> dict[str, int]:
    """Meeting id -> its number in the region: the scheduled meeting of the same local day,
    else the next number not taken, in the order they were held."""
    numbers: dict[str, int] = {}
    by_region: dict[str, list[MeetingRow]] = {}
    for row in sorted(rows, key=lambda r: r.started_at):
        by_region.setdefault(row.region_id, []).append(row)
    for region_id, held in by_region.items():
        region = config.region(region_id)
        tz = ZoneInfo(region.timezone if region else "UTC")
        scheduled = {m.starts.date(): m.number for m in (region.meetings if region else [])}
        taken: set[int] = set()
        for row in held:
            n = scheduled.get(row.started_at.astimezone(tz).date())
            if n is None or n in taken:
                n = next(i for i in range(1, len(held) + len(scheduled) + 2) if i not in taken
                         and i not in scheduled.values())
            taken.add(n)
            numbers[row.meeting_id] = n
    return numbers


async def endorsements(
    app: MeetBotApp, meeting_id: str, doc: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Ordinary messages others reacted to, most reactors first (votes on proposals are the
    facilitation feature's: they target the bot's or a command's message and do not count)."""
    ordinary = {
        line["event_id"]: line for line in doc.get("log", [])
        if not line.get("is_command") and line.get("msgtype") != "m.notice"
    }
    reactors: dict[str, set[str]] = {}
    keys: dict[str, dict[str, int]] = {}
    for reaction in await ResearchStore(app.store).reactions(meeting_id):
        target = str(reaction.payload.get("target") or "")
        key = str(reaction.payload.get("key") or "")
        line = ordinary.get(target)
        if line is None or not key or is_tombstone(reaction.sender):
            continue
        if reaction.sender == line["sender"]:
            continue  # liking one's own message is not an endorsement
        reactors.setdefault(target, set()).add(reaction.sender)
        keys.setdefault(target, {})[key] = keys.get(target, {}).get(key, 0) + 1
    ranked = sorted(reactors, key=lambda t: (-len(reactors[t]), ordinary[t]["line"]))
    return [
        {"event_id": t, "line": ordinary[t]["line"], "count": len(reactors[t]),
         "keys": keys[t]}
        for t in ranked
    ]


def prompt_of_lines(doc: Mapping[str, Any]) -> dict[int, str | None]:
    """Log line -> the prompt id open when it was said (lines before any prompt: None)."""
    openers = sorted(
        (item["log_line"], item.get("prompt_id"))
        for item in doc.get("items", [])
        if item["kind"] in ("prompt", "topic") and item.get("log_line")
    )
    result: dict[int, str | None] = {}
    current: str | None = None
    index = 0
    for line in doc.get("log", []):
        while index < len(openers) and openers[index][0] <= line["line"]:
            current = openers[index][1]
            index += 1
        result[line["line"]] = current
    return result


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
    from meetbot.minutes.delivery import minutes_data

    rows = await app.store.meetings()
    chosen = [row for row in rows if row.ended_at is not None or include_running]
    held: list[HeldMeeting] = []
    for row in progress(chosen) if progress else chosen:
        doc = await minutes_data(app, row.meeting_id)
        held.append(HeldMeeting(row, doc["meeting_number"], doc["meetings_planned"], doc))
    return held


async def research_keys(app: MeetBotApp, meeting_id: str, doc: dict[str, Any]) -> None:
    """Add what the coordinator needs to a minutes document: its number in the region's
    series and the messages others endorsed."""
    rows = await app.store.meetings()
    number = meeting_numbers(app.config, rows).get(meeting_id, 1)
    doc["meeting_number"] = number
    doc["meetings_planned"] = max(planned_meetings(app.config.region(str(doc["region"]))), number)
    doc["endorsements"] = await endorsements(app, meeting_id, doc)


def scheduled_start(region: RegionConfig, number: int) -> datetime | None:
    for meeting in region.meetings:
        if meeting.number == number:
            return meeting.starts.replace(tzinfo=ZoneInfo(region.timezone))
    return None
