"""A meeting's place in the research programme, as its minutes record it: its number in the
region's series of meetings, and the messages others endorsed.

These keys are added to the document built from the meeting's record (they need the other
meetings and the stored reactions). The coordinator's summary reads them, and so do the
research report and exports in :mod:`meetbot.research`, which build on the minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config, RegionConfig
from meetbot.storage.research_store import ResearchStore
from meetbot.storage.store import MeetingRow

# Meetings a region holds when its config lists no schedule (the programme's 6 x 4).
PLANNED_MEETINGS = 4

# The domain of the stand-in id written over a withdrawn person's events. It is
# ``meetbot.research.removal.WITHDRAWN_DOMAIN``: the minutes may not import the research
# package, so the check is repeated here, and tests/unit/test_layers.py keeps the two the same.
WITHDRAWN_DOMAIN = "withdrawn.invalid"


def is_withdrawn(user_id: str | None) -> bool:
    """Whether ``user_id`` is the stand-in for a person who withdrew."""
    return bool(user_id) and str(user_id).endswith(":" + WITHDRAWN_DOMAIN)


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
        if line is None or not key or is_withdrawn(reaction.sender):
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


async def research_keys(app: MeetBotApp, meeting_id: str, doc: dict[str, Any]) -> None:
    """Add what the coordinator needs to a minutes document: its number in the region's
    series and the messages others endorsed."""
    rows = await app.store.meetings()
    number = meeting_numbers(app.config, rows).get(meeting_id, 1)
    doc["meeting_number"] = number
    doc["meetings_planned"] = max(planned_meetings(app.config.region(str(doc["region"]))), number)
    doc["endorsements"] = await endorsements(app, meeting_id, doc)
