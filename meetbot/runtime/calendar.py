"""The meeting calendar: reminders, opening and missed meetings, on APScheduler.

At start (once rooms are joined and meetings restored) every configured meeting is recorded
in ``scheduled_meetings`` and its jobs are planned from the clock and from what the event
store says already happened. A job feeds a calendar tick (see ``core/facilitation/scheduled.py``)
through ``app.ingest``; its event id is derived from its key, so a tick handled before a
restart is never handled again: no reminder twice, no meeting opened twice.

If the bot was down at a start time it opens the meeting late within ``late_start_grace``;
past that the meeting is marked missed and the coordinator room is told.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config, RegionConfig, ScheduledMeeting
from meetbot.core.events import Tick
from meetbot.core.facilitation.scheduled import planned_in
from meetbot.core.records import Planned, SlotKey
from meetbot.runtime.running import RunningBot
from meetbot.storage.calendar_store import HELD, MISSED, SCHEDULED, CalendarRow, CalendarStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One thing the calendar will do: ``key`` is the tick it feeds in."""

    key: SlotKey
    at: datetime


def slot_for(region: RegionConfig, meeting: ScheduledMeeting, what: str = "open") -> SlotKey:
    return SlotKey(
        region=region.id,
        number=meeting.number,
        what=what,
        starts=planned_in(region.timezone, meeting.starts).astimezone(timezone.utc),
        duration=meeting.duration,
        title=meeting.title or "",
    )


def reminders_for(config: Config, region: RegionConfig) -> list[timedelta]:
    return sorted(region.reminders if region.reminders is not None else config.reminders)


def plan(
    slot: SlotKey, reminders: list[timedelta], grace: timedelta, now: datetime,
    fired: set[str], status: str = SCHEDULED,
) -> list[Job]:
    """The jobs still to do for one meeting at ``now`` (``at <= now`` means at once).

    ``fired`` holds the keys already handled. Of the reminders missed while the bot was down,
    only the latest is sent, and only before the meeting starts.
    """
    if status != SCHEDULED or any(_with(slot, w).encode() in fired for w in ("open", "missed")):
        return []
    jobs: list[Job] = []
    overdue: list[SlotKey] = []
    for before in reminders:
        key = _with(slot, f"remind-{int(before.total_seconds())}")
        at = slot.starts - before
        if at > now:
            if key.encode() not in fired:
                jobs.append(Job(key, at))
        elif now < slot.starts:
            overdue.append(key)
    if overdue:
        latest = min(overdue, key=lambda key: int(key.what.removeprefix("remind-")))
        if latest.encode() not in fired:
            jobs.append(Job(latest, now))
    jobs.append(Job(opening(slot, grace, now), max(slot.starts, now)))
    return sorted(jobs, key=lambda job: job.at)


def opening(slot: SlotKey, grace: timedelta, now: datetime) -> SlotKey:
    """``open`` up to the grace period after the start, ``missed`` past it."""
    return _with(slot, "open" if now <= slot.starts + grace else "missed")


def _with(slot: SlotKey, what: str) -> SlotKey:
    return SlotKey(slot.region, slot.number, what, slot.starts, slot.duration, slot.title)


class MeetingCalendar:
    """The calendar of one running bot."""

    def __init__(self, app: MeetBotApp, scheduler: Any) -> None:
        self.app = app
        self.config: Config = app.config
        self.scheduler = scheduler  # APScheduler's AsyncIOScheduler
        self.store = CalendarStore(app.store.db)
        self.rows: list[CalendarRow] = []
        self.names = {r.id: r.name for r in self.config.regions}

    async def start(self) -> None:
        now = datetime.now(timezone.utc)
        immediate: list[Job] = []
        for region in self.config.regions:
            for meeting in region.meetings:
                slot = slot_for(region, meeting)
                title = meeting.title or f"{region.name} — meeting {meeting.number}"
                await self.store.plan(region.id, meeting.number, slot.starts, slot.ends,
                                      region.timezone, title)
                status = await self._status(slot)
                fired = await self._fired(slot, reminders_for(self.config, region))
                for job in plan(slot, reminders_for(self.config, region),
                                self.config.late_start_grace, now, fired, status):
                    if job.at <= now:
                        immediate.append(job)
                    else:
                        self._schedule(job)
        await self.refresh()
        self.app.calendar_view = self.planned
        for job in immediate:
            await self.fire(job)

    async def _status(self, slot: SlotKey) -> str:
        """The stored status, corrected by the event store (the source of truth) and kept:
        a crash between a tick and its ``mark`` must not leave a held or missed meeting
        listed as scheduled."""
        store = self.app.store
        row = next((r for r in await self.store.rows(slot.region) if r.number == slot.number),
                   None)
        stored = row.status if row else SCHEDULED
        opened = f"tick:{_with(slot, 'open').encode()}"
        if await store.has_event(opened):
            if stored != HELD:
                await self.store.mark(slot.region, slot.number, HELD,
                                      await store.meeting_of_event(opened))
            return HELD
        if await store.has_event(f"tick:{_with(slot, 'missed').encode()}"):
            if stored != MISSED:
                await self.store.mark(slot.region, slot.number, MISSED)
            return MISSED
        return stored

    async def _fired(self, slot: SlotKey, reminders: list[timedelta]) -> set[str]:
        keys = [_with(slot, f"remind-{int(r.total_seconds())}").encode() for r in reminders]
        return {k for k in keys if await self.app.store.has_event(f"tick:{k}")}

    def _schedule(self, job: Job) -> None:
        from apscheduler.triggers.date import DateTrigger

        self.scheduler.add_job(
            self.fire,
            DateTrigger(run_date=job.at, timezone=timezone.utc),
            args=[job],
            id=f"calendar-job:{job.key.encode()}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    async def fire(self, job: Job) -> None:
        now = datetime.now(timezone.utc)
        key = job.key
        if key.what in ("open", "missed"):
            key = opening(key, self.config.late_start_grace, now)
        room_id = self.app.region_rooms.get(key.region)
        if room_id is None:
            log.warning("calendar: region %s has no joined room; %s skipped", key.region,
                        key.what)
            return
        timer = key.encode()
        tick = Tick(event_id=f"tick:{timer}", room_id=room_id, sender=self.app.bot_user_id,
                    at=now, timer=timer)
        try:
            outcome = await self.app.ingest(tick)
        except Exception:
            log.exception("calendar job %s failed", timer)
            return
        if key.what == "open":
            meeting_id = outcome.meeting_id if outcome else None
            await self.store.mark(key.region, key.number, HELD, meeting_id)
        elif key.what == "missed":
            await self.store.mark(key.region, key.number, MISSED)
        await self.refresh()

    async def refresh(self) -> None:
        self.rows = await self.store.rows()

    def planned(self, region_id: str | None) -> list[Planned]:
        configured = {(r.id, m.number) for r in self.config.regions for m in r.meetings}
        return [
            Planned(
                region_id=row.region_id,
                region_name=self.names.get(row.region_id, row.region_id),
                number=row.number,
                starts=row.starts_at,
                ends=row.ends_at,
                timezone=row.timezone,
                title=row.title,
                status=row.status,
            )
            for row in self.rows
            if (region_id is None or row.region_id == region_id)
            and (row.region_id, row.number) in configured
        ]


_running: set[asyncio.Task[None]] = set()


async def start_calendar(running: RunningBot) -> None:
    """Plan the calendar once the bot is ready, without delaying start."""

    async def when_ready() -> None:
        bot, app, timers = running.bot, running.app, running.timers
        if not any(region.meetings for region in app.config.regions):
            return
        ready = asyncio.ensure_future(bot.ready.wait())
        waiting: set[asyncio.Future[Any]] = {ready, running.sync}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            return
        await MeetingCalendar(app, timers.scheduler).start()

    task = asyncio.create_task(when_ready(), name="meetbot-calendar")
    _running.add(task)
    task.add_done_callback(_running.discard)

