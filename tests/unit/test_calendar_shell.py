"""The meeting calendar as it runs: reminders, openings and missed meetings, across restarts.

``MeetingCalendar`` runs over the production app, a real SQLite database and the bot's real
APScheduler (the ``TimerScheduler``'s). Meetings are configured relative to the wall clock,
in Bogotá time, as a deployment writes them. The pure side (the key format, ``plan``,
``opening``, what each tick does to a room) is in ``test_facilitation_calendar.py``; this
file checks what the shell promises around it: what it records, what it schedules, what it
fires at start, and that a restart never reminds, opens or reports a meeting twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from shell_helpers import (
    BEA,
    COORD,
    REGION,
    ROOM,
    Speaker,
    bodies,
    config_file,
    open_bound,
    until,
)

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config
from meetbot.core.records import SlotKey
from meetbot.runtime.calendar import Job, MeetingCalendar, slot_for, start_calendar
from meetbot.runtime.features import open_app
from meetbot.runtime.running import RunningBot
from meetbot.runtime.timers import TimerScheduler

TZ = "America/Bogota"


def local(delta: timedelta) -> str:
    """A meeting's configured start: now + ``delta``, as Bogotá wall-clock time."""
    at = datetime.now(timezone.utc) + delta
    return at.astimezone(ZoneInfo(TZ)).replace(tzinfo=None, microsecond=0).isoformat()


def meetings_config(tmp_path: Path, *starts: timedelta, **extra: Any) -> Config:
    return config_file(
        tmp_path, timezone_name=TZ, languages=("en",),
        meetings=[{"number": n, "starts": local(delta), "duration": "90m",
                   "title": f"Water {n}"} for n, delta in enumerate(starts, start=1)],
        **extra,
    )


def slot(config: Config, number: int = 1, what: str = "open") -> SlotKey:
    region = config.region(REGION)
    assert region is not None
    meeting = next(m for m in region.meetings if m.number == number)
    return replace(slot_for(region, meeting), what=what)


class Bot:
    """One run of the bot, as far as the calendar goes: open, restore, plan."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: MeetBotApp | None = None
        self.timers: TimerScheduler | None = None
        self.calendar: MeetingCalendar | None = None

    async def start(self, *, joined: bool = True) -> MeetingCalendar:
        """What the service does: rooms joined, meetings restored, then the calendar."""
        app = self.app = await (open_bound(self.config) if joined else open_app(self.config))
        self.timers = TimerScheduler(app)
        self.timers.start()
        await app.restore()
        self.calendar = MeetingCalendar(app, self.timers.scheduler)
        await self.calendar.start()
        return self.calendar

    async def stop(self) -> None:
        if self.timers is not None:
            self.timers.shutdown()
        if self.app is not None:
            await self.app.store.db.close()
        self.app = self.timers = self.calendar = None

    async def restart(self, *, joined: bool = True) -> MeetingCalendar:
        await self.stop()
        return await self.start(joined=joined)

    @property
    def running(self) -> MeetBotApp:
        assert self.app is not None
        return self.app

    def jobs(self) -> list[tuple[int, str, datetime]]:
        """The calendar's jobs on the scheduler: (meeting number, what, when)."""
        assert self.timers is not None
        found = [job.args[0] for job in self.timers.scheduler.get_jobs()
                 if job.args and isinstance(job.args[0], Job)]
        return sorted(((j.key.number, j.key.what, j.at) for j in found), key=lambda j: j[2])

    def statuses(self) -> dict[int, str]:
        assert self.calendar is not None
        return {p.number: p.status for p in self.calendar.planned(REGION)}

    async def said(self, text: str, room_id: str = ROOM) -> int:
        return sum(text in body for body in await bodies(self.running, room_id))


@pytest.fixture
async def bot_for() -> AsyncIterator[Any]:
    bots: list[Bot] = []

    def make(config: Config) -> Bot:
        bots.append(Bot(config))
        return bots[-1]

    yield make
    for bot in bots:
        await bot.stop()


async def test_every_configured_meeting_is_recorded_and_its_reminders_and_opening_scheduled(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(days=3), timedelta(days=10))
    bot = bot_for(config)
    calendar = await bot.start()

    planned = calendar.planned(None)
    assert [(p.number, p.title, p.status, p.timezone) for p in planned] == [
        (1, "Water 1", "scheduled", TZ), (2, "Water 2", "scheduled", TZ)]
    first = slot(config, 1)
    assert planned[0].starts == first.starts and planned[0].ends == first.ends
    assert bot.jobs() == sorted([
        (n, what, slot(config, n).starts - before)
        for n in (1, 2)
        for what, before in (("remind-86400", timedelta(days=1)),
                             ("remind-3600", timedelta(hours=1)), ("open", timedelta(0)))
    ], key=lambda j: j[2])
    assert await bodies(bot.running) == [], "nothing is said before its time"


async def test_a_reminder_missed_while_the_bot_was_down_is_sent_once_at_start_and_never_again(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=30))
    bot = bot_for(config)
    await bot.start()

    assert await bot.said("Reminder: Water 1 starts on") == 1, "only the latest one"
    assert bot.jobs() == [(1, "open", slot(config).starts)]

    await bot.restart()
    assert await bot.said("Reminder:") == 1
    assert bot.jobs() == [(1, "open", slot(config).starts)]


async def test_a_meeting_the_bot_was_down_for_opens_late_within_the_grace_and_only_once(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-5))
    bot = bot_for(config)
    await bot.start()

    meeting = bot.running.meeting_in(ROOM)
    assert meeting is not None and meeting.title == "Water 1"
    assert await bot.said("The bot was unavailable at") == 1
    assert await bot.said("Meeting started") == 1
    assert bot.statuses() == {1: "held"}
    assert bot.jobs() == []
    assert bot.timers is not None
    closing = [j.id for j in bot.timers.scheduler.get_jobs() if j.id.startswith("meeting-close:")]
    assert closing, "the scheduled end is armed on the scheduler"

    await bot.restart()
    again = bot.running.meeting_in(ROOM)
    assert again is not None and again.id == meeting.id, "the same meeting, not a second one"
    assert await bot.said("Meeting started") == 1
    assert bot.statuses() == {1: "held"}
    assert bot.jobs() == []


async def test_a_meeting_missed_past_the_grace_is_reported_to_the_room_and_coordinator_once(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-40), coordinator=True)
    bot = bot_for(config)
    await bot.start()

    assert bot.running.meeting_in(ROOM) is None
    assert await bot.said("could not be opened: the bot was unavailable") == 1
    assert await bot.said("Missed meeting: Latin America, Water 1", COORD) == 1
    assert bot.statuses() == {1: "missed"}

    await bot.restart()
    assert bot.running.meeting_in(ROOM) is None
    assert await bot.said("could not be opened") == 1
    assert await bot.said("Missed meeting", COORD) == 1
    assert bot.statuses() == {1: "missed"}
    assert bot.jobs() == []


async def test_the_opening_job_opens_the_meeting_and_a_second_run_of_it_changes_nothing(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(seconds=30), reminders=[])
    bot = bot_for(config)
    await bot.start()
    assert bot.timers is not None
    (job,) = [j for j in bot.timers.scheduler.get_jobs() if j.args and isinstance(j.args[0], Job)]
    assert job.next_run_time == slot(config).starts

    await job.func(*job.args)  # what APScheduler does at the meeting's start
    meeting = bot.running.meeting_in(ROOM)
    assert meeting is not None and meeting.slot is not None and meeting.slot.number == 1
    assert bot.statuses() == {1: "held"}

    await job.func(*job.args)  # fired again (a restart in between, say)
    again = bot.running.meeting_in(ROOM)
    assert again is not None and again.id == meeting.id
    assert await bot.said("Meeting started") == 1
    assert bot.statuses() == {1: "held"}


async def test_a_region_whose_room_is_not_joined_gets_no_meeting_until_it_is(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-5))
    bot = bot_for(config)
    await bot.start(joined=False)

    assert bot.running.meeting_in(ROOM) is None
    assert not await bot.running.store.has_event(f"tick:{slot(config).encode()}")
    assert bot.statuses() == {1: "scheduled"}

    await bot.restart(joined=True)
    assert bot.running.meeting_in(ROOM) is not None
    assert bot.statuses() == {1: "held"}


async def test_schedule_answers_from_the_running_calendar(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(days=2), timedelta(days=9))
    bot = bot_for(config)
    await bot.start()

    await bot.running.ingest(Speaker(datetime.now(timezone.utc)).say("!schedule", sender=BEA))

    (answer,) = await bodies(bot.running, ROOM)
    first = slot(config, 1).starts.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")
    assert f"Meeting 1: {first} ({TZ}), 1h30m — Water 1 (scheduled)" in answer
    assert "Meeting 2:" in answer


async def test_a_meeting_moved_in_the_config_before_it_was_held_is_planned_at_its_new_time(
    tmp_path: Path, bot_for: Any
) -> None:
    bot = bot_for(meetings_config(tmp_path, timedelta(days=2), reminders=[]))
    await bot.start()
    await bot.stop()

    moved = meetings_config(tmp_path, timedelta(days=3), reminders=[])
    bot = bot_for(moved)
    calendar = await bot.start()
    (planned,) = calendar.planned(REGION)
    assert planned.starts == slot(moved).starts
    assert bot.jobs() == [(1, "open", slot(moved).starts)]


async def test_a_held_meeting_keeps_its_record_when_the_config_moves_it_afterwards(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-5), reminders=[])
    bot = bot_for(config)
    await bot.start()
    meeting = bot.running.meeting_in(ROOM)
    assert meeting is not None
    await bot.running.ingest(Speaker(datetime.now(timezone.utc)).say("!endmeeting"))
    await bot.stop()

    bot = bot_for(meetings_config(tmp_path, timedelta(days=1), reminders=[]))
    calendar = await bot.start()
    (planned,) = calendar.planned(REGION)
    assert (planned.starts, planned.status) == (slot(config).starts, "held")
    assert bot.jobs() == [], "a meeting that was held is not opened again"
    assert bot.running.meeting_in(ROOM) is None


async def test_the_calendar_waits_until_the_bot_is_ready_before_it_plans(
    tmp_path: Path, bot_for: Any
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-5))
    bot = bot_for(config)
    app = bot.app = await open_bound(config)
    timers = bot.timers = TimerScheduler(app)
    timers.start()
    ready = asyncio.Event()
    # What the bot gives its startup features (the sync loop stands in as a task that waits).
    sync = asyncio.ensure_future(asyncio.Event().wait())
    running: Any = RunningBot(app, SimpleNamespace(ready=ready), timers, sync)  # type: ignore[arg-type]

    await start_calendar(running)
    await asyncio.sleep(0.05)
    assert app.meeting_in(ROOM) is None, "rooms not joined nor meetings restored yet"
    assert app.calendar_view is None

    ready.set()

    async def held() -> bool:
        source = app.calendar_view
        return source is not None and [p.status for p in source(REGION)] == ["held"]

    await until(held, app.outbox_ready)
    assert app.meeting_in(ROOM) is not None
    sync.cancel()


async def test_a_meeting_missed_just_before_a_crash_is_not_listed_as_running_after_the_restart(
    tmp_path: Path, bot_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = meetings_config(tmp_path, timedelta(minutes=-40), coordinator=True)
    bot = bot_for(config)
    app = bot.app = await open_bound(config)
    timers = bot.timers = TimerScheduler(app)
    timers.start()
    calendar = bot.calendar = MeetingCalendar(app, timers.scheduler)

    class ProcessDied(Exception):
        pass

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise ProcessDied("killed right after the missed tick was stored")

    monkeypatch.setattr(calendar.store, "mark", killed)
    with pytest.raises(ProcessDied):
        await calendar.start()
    assert await bot.said("could not be opened") == 1

    calendar = await bot.restart()
    assert await bot.said("could not be opened") == 1, "not told twice"
    assert bot.statuses() == {1: "missed"}
    await bot.running.ingest(Speaker(datetime.now(timezone.utc)).say("!schedule", sender=BEA))
    assert await bot.said("running now") == 0
