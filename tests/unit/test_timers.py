"""Timers on APScheduler: what the core asks for comes back as one Tick, restarts included.

The scheduler runs for real on the test's event loop, over the production app and a real
SQLite database. A timebox (``!time 10m``) is the core's timer here: its events are dated
so that the timer falls due a fraction of a second after the test arms it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from shell_helpers import ROOM, Speaker, bodies, config_file, open_bound, until

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config
from meetbot.core.engine import Outcome
from meetbot.core.events import Event
from meetbot.core.facilitation.timebox import Timebox
from meetbot.runtime.timers import TimerScheduler

TIME_IS_UP = "Time is up for this part of the meeting"
TEN_MINUTES = timedelta(minutes=10)


def speaker_for_timebox_ending_in(seconds: float) -> Speaker:
    """Events dated so that ``!startmeeting`` then ``!time 10m`` (its 2nd event) end then."""
    ends = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return Speaker(start=ends - TEN_MINUTES - timedelta(seconds=2))


async def timebox(app: MeetBotApp, say: Speaker) -> Timebox:
    await app.ingest(say.say("!startmeeting"))
    await app.ingest(say.say("!time 10m"))
    meeting = app.meeting_in(ROOM)
    assert meeting is not None and meeting.timebox is not None
    return meeting.timebox


async def said(app: MeetBotApp, text: str) -> int:
    return sum(text in body for body in await bodies(app, ROOM))


def job_ids(timers: TimerScheduler) -> set[str]:
    return {job.id for job in timers.scheduler.get_jobs()}


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_file(tmp_path)


@pytest.fixture
async def app(config: Config) -> AsyncIterator[MeetBotApp]:
    app = await open_bound(config)
    yield app
    await app.store.db.close()


@pytest.fixture
async def timers(app: MeetBotApp) -> AsyncIterator[TimerScheduler]:
    timers = TimerScheduler(app)
    timers.start()
    yield timers
    timers.shutdown()


async def test_a_timer_the_core_asks_for_comes_back_as_a_tick_when_it_is_due(
    app: MeetBotApp, timers: TimerScheduler
) -> None:
    box = await timebox(app, speaker_for_timebox_ending_in(0.2))
    assert box.end_key in job_ids(timers)  # (the warning, already due, may have fired)

    async def time_is_up() -> bool:
        return await said(app, TIME_IS_UP) == 1

    await until(time_is_up, app.outbox_ready)
    assert await said(app, "left for this part of the meeting") == 1, "the warning came first"
    assert await app.store.has_event(f"tick:{box.end_key}")
    assert await app.store.timers() == [], "a fired timer is no longer stored"
    assert not {box.warn_key, box.end_key} & job_ids(timers)


async def test_a_timer_fired_twice_is_handled_once(
    app: MeetBotApp, timers: TimerScheduler
) -> None:
    box = await timebox(app, speaker_for_timebox_ending_in(3600))

    await timers.fire(box.end_key, ROOM)  # before a crash...
    await timers.fire(box.end_key, ROOM)  # ...and again after it

    assert await said(app, TIME_IS_UP) == 1


async def test_a_timer_survives_a_restart(config: Config) -> None:
    app = await open_bound(config)
    box = await timebox(app, speaker_for_timebox_ending_in(3600))
    await app.store.db.close()  # the bot stops with the timebox running

    again = await open_bound(config)
    timers = TimerScheduler(again)
    timers.start()
    try:
        await again.restore()
        job = timers.scheduler.get_job(box.end_key)
        assert job is not None
        assert abs(job.next_run_time - (box.started_at + TEN_MINUTES)) < timedelta(seconds=1)
        assert timers.scheduler.get_job(box.warn_key) is not None
    finally:
        timers.shutdown()
        await again.store.db.close()


async def test_a_timer_that_fell_due_while_the_bot_was_down_fires_once_it_is_back(
    config: Config,
) -> None:
    app = await open_bound(config)
    box = await timebox(app, speaker_for_timebox_ending_in(-5))  # due before the restart
    await app.store.db.close()

    again = await open_bound(config)
    timers = TimerScheduler(again)
    timers.start()
    try:
        await again.restore()

        async def time_is_up() -> bool:
            return await said(again, TIME_IS_UP) == 1

        await until(time_is_up, again.outbox_ready)
        assert await again.store.has_event(f"tick:{box.end_key}")
        assert await again.store.timers() == []
    finally:
        timers.shutdown()
        await again.store.db.close()


async def test_a_timer_that_fired_before_a_restart_is_not_armed_again(config: Config) -> None:
    app = await open_bound(config)
    timers = TimerScheduler(app)
    box = await timebox(app, speaker_for_timebox_ending_in(3600))
    await timers.fire(box.warn_key, ROOM)  # both fired, in their order, before the restart
    await timers.fire(box.end_key, ROOM)
    await app.store.db.close()

    again = await open_bound(config)
    rearmed = TimerScheduler(again)
    rearmed.start()
    try:
        await again.restore()
        assert rearmed.scheduler.get_jobs() == []
        assert await again.store.timers() == []
        assert await said(again, TIME_IS_UP) == 1
    finally:
        rearmed.shutdown()
        await again.store.db.close()


async def test_a_timer_the_core_cancels_leaves_the_scheduler(
    app: MeetBotApp, timers: TimerScheduler
) -> None:
    say = speaker_for_timebox_ending_in(3600)
    box = await timebox(app, say)
    await app.ingest(say.say("!endmeeting"))

    assert not {box.warn_key, box.end_key} & job_ids(timers)
    assert await app.store.timers() == []


async def test_extending_a_timebox_moves_its_timer(
    app: MeetBotApp, timers: TimerScheduler
) -> None:
    say = speaker_for_timebox_ending_in(3600)
    old = await timebox(app, say)
    old_end = old.end_key
    await app.ingest(say.say("!extend 5m"))

    meeting = app.meeting_in(ROOM)
    assert meeting is not None and meeting.timebox is not None
    new_end = meeting.timebox.end_key
    assert new_end != old_end and old_end not in job_ids(timers)
    job = timers.scheduler.get_job(new_end)
    assert job is not None
    stored = {key: at for key, _room, at in await app.store.timers()}
    assert job.next_run_time == stored[new_end] == old.started_at + timedelta(minutes=15)


async def test_asking_for_the_same_timer_again_keeps_one_at_the_new_time(
    timers: TimerScheduler,
) -> None:
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    timers.set("reminder:1", ROOM, soon)
    timers.set("reminder:1", ROOM, soon + timedelta(minutes=5))

    (job,) = timers.scheduler.get_jobs()
    assert job.id == "reminder:1" and job.next_run_time == soon + timedelta(minutes=5)
    timers.cancel("reminder:1")
    timers.cancel("reminder:1")  # cancelling what is gone is harmless
    assert timers.scheduler.get_jobs() == []


async def test_a_tick_that_fails_is_logged_and_the_next_timer_still_fires(
    app: MeetBotApp, timers: TimerScheduler, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real_ingest = app.ingest
    fine_handled = asyncio.Event()

    async def ingest(event: Event) -> Outcome | None:
        if event.event_id == "tick:broken":
            raise RuntimeError("the database is locked")
        outcome = await real_ingest(event)
        fine_handled.set()
        return outcome

    monkeypatch.setattr(app, "ingest", ingest)
    now = datetime.now(timezone.utc)
    with caplog.at_level(logging.ERROR, logger="meetbot.runtime.timers"):
        timers.set("broken", ROOM, now)
        timers.set("fine", ROOM, now + timedelta(milliseconds=50))
        await asyncio.wait_for(fine_handled.wait(), 3)
    assert await app.store.has_event("tick:fine")
    assert "timer broken failed" in caplog.text
    assert not await app.store.has_event("tick:broken")


async def test_shutting_down_a_scheduler_never_started_is_harmless(app: MeetBotApp) -> None:
    TimerScheduler(app).shutdown()


async def test_a_scheduler_shut_down_runs_no_more_timers(app: MeetBotApp) -> None:
    timers = TimerScheduler(app)
    timers.start()
    timers.set("later", ROOM, datetime.now(timezone.utc) + timedelta(milliseconds=30))
    timers.shutdown()
    await asyncio.sleep(0.1)  # past the timer's time: nothing may come of it
    assert not await app.store.has_event("tick:later")


async def test_shutting_down_twice_reports_no_error(app: MeetBotApp) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        timers = TimerScheduler(app)
        timers.start()
        timers.shutdown()
        timers.shutdown()  # BotService.stop and a signal handler, say
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("exception") for c in reported] == []
