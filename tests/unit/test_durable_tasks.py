"""Durable tasks: work that must happen once, even across failures, waits and restarts.

A ``TaskRunner`` runs over the production app and a real SQLite database. Its handlers here
are small chores written as real handlers are: they do their work and finish their own task
in one transaction (so a crash in between undoes both), and they record every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from shell_helpers import ROOM as MEETING_ROOM
from shell_helpers import Speaker, config_file, open_bound

from meetbot.app import MeetBotApp
from meetbot.matrix.content import txn_id_for
from meetbot.runtime.tasks import TaskRunner, retry_delay
from meetbot.storage.store import MAX_TASK_ATTEMPTS, NotReady, Task

ROOM = "!chores:example.org"


class Chores:
    """A handler that posts one notice per task and finishes it, after the planned trouble."""

    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        self.runs: list[tuple[str, int]] = []  # (task key, attempts when run)
        self.failures: dict[str, int] = {}  # key -> how many runs fail first
        self.not_ready: dict[str, int] = {}  # key -> how many runs find it not ready
        self.hold: dict[str, asyncio.Event] = {}  # key -> released when the test says so
        self.running = 0
        self.most_at_once = 0
        self._ran = asyncio.Event()

    async def __call__(self, task: Task) -> None:
        self.runs.append((task.key, task.attempts))
        self._ran.set()
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(0)  # let anything else that could run, run
            if self.not_ready.get(task.key, 0) > 0:
                self.not_ready[task.key] -= 1
                raise NotReady("waiting for other work")
            if self.failures.get(task.key, 0) > 0:
                self.failures[task.key] -= 1
                raise RuntimeError("the homeserver said no")
            async with self.app.store.db.transaction():
                await self.app.store.enqueue(ROOM, txn_id_for(f"chore:{task.key}"),
                                             {"msgtype": "m.notice", "body": task.key})
                if task.key in self.hold:
                    await self.hold[task.key].wait()
                await self.app.store.finish_task(task.id)
        finally:
            self.running -= 1

    def keys(self) -> list[str]:
        return [key for key, _attempts in self.runs]

    async def ran(self, times: int, timeout: float = 3.0) -> None:
        """Wait until the handler has been called ``times`` times in all."""

        async def enough() -> None:
            while len(self.runs) < times:
                self._ran.clear()
                await self._ran.wait()

        await asyncio.wait_for(enough(), timeout)


@contextlib.asynccontextmanager
async def running(runner: TaskRunner) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        runner.stop()
        await asyncio.wait_for(task, 2)


async def add(app: MeetBotApp, *keys: str, kind: str = "chore") -> None:
    async with app.store.db.transaction():
        for key in keys:
            await app.store.add_task(kind, key, {"what": key})
    app.wake_tasks()


async def notices(app: MeetBotApp) -> list[str]:
    return [str(row.content["body"]) for row in await app.store.pending_outbox(limit=1000)
            if row.room_id == ROOM]


async def idle(runner: TaskRunner) -> None:
    """Wait until the runner has looked for work after this call and found none."""
    runner.idle.clear()
    runner.ready.set()
    await asyncio.wait_for(runner.idle.wait(), 3)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[MeetBotApp]:
    app = await open_bound(config_file(tmp_path))
    yield app
    await app.store.db.close()


async def test_a_task_runs_once_and_is_finished(app: MeetBotApp) -> None:
    chores = Chores(app)
    runner = TaskRunner(app, {"chore": chores}, "chores")
    async with running(runner):
        await add(app, "water the plants")
        await chores.ran(1)
        await idle(runner)

    assert chores.runs == [("water the plants", 0)]
    assert await notices(app) == ["water the plants"]
    assert await app.store.pending_tasks(["chore"]) == []

    again = Chores(app)
    rerun = TaskRunner(app, {"chore": again}, "chores")
    async with running(rerun):
        await idle(rerun)
    assert again.runs == [], "done work is never done again"


async def test_a_task_asked_for_twice_runs_once(app: MeetBotApp) -> None:
    chores = Chores(app)
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "minutes:1")
    await add(app, "minutes:1")
    async with running(runner):
        await chores.ran(1)
        await idle(runner)
        await add(app, "minutes:1")  # asked again after it was done
        await idle(runner)
    assert chores.keys() == ["minutes:1"]


async def test_tasks_run_one_at_a_time_in_the_order_they_were_made(app: MeetBotApp) -> None:
    chores = Chores(app)
    runner = TaskRunner(app, {"chore": chores, "errand": chores}, "chores")
    await add(app, "first")
    await add(app, "second", kind="errand")
    await add(app, "third")
    async with running(runner):
        await chores.ran(3)
        await idle(runner)
    assert chores.keys() == ["first", "second", "third"]
    assert chores.most_at_once == 1
    assert await notices(app) == ["first", "second", "third"]


async def test_new_work_from_an_event_wakes_an_idle_runner_at_once(app: MeetBotApp) -> None:
    """The runner polls every 5 s; an event that makes work must not wait for that."""
    chores = Chores(app)
    runner = TaskRunner(app, {"minutes": chores}, "minutes")
    say = Speaker()
    async with running(runner):
        await idle(runner)
        await app.ingest(say.say("!startmeeting"))
        await app.ingest(say.say("!endmeeting"))
        await chores.ran(1, timeout=1.0)
    meeting = app.states[MEETING_ROOM].last_meeting
    assert meeting is not None and chores.keys() == [f"minutes:{meeting.id}"]


async def test_a_runner_leaves_other_kinds_of_work_alone(app: MeetBotApp) -> None:
    chores = Chores(app)
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "report:1", kind="report")
    await add(app, "sweep")
    async with running(runner):
        await chores.ran(1)
        await idle(runner)
    assert chores.keys() == ["sweep"]
    assert [t.key for t in await app.store.pending_tasks(["report"])] == ["report:1"]


async def test_a_failed_task_is_retried_and_its_attempts_are_counted(
    app: MeetBotApp, caplog: pytest.LogCaptureFixture
) -> None:
    chores = Chores(app)
    chores.failures["send the minutes"] = 1
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "send the minutes")
    with caplog.at_level(logging.ERROR, logger="meetbot.runtime.tasks"):
        async with running(runner):
            await chores.ran(2)
            await idle(runner)
    assert chores.runs == [("send the minutes", 0), ("send the minutes", 1)]
    assert await notices(app) == ["send the minutes"]
    assert "chores task send the minutes failed (attempt 1)" in caplog.text
    assert "RuntimeError: the homeserver said no" in caplog.text


async def test_a_task_that_is_not_ready_waits_without_using_up_its_attempts(
    app: MeetBotApp,
) -> None:
    chores = Chores(app)
    chores.not_ready["minutes"] = 1
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "minutes")
    async with running(runner):
        await chores.ran(2)
        await idle(runner)
    assert chores.runs == [("minutes", 0), ("minutes", 0)]
    assert await notices(app) == ["minutes"]


async def test_one_failing_task_does_not_hold_back_the_ones_after_it(app: MeetBotApp) -> None:
    chores = Chores(app)
    chores.failures["broken"] = 1
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "broken", "fine")
    async with running(runner):
        await chores.ran(3)
        await idle(runner)
    assert chores.keys() == ["broken", "fine", "broken"]
    assert await notices(app) == ["fine", "broken"]


async def test_a_task_that_keeps_failing_is_given_up_after_its_last_attempt(
    app: MeetBotApp,
) -> None:
    chores = Chores(app)
    chores.failures["hopeless"] = 100
    await add(app, "hopeless")
    (task,) = await app.store.pending_tasks(["chore"])
    async with app.store.db.transaction():
        for n in range(MAX_TASK_ATTEMPTS - 1):  # all but the last attempt failed before
            await app.store.fail_task(task.id, f"failure {n + 1}")
    runner = TaskRunner(app, {"chore": chores}, "chores")
    async with running(runner):
        await chores.ran(1)
        await idle(runner)
        await add(app, "still works")
        await chores.ran(2)
        await idle(runner)
    assert chores.runs == [("hopeless", MAX_TASK_ATTEMPTS - 1), ("still works", 0)]
    assert await app.store.pending_tasks(["chore"]) == []
    assert await app.store.pending_tasks(["chore"], max_attempts=MAX_TASK_ATTEMPTS + 1) == [], (
        "given up, not waiting"
    )
    assert await notices(app) == ["still works"]


def test_a_failing_task_waits_longer_each_time_up_to_ten_minutes() -> None:
    waits = [retry_delay(n).total_seconds() for n in range(1, MAX_TASK_ATTEMPTS)]
    assert waits[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(waits) == 600
    assert sum(waits) > 3600, "an hour-long outage uses up no task"


async def test_a_failed_task_is_not_tried_again_before_its_wait_is_over(
    app: MeetBotApp,
) -> None:
    await add(app, "upload the minutes")
    (task,) = await app.store.pending_tasks(["chore"])
    async with app.store.db.transaction():
        await app.store.fail_task(task.id, "refused", datetime.now(timezone.utc) + timedelta(
            minutes=5))
    assert await app.store.pending_tasks(["chore"]) == []
    async with app.store.db.transaction():
        await app.store.fail_task(task.id, "refused", datetime.now(timezone.utc))
    assert [t.key for t in await app.store.pending_tasks(["chore"])] == [task.key]


async def test_stop_ends_an_idle_runner_at_once(app: MeetBotApp) -> None:
    runner = TaskRunner(app, {"chore": Chores(app)}, "chores")
    task = asyncio.create_task(runner.run())
    await idle(runner)
    runner.stop()
    await asyncio.wait_for(task, 0.5)


async def test_stopping_between_tasks_leaves_the_rest_for_the_next_start(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path)
    app = await open_bound(config)
    chores = Chores(app)
    runner = TaskRunner(app, {"chore": chores}, "chores")

    async def first_then_stop(task: Task) -> None:
        await chores(task)
        runner.stop()  # the bot is asked to stop while there is more to do

    runner.handlers["chore"] = first_then_stop
    await add(app, "one", "two")
    await asyncio.wait_for(runner.run(), 2)
    assert chores.keys() == ["one"]
    await app.store.db.close()

    again = await open_bound(config)
    try:
        after = Chores(again)
        rerun = TaskRunner(again, {"chore": after}, "chores")
        async with running(rerun):
            await after.ran(1)
            await idle(rerun)
        assert after.keys() == ["two"]
        assert await notices(again) == ["one", "two"]
    finally:
        await again.store.db.close()


async def test_a_crash_in_the_middle_of_a_task_undoes_it_and_the_restart_runs_it_once(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path)
    app = await open_bound(config)
    chores = Chores(app)
    chores.hold["publish"] = asyncio.Event()  # never released: the process dies in there
    runner = TaskRunner(app, {"chore": chores}, "chores")
    await add(app, "publish")
    killed = asyncio.create_task(runner.run())
    await chores.ran(1)
    killed.cancel()  # killed half-way through its transaction
    with contextlib.suppress(asyncio.CancelledError):
        await killed
    await app.store.db.close()

    again = await open_bound(config)
    try:
        assert await notices(again) == [], "the half-done work was not kept"
        after = Chores(again)
        rerun = TaskRunner(again, {"chore": after}, "chores")
        async with running(rerun):
            await after.ran(1)
            await idle(rerun)
        assert after.runs == [("publish", 0)]
        assert await notices(again) == ["publish"]
        assert await again.store.pending_tasks(["chore"]) == []
    finally:
        await again.store.db.close()
