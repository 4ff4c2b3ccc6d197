"""Timers on APScheduler: the core asks for a timer, the scheduler feeds a Tick back in.

Timers are stored (table ``timers``) in the same transaction that asked for them and are
re-armed at start, so a restart loses none; a tick's event id is derived from the timer key,
so a timer that fires twice (before and after a crash) is handled once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from meetbot.app import MeetBotApp
from meetbot.core.events import Tick

log = logging.getLogger(__name__)


def tick_event_id(key: str) -> str:
    return f"tick:{key}"


class TimerScheduler:
    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._shut = False
        app.on_timer_set = self.set
        app.on_timer_cancel = self.cancel

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop firing timers; safe to call more than once (APScheduler stops a moment later
        on the event loop, so ``running`` alone cannot tell)."""
        if self.scheduler.running and not self._shut:
            self._shut = True
            self.scheduler.shutdown(wait=False)

    def set(self, key: str, room_id: str, at: datetime) -> None:
        self.scheduler.add_job(
            self.fire,
            DateTrigger(run_date=at, timezone=timezone.utc),
            args=[key, room_id],
            id=key,
            replace_existing=True,
            misfire_grace_time=None,  # a timer missed while the bot was down still fires
            coalesce=True,
        )

    def cancel(self, key: str) -> None:
        job = self.scheduler.get_job(key)
        if job is not None:
            job.remove()

    async def fire(self, key: str, room_id: str) -> None:
        tick = Tick(
            event_id=tick_event_id(key),
            room_id=room_id,
            sender=self.app.bot_user_id,
            at=datetime.now(timezone.utc),
            timer=key,
        )
        try:
            await self.app.ingest(tick)
        except Exception:
            log.exception("timer %s failed", key)
