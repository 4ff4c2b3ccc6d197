"""When each configured meeting takes written answers (``regions[].async_window``)."""

from __future__ import annotations

from datetime import datetime, timezone

from meetbot.config.schema import Config, RegionConfig, ScheduledMeeting
from meetbot.core.facilitation.scheduled import planned_in
from meetbot.core.written import window


def planned_times(region: RegionConfig, planned: ScheduledMeeting) -> tuple[datetime, datetime]:
    """A configured meeting's start and end, in UTC."""
    starts = planned_in(region.timezone, planned.starts).astimezone(timezone.utc)
    return starts, starts + planned.duration


def answer_window(
    region: RegionConfig, planned: ScheduledMeeting
) -> tuple[datetime, datetime] | None:
    """When its prompts take written answers (None: the region has none)."""
    if region.async_window is None:
        return None
    return window(*planned_times(region, planned), region.async_window)


def open_windows(config: Config, now: datetime) -> list[tuple[RegionConfig, ScheduledMeeting]]:
    """The configured meetings whose prompts take written answers at ``now``."""
    found = []
    for region in config.regions:
        for planned in region.meetings:
            span = answer_window(region, planned)
            if span is not None and span[0] <= now < span[1]:
                found.append((region, planned))
    return found
