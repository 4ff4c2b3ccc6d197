"""A batch's writes go to SQLite without waiting for each (``transaction(pipelined=True)``).

The record must not notice: a read in the same transaction sees every write made before it
(through the store or straight on the connection), the writes land in the order they were
made, a write that fails fails the transaction (rolled back, its error raised, nothing kept),
and a write outside a pipelined transaction still runs at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from shell_helpers import ROOM, Speaker, config_file, open_bound, outbox

from meetbot.core.events import Message
from meetbot.storage.database import Database
from meetbot.storage.pipeline import Pipeline
from meetbot.storage.store import Store

AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


def said(n: int) -> Message:
    return Message(f"$said{n}", "!r", "@ana:x", AT, body=f"we could share notes, {n}")


async def open_store(tmp_path: Path) -> Store:
    return Store(await Database.open(tmp_path / "pipeline.sqlite3"))


async def test_a_read_in_the_transaction_sees_every_write_before_it(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    try:
        async with store.db.transaction(pipelined=True):
            for n in range(Pipeline.FLUSH_AT + 5):  # some go on their own, the rest wait
                await store.add_event(said(n), "m1")
                await store.enqueue("!r", f"txn-{n}", {"body": f"answer {n}"})
            # Read through the store, and straight on the connection as other shells do.
            assert len(await store.known_events([f"$said{n}" for n in range(80)])) == 69
            rows = await store.conn.execute_fetchall("SELECT COUNT(*) FROM outbox")
            assert next(iter(rows))[0] == 69
            await store.set_value("after", "the reads")
        rows = await store.conn.execute_fetchall("SELECT event_id FROM events ORDER BY seq")
        assert [r[0] for r in rows] == [f"$said{n}" for n in range(69)]
        assert [m.content["body"] for m in await store.pending_outbox(limit=100)] == [
            f"answer {n}" for n in range(69)]
        assert await store.get_value("after") == "the reads"
    finally:
        await store.db.close()


async def test_a_write_that_fails_fails_the_transaction(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    try:
        async with store.db.transaction():
            await store.add_event(said(1), "m1")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.db.transaction(pipelined=True):
                await store.add_event(said(2), "m1")
                await store.add_event(said(1), "m1")  # already recorded: the insert fails
                await store.add_event(said(3), "m1")
                await store.enqueue("!r", "txn-3", {"body": "never sent"})
        assert await store.known_events(["$said1", "$said2", "$said3"]) == {"$said1"}
        assert await store.pending_outbox() == []
        # The connection is usable again, and not left in a pipelined transaction.
        async with store.db.transaction(pipelined=True):
            await store.add_event(said(4), "m1")
        assert await store.has_event("$said4")
    finally:
        await store.db.close()


async def test_an_error_after_a_failed_write_raises_the_write_s_error(tmp_path: Path) -> None:
    """The database error comes first, as it would have had the write waited for SQLite
    (``ingest_many`` raises database errors and skips other ones)."""
    store = await open_store(tmp_path)
    try:
        async with store.db.transaction():
            await store.add_event(said(1), "m1")
        with pytest.raises(sqlite3.IntegrityError):
            async with store.db.transaction(pipelined=True):
                await store.add_event(said(1), "m1")
                await store.known_events(["$said1"])  # waits: the failed write has run
                raise RuntimeError("a bug noticed later")
    finally:
        await store.db.close()


async def test_outside_a_pipelined_transaction_a_write_runs_at_once(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    try:
        async with store.db.transaction():
            await store.add_event(said(1), "m1")
            with pytest.raises(sqlite3.IntegrityError):
                await store.add_event(said(1), "m1")
    finally:
        await store.db.close()


async def test_a_batch_whose_record_refuses_an_event_raises_and_keeps_what_came_before(
    tmp_path: Path,
) -> None:
    """ingest_many: a database error is raised, what came before it kept (the failed write
    is found when the batch commits, not where it was made, with the same outcome)."""
    app = await open_bound(config_file(tmp_path))
    try:
        say = Speaker()
        start, one, two, three = (say.say("!startmeeting"), say.say("!idea one"),
                                  say.say("!idea two"), say.say("!idea three"))
        await app.ingest_many([start, one])

        async def forgetful(event_ids: object) -> set[str]:  # dedup that misses the record
            return set()

        app.store.known_events = forgetful  # type: ignore[method-assign,assignment]
        with pytest.raises(sqlite3.IntegrityError):
            await app.ingest_many([two, one, three])
        del app.store.known_events
        answered = [row.content.get("m.relates_to", {}).get("m.in_reply_to", {})
                    .get("event_id") for row in await outbox(app)]
        # One by one after the batch failed: two was recorded and answered, once.
        assert answered.count(two.event_id) == 1 and answered.count(one.event_id) == 1
        assert three.event_id not in answered
        meeting = app.meeting_in(ROOM)
        assert meeting is not None
        assert [i.text for i in meeting.items][1:] == ["one", "two"]
        assert await app.ingest_many([three]) == 1
    finally:
        await app.store.db.close()


async def test_a_commit_cancelled_on_its_way_still_ends_the_transaction(tmp_path: Path) -> None:
    """The bot stopping (its task cancelled) while the commit waits behind other work in
    SQLite's thread: the commit still happens there, and no transaction is left open for the
    next writer."""
    store = await open_store(tmp_path)
    busy, release = threading.Event(), threading.Event()

    def hold_the_thread() -> None:
        busy.set()
        release.wait(10)

    async def record() -> None:
        async with store.db.transaction(pipelined=True):
            await store.add_event(said(1), "m1")
            store.db.conn._tx.put_nowait((None, hold_the_thread))  # the thread is busy

    try:
        task = asyncio.create_task(record())
        assert await asyncio.to_thread(busy.wait, 10)
        await asyncio.sleep(0.05)  # the commit is queued behind the held thread
        task.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with store.db.transaction():  # BEGIN would fail inside an open transaction
            await store.add_event(said(2), "m1")
        assert await store.known_events(["$said1", "$said2"]) == {"$said1", "$said2"}
    finally:
        release.set()
        await store.db.close()
