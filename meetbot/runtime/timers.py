"""Timers on APScheduler: the core asks for a timer, the scheduler feeds a Tick back in.

Timers are stored (table ``timers``) in the same transaction that asked for them and are
re-armed at start, so a restart loses none; a tick's event id is derived from the timer key,
so a timer that fires twice (before and after a crash) is handled once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.core.events import Tick

log = logging.getLogger(__name__)


def tick_event_id(key: str) -> str:
    return f"tick:{key}"


class TimerScheduler:
    """APScheduler, loaded when a first timer is set (most starts have none: it stays off
    the start path)."""

    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        self._scheduler: Any = None  # APScheduler's AsyncIOScheduler, once needed
        self._started = False
        self._shut = False
        app.on_timer_set = self.set
        app.on_timer_cancel = self.cancel

    @property
    def scheduler(self) -> Any:
        """The AsyncIOScheduler (made, and started if :meth:`start` was called, on first use)."""
        if self._scheduler is None:
            from apscheduler.schedulers.asyncio import AsyncIOScheduler

            self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
            if self._started and not self._shut:
                self._scheduler.start()
        return self._scheduler

    def start(self) -> None:
        self._started = True
        if self._scheduler is not None:
            self._scheduler.start()

    def shutdown(self) -> None:
        """Stop firing timers; safe to call more than once (APScheduler stops a moment later
        on the event loop, so ``running`` alone cannot tell)."""
        if self._scheduler is not None and self._scheduler.running and not self._shut:
            self._scheduler.shutdown(wait=False)
        self._shut = True

    def set(self, key: str, room_id: str, at: datetime) -> None:
        from apscheduler.triggers.date import DateTrigger

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
        if self._scheduler is None:
            return
        job = self._scheduler.get_job(key)
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
