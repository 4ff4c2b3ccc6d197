"""Durable tasks: work that must happen once, even across crashes (minutes, translations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from meetbot.app import MeetBotApp
from meetbot.storage.store import NotReady, Task
from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)

TaskHandler = Callable[[Task], Awaitable[None]]

# After a failure a task waits 0.5 s, then twice as long each time, at most 10 minutes: a
# homeserver down for an hour uses up no task (MAX_TASK_ATTEMPTS of them: about 1.5 hours).
FIRST_RETRY_S = 0.5
LONGEST_RETRY_S = 600.0


def retry_delay(attempts: int) -> timedelta:
    """How long a task that has failed ``attempts`` times waits before the next try."""
    return timedelta(seconds=min(LONGEST_RETRY_S, FIRST_RETRY_S * 2 ** min(attempts - 1, 20)))


class TaskRunner:
    """Runs pending tasks of the given kinds, one at a time, in the order they were made.

    A handler finishes its own task (in the same transaction as what it enqueues), so a crash
    in between re-runs it; handlers are written to be idempotent.
    """

    def __init__(self, app: MeetBotApp, handlers: dict[str, TaskHandler], name: str) -> None:
        self.app = app
        self.handlers = handlers
        self.name = name
        self.ready = asyncio.Event()
        app.task_wakers.append(self.ready)
        self._stop = asyncio.Event()
        self.idle = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()
        self.ready.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            self.ready.clear()
            tasks = await self.app.store.pending_tasks(list(self.handlers))
            if not tasks:
                self.idle.set()
                await wait_or_timeout(self.ready, 5)
                continue
            self.idle.clear()
            failed = False
            for task in tasks:
                if self._stop.is_set():
                    return
                try:
                    await self.handlers[task.kind](task)
                except NotReady as wait:
                    log.debug("%s task %s waits: %s", self.name, task.key, wait)
                    failed = True  # no attempt is counted; look again shortly
                except Exception as exc:
                    failed = True
                    log.exception(
                        "%s task %s failed (attempt %d)", self.name, task.key, task.attempts + 1
                    )
                    retry_at = datetime.now(timezone.utc) + retry_delay(task.attempts + 1)
                    async with self.app.store.db.transaction():
                        await self.app.store.fail_task(
                            task.id, f"{type(exc).__name__}: {exc}", retry_at
                        )
            if failed:
                await wait_or_timeout(self._stop, 0.5)
