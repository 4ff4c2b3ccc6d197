"""``MeetBotApp.ingest_many``: a sync's events in batches, one transaction each.

A batch commits whole or not at all, its effects with it; every event is handled once,
whether it comes twice in a batch, again in a later batch or one at a time; a bad event is
skipped without holding up the others; a crash in the middle of a batch leaves nothing of it,
so the restarted bot handles it all again, answering each command once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from shell_helpers import BEA, ROOM, Speaker, bodies, config_file, open_bound, outbox

from meetbot.app import MeetBotApp, Pending
from meetbot.core.events import Event, Message

ROOT = Path(__file__).resolve().parents[2]


def replies(rows: list[Any]) -> list[str]:
    """The events the queued notices answer, in order (one entry per notice)."""
    found = []
    for row in rows:
        relates = row.content.get("m.relates_to") or {}
        target = (relates.get("m.in_reply_to") or {}).get("event_id")
        if target:
            found.append(target)
    return found


async def stored(app: MeetBotApp) -> list[str]:
    async with app.store.db.between_writes() as conn:
        rows = await conn.execute_fetchall("SELECT event_id FROM events ORDER BY seq")
    return [r[0] for r in rows]


def failing_on(app: MeetBotApp, event_id: str, error: BaseException) -> None:
    """Storing ``event_id`` raises ``error`` (a bug, or the process dying)."""
    add_event = app.store.add_event

    async def add(event: Event, meeting_id: str | None) -> None:
        if event.event_id == event_id:
            raise error
        await add_event(event, meeting_id)

    app.store.add_event = add  # type: ignore[method-assign]


async def test_every_event_is_handled_once_within_and_across_batches(tmp_path: Path) -> None:
    app = await open_bound(config_file(tmp_path))
    try:
        say = Speaker()
        start, one, two, three = (say.say("!startmeeting"), say.say("!idea one"),
                                  say.say("!idea two"), say.say("!idea three"))
        assert await app.ingest_many([start, one, one, two]) == 3
        assert await app.ingest_many([two, three, start], batch=2) == 1
        assert await app.ingest(three) is None
        assert await app.ingest_many([]) == 0
        meeting = app.meeting_in(ROOM)
        assert meeting is not None
        assert [i.text for i in meeting.items] == ["What do we share?", "one", "two", "three"]
        assert await stored(app) == [e.event_id for e in (start, one, two, three)]
        answered = replies(await outbox(app))
        for event in (one, two, three):
            assert answered.count(event.event_id) == 1
    finally:
        await app.store.db.close()


async def test_a_batch_keeps_its_effects_and_arms_timers_once_committed(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    app = await open_bound(config)
    armed: list[tuple[str, bool]] = []

    def arm(key: str, room_id: str, at: Any) -> None:
        # Another connection sees the timer only once the batch has committed.
        with contextlib.closing(sqlite3.connect(config.database_path)) as other:
            seen = other.execute("SELECT 1 FROM timers WHERE key = ?", (key,)).fetchone()
        armed.append((key, seen is not None))

    app.on_timer_set = arm
    try:
        say = Speaker()
        events = [say.say("!startmeeting"), say.say("!time 10m"), say.say("!idea kept"),
                  say.say("!endmeeting")]
        await app.ingest_many(events[:2])
        assert armed and all(committed for _key, committed in armed)
        await app.ingest_many(events[2:])
        # The meeting ended in the batch: its row, the minutes task, the answers are stored.
        assert app.meeting_in(ROOM) is None
        [row] = await app.store.meetings()
        assert row.ended_at is not None
        tasks = await app.store.pending_tasks(["minutes"])
        assert [t.payload["meeting_id"] for t in tasks] == [row.meeting_id]
        assert events[2].event_id in replies(await outbox(app))
        assert any("Meeting started" in b for b in await bodies(app))
    finally:
        await app.store.db.close()


async def test_a_bad_event_in_the_middle_holds_up_no_other(tmp_path: Path) -> None:
    app = await open_bound(config_file(tmp_path))
    try:
        say = Speaker()
        events = [say.say("!startmeeting"), say.say("!idea before"), say.say("!idea broken"),
                  say.say("!idea after")]
        failing_on(app, events[2].event_id, RuntimeError("a bug"))
        assert await app.ingest_many(events) == 3
        # The batch was rolled back and its events handled one by one from what was stored:
        # the room did not keep the rolled-back half (no second meeting, no doubled item).
        meeting = app.meeting_in(ROOM)
        assert meeting is not None
        assert [(i.n, i.text) for i in meeting.items] == [
            (1, "What do we share?"), (2, "before"), (3, "after")]
        assert await stored(app) == [events[0].event_id, events[1].event_id, events[3].event_id]
        answered = replies(await outbox(app))
        assert answered.count(events[1].event_id) == 1
        assert answered.count(events[3].event_id) == 1
        assert events[2].event_id not in answered
    finally:
        await app.store.db.close()


async def test_an_interrupted_batch_leaves_nothing_of_itself(tmp_path: Path) -> None:
    app = await open_bound(config_file(tmp_path))
    armed: list[str] = []
    app.on_timer_set = lambda key, room_id, at: armed.append(key)
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting"))
        before = await outbox(app)
        events = [say.say("!time 5m"), say.say("!idea lost"), say.say("!idea last")]
        failing_on(app, events[2].event_id, KeyboardInterrupt())  # not a bug: no retry
        try:
            await app.ingest_many(events)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the interruption was swallowed")
        assert await stored(app) == ["$m1"]
        assert await outbox(app) == before
        assert armed == []  # the scheduler never heard of the rolled-back timer
    finally:
        await app.store.db.close()


async def test_an_opt_out_ends_the_batch_so_the_next_message_is_read_knowing_it(
    tmp_path: Path,
) -> None:
    app = await open_bound(config_file(tmp_path))
    try:
        say = Speaker()
        secret = say.say("my secret words", sender=BEA)

        def read(message: Message) -> Message:  # what the Matrix shell's convert does
            if message.sender in app.opted_out:
                return dataclasses.replace(message, body="", withdrawn=True, sender_opted_out=True)
            return message

        batch: list[Any] = [say.say("!startmeeting"), say.say("!optout", sender=BEA),
                            Pending(secret.event_id, lambda: read(secret))]
        assert await app.ingest_many(batch) == 3
        kept = await app.store.stored_event(secret.event_id)
        assert kept is not None and "secret" not in str(kept)
    finally:
        await app.store.db.close()


CRASH = """
import asyncio, os, signal, sys
sys.path[:0] = [{root!r}, {tests!r}]
from shell_helpers import Speaker, open_bound
from meetbot.config.schema import load_config

async def main():
    app = await open_bound(load_config({config!r}))
    say = Speaker()
    await app.ingest(say.say("!startmeeting"))
    events = [say.say(f"!idea {{n}}" if n % 3 == 0 else f"message {{n}}") for n in range(60)]
    add_event = app.store.add_event

    async def add(event, meeting_id):
        await add_event(event, meeting_id)
        if event.event_id == events[40].event_id:
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9, in the middle of the batch

    app.store.add_event = add
    await app.ingest_many(events)

asyncio.run(main())
"""


async def test_kill_9_in_the_middle_of_a_batch_loses_nothing_and_answers_nothing_twice(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path)
    script = CRASH.format(root=str(ROOT), tests=str(ROOT / "tests" / "unit"),
                          config=str(tmp_path / "meetbot.yaml"))
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", textwrap.dedent(script)], cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    app = await open_bound(config)
    try:
        # Only what committed before the batch: the meeting's start and its answers.
        assert await stored(app) == ["$m1"]
        assert all(r.content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
                   in (None, "$m1") for r in await outbox(app))
        await app.restore()
        say = Speaker()
        say.say("!startmeeting")
        events = [say.say(f"!idea {n}" if n % 3 == 0 else f"message {n}") for n in range(60)]
        assert await app.ingest_many([*events[:30], *events]) == 60  # the sync, handled again
        assert await stored(app) == ["$m1", *(e.event_id for e in events)]
        answered = replies(await outbox(app))
        commands = [e.event_id for e in events if e.body.startswith("!")]
        assert [answered.count(c) for c in commands] == [1] * len(commands)
        meeting = app.meeting_in(ROOM)
        assert meeting is not None and len(meeting.items) == 1 + len(commands)
    finally:
        await app.store.db.close()
