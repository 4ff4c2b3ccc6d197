"""After a meeting: the minutes task writes the files and tells the room and the coordinator.

The minutes handler runs over the production app and a real SQLite database; the Matrix
media upload is a fake that records what it was given. What the handler promises: files in
the coordinator's and the region's languages, one notice in the room, one summary (and the
HTML page) for the coordinator, a cross-region report asked for, all exactly once however
often the task runs, a crash included.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from shell_helpers import (
    BEA,
    CARLOS,
    COORD,
    PROMPTS,
    ROOM,
    Row,
    Speaker,
    config_file,
    open_bound,
    outbox,
    send_all,
    until,
)

from meetbot.app import MeetBotApp
from meetbot.core.events import Tick
from meetbot.core.facilitation.scheduled import SlotKey
from meetbot.minutes.delivery import MinutesDelivery, MinutesRewrite
from meetbot.runtime.tasks import NotReady, TaskRunner
from meetbot.storage.store import Task


class MediaRepo:
    """A fake Matrix upload: keeps what it was given, answers with an mxc:// address."""

    def __init__(self, answer: dict[str, Any] | None = None, crash: bool = False) -> None:
        self.uploads: list[tuple[bytes, str, str, str]] = []
        self.answer = answer
        self.crash = crash

    async def __call__(self, data: bytes, name: str, mimetype: str,
                       room_id: str) -> dict[str, Any] | None:
        self.uploads.append((data, name, mimetype, room_id))
        if self.crash:
            raise ProcessDied("the bot was killed right after the upload")
        if self.answer is not None:
            return self.answer
        return {"url": f"mxc://example.org/minutes{len(self.uploads)}"}


class ProcessDied(Exception):
    pass


async def held_meeting(app: MeetBotApp, speaker: Speaker | None = None) -> str:
    """A short meeting with an idea, a decision and an action; returns its id."""
    say = speaker or Speaker()
    await app.ingest(say.say("!startmeeting Water for the school"))
    await app.ingest(say.say("!idea share the well", sender=BEA))
    await app.ingest(say.say("!agreed we dig a second well"))
    await app.ingest(say.say(f"!action {CARLOS} asks the council", sender=CARLOS))
    await app.ingest(say.say("!endmeeting"))
    meeting = app.states[ROOM].last_meeting
    assert meeting is not None
    return meeting.id


async def minutes_task(app: MeetBotApp) -> Task:
    (task,) = await app.store.pending_tasks(["minutes"])
    return task


def minutes_rows(rows: list[Row]) -> list[Row]:
    """The rows the minutes produce (the meeting's own notices came before)."""
    return [r for r in rows if r.room_id == COORD or r.content.get("msgtype") == "m.file"
            or "Acta" in r.body or "Minutes" in r.body or "Compte rendu" in r.body]


@pytest.fixture
async def app(tmp_path: Path):
    app = await open_bound(config_file(tmp_path, languages=("es", "fr"), coordinator=True))
    yield app
    await app.store.db.close()


async def test_minutes_are_written_in_every_language_and_announced_to_the_room_and_coordinator(
    app: MeetBotApp,
) -> None:
    meeting_id = await held_meeting(app)
    before = len(await outbox(app))
    media = MediaRepo()

    await MinutesDelivery(app, media)(await minutes_task(app))

    folder = app.config.minutes_path
    files = sorted(p.name for p in folder.iterdir())
    base = f"2027-01-15-latam-{meeting_id[:8]}"
    assert files == sorted([f"{base}.json"] + [f"{base}-{lang}.{ext}" for lang in ("en", "es", "fr")
                                                for ext in ("md", "html")])
    record = json.loads((folder / f"{base}.json").read_text(encoding="utf-8"))
    assert record["meeting_id"] == meeting_id
    assert [i["text"] for i in record["items"] if i["kind"] != "prompt"] == [
        "share the well", "we dig a second well", f"{CARLOS} asks the council"]
    (prompt,) = [i for i in record["items"] if i["kind"] == "prompt"]
    assert prompt["translations"] == PROMPTS[0]["text"], "a prompt in the agenda's languages"

    room, summary, page = (await outbox(app))[before:]
    assert room.room_id == ROOM
    spanish, french = room.content["formatted_body"].split("<hr>")  # one block per language
    assert "Acta de Water for the school" in spanish and "1 decisión" in spanish
    assert "Compte rendu de Water for the school" in french and "1 décision" in french
    assert summary.room_id == COORD and summary.body.startswith("Latin America — Water")
    assert page.room_id == COORD and page.content["msgtype"] == "m.file"
    assert page.content["url"] == "mxc://example.org/minutes1"
    assert page.content["body"] == f"{base}-en.html"

    (data, name, mimetype, to), = media.uploads
    assert (name, mimetype, to) == (f"{base}-en.html", "text/html", COORD)
    assert data == (folder / name).read_bytes(), "the coordinator gets the page on disk"
    assert page.content["info"] == {"mimetype": "text/html", "size": len(data)}

    assert await app.store.pending_tasks(["minutes"]) == []
    (report,) = await app.store.pending_tasks(["report"])
    assert report.key == f"report:{meeting_id}" and report.payload == {"room_id": COORD}


async def test_minutes_reach_the_room_and_the_coordinator_once_even_when_the_task_runs_twice(
    app: MeetBotApp,
) -> None:
    await held_meeting(app)
    task = await minutes_task(app)
    delivery = MinutesDelivery(app, MediaRepo())

    await delivery(task)
    first = await outbox(app)
    await delivery(task)

    assert await outbox(app) == first
    assert len(minutes_rows(first)) == 3
    assert len(await app.store.pending_tasks(["report"])) == 1


async def test_minutes_already_sent_are_not_sent_again_when_the_task_runs_again(
    app: MeetBotApp,
) -> None:
    await held_meeting(app)
    task = await minutes_task(app)
    await MinutesDelivery(app, MediaRepo())(task)
    await send_all(app)

    await MinutesDelivery(app, MediaRepo())(task)

    assert await app.store.pending_outbox() == []


async def test_a_crash_right_after_the_upload_loses_nothing_and_the_restart_posts_once(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path, languages=("es",), coordinator=True)
    app = await open_bound(config)
    await held_meeting(app)
    dying = MediaRepo(crash=True)
    with pytest.raises(ProcessDied):
        await MinutesDelivery(app, dying)(await minutes_task(app))
    assert len(dying.uploads) == 1
    assert minutes_rows(await outbox(app)) == [], "nothing of the minutes was committed"
    await app.store.db.close()

    again = await open_bound(config)
    try:
        media = MediaRepo()
        await MinutesDelivery(again, media)(await minutes_task(again))
        delivered = minutes_rows(await outbox(again))
        assert [(r.room_id, r.content["msgtype"]) for r in delivered] == [
            (ROOM, "m.notice"), (COORD, "m.notice"), (COORD, "m.file")]
        assert len(media.uploads) == 1
        assert await again.store.pending_tasks(["minutes"]) == []
    finally:
        await again.store.db.close()


async def test_the_minutes_runner_delivers_them_as_soon_as_the_meeting_ends(
    app: MeetBotApp,
) -> None:
    """As the service wires it: one runner for the ``minutes`` kind, woken by the event."""
    runner = TaskRunner(app, {"minutes": MinutesDelivery(app, MediaRepo())}, "minutes")
    worker = asyncio.create_task(runner.run())
    try:
        await held_meeting(app)

        async def delivered() -> bool:
            return len(minutes_rows(await outbox(app))) == 3

        await until(delivered, app.outbox_ready, timeout=2)
        runner.idle.clear()
        runner.ready.set()
        await asyncio.wait_for(runner.idle.wait(), 2)
        assert len(minutes_rows(await outbox(app))) == 3
        assert await app.store.pending_tasks(["minutes"]) == []
    finally:
        runner.stop()
        await asyncio.wait_for(worker, 2)


async def test_the_minutes_wait_for_the_meetings_last_translations(app: MeetBotApp) -> None:
    meeting_id = await held_meeting(app)
    async with app.store.db.transaction():
        await app.store.add_task("translate", "translate:$late", {
            "event_id": "$m2", "meeting_id": meeting_id, "room_id": ROOM, "text": "share the well",
        })
    task = await minutes_task(app)
    delivery = MinutesDelivery(app, MediaRepo())

    with pytest.raises(NotReady):
        await delivery(task)
    assert minutes_rows(await outbox(app)) == []
    assert not app.config.minutes_path.exists()

    (translate,) = await app.store.pending_tasks(["translate"])
    async with app.store.db.transaction():
        await app.store.save_translations("$m2", "en", {"es": "compartir el pozo"}, "fake")
        await app.store.finish_task(translate.id)
    await delivery(task)

    assert len(minutes_rows(await outbox(app))) == 3
    (record,) = app.config.minutes_path.glob("*.json")
    items = json.loads(record.read_text(encoding="utf-8"))["items"]
    assert {"es": "compartir el pozo"} in [i["translations"] for i in items]


@pytest.mark.parametrize("why", ["it was already tried once", "it has waited a minute"])
async def test_the_minutes_stop_waiting_for_translations_that_do_not_come(
    app: MeetBotApp, why: str
) -> None:
    meeting_id = await held_meeting(app)
    async with app.store.db.transaction():
        await app.store.add_task("translate", "translate:$stuck",
                                 {"event_id": "$m2", "meeting_id": meeting_id, "room_id": ROOM})
    task = await minutes_task(app)
    if why == "it was already tried once":
        task = replace(task, attempts=1)
    else:
        old = datetime.now(timezone.utc) - timedelta(seconds=61)
        task = replace(task, created_at=old.isoformat())

    await MinutesDelivery(app, MediaRepo())(task)

    assert len(minutes_rows(await outbox(app))) == 3
    assert await app.store.pending_tasks(["minutes"]) == []


async def test_without_a_coordinator_only_the_room_hears_of_the_minutes(tmp_path: Path) -> None:
    app = await open_bound(config_file(tmp_path, languages=("en",)))
    try:
        await held_meeting(app)
        media = MediaRepo()
        before = len(await outbox(app))
        await MinutesDelivery(app, media)(await minutes_task(app))

        (room,) = (await outbox(app))[before:]
        assert room.room_id == ROOM and room.body.startswith("Minutes of Water for the school")
        assert media.uploads == []
        assert await app.store.pending_tasks(["report"]) == []
        assert {p.suffix for p in app.config.minutes_path.iterdir()} == {".json", ".md", ".html"}
    finally:
        await app.store.db.close()


async def test_a_failed_upload_still_gives_the_coordinator_the_summary(app: MeetBotApp) -> None:
    await held_meeting(app)
    refused = MediaRepo()

    async def upload_refused(data: bytes, name: str, mimetype: str,
                             room_id: str) -> dict[str, Any] | None:
        await refused(data, name, mimetype, room_id)
        return None  # what the service's upload answers when the homeserver refuses

    await MinutesDelivery(app, upload_refused)(await minutes_task(app))

    delivered = minutes_rows(await outbox(app))
    assert [(r.room_id, r.content["msgtype"]) for r in delivered] == [
        (ROOM, "m.notice"), (COORD, "m.notice")]
    assert len(refused.uploads) == 1


async def test_an_encrypted_coordinator_room_gets_the_page_with_its_keys(app: MeetBotApp) -> None:
    await held_meeting(app)
    keys = {"file": {"url": "mxc://example.org/enc", "key": {"k": "secret"}, "iv": "x",
                     "hashes": {"sha256": "y"}, "v": "v2"}}
    await MinutesDelivery(app, MediaRepo(answer=keys))(await minutes_task(app))

    (page,) = [r for r in await outbox(app) if r.content.get("msgtype") == "m.file"]
    assert page.content["file"] == keys["file"] and "url" not in page.content


async def test_without_an_uploader_the_coordinator_gets_the_summary_only(
    app: MeetBotApp,
) -> None:
    await held_meeting(app)
    await MinutesDelivery(app, None)(await minutes_task(app))

    delivered = minutes_rows(await outbox(app))
    assert [(r.room_id, r.content["msgtype"]) for r in delivered] == [
        (ROOM, "m.notice"), (COORD, "m.notice")]


async def test_a_redacted_message_of_an_earlier_meeting_leaves_its_minutes_and_nothing_is_posted(
    app: MeetBotApp,
) -> None:
    say = Speaker()
    await app.ingest(say.say("!startmeeting"))
    secret = say.say("call me at 555-0199", sender=BEA)
    await app.ingest(secret)
    await app.ingest(say.say("!endmeeting"))
    await MinutesDelivery(app, MediaRepo())(await minutes_task(app))
    folder = app.config.minutes_path
    assert any("555-0199" in p.read_text(encoding="utf-8") for p in folder.iterdir())
    await app.ingest(say.say("!startmeeting"))
    await app.ingest(say.redact(secret.event_id))
    posted = await outbox(app)
    names = sorted(p.name for p in folder.iterdir())

    (rewrite,) = await app.store.pending_tasks(["rewrite"])
    await MinutesRewrite(app)(rewrite)
    await MinutesRewrite(app)(rewrite)  # a second run (a crash before it was marked) is harmless

    assert sorted(p.name for p in folder.iterdir()) == names
    assert not any("555-0199" in p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert await outbox(app) == posted, "a rewrite posts nothing"
    assert await app.store.pending_tasks(["rewrite"]) == []


async def test_minutes_of_a_scheduled_meeting_give_its_own_agendas_prompts_in_every_language(
    tmp_path: Path,
) -> None:
    evening = [{"id": "evening-q", "text": {"en": "How was the day?", "es": "¿Cómo fue el día?"}}]
    config = config_file(
        tmp_path, languages=("en", "es"), agendas={"evening": evening},
        meetings=[{"number": 1, "starts": "2027-01-15T23:00", "agenda": "evening"}],
    )
    app = await open_bound(config)
    try:
        at = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)
        key = SlotKey("latam", 1, "open", at, timedelta(minutes=90)).encode()
        await app.ingest(Tick(f"tick:{key}", ROOM, app.bot_user_id, at, timer=key))
        await app.ingest(Speaker(at).say("!endmeeting"))
        await MinutesDelivery(app, None)(await minutes_task(app))

        (record,) = app.config.minutes_path.glob("*.json")
        (prompt,) = [i for i in json.loads(record.read_text(encoding="utf-8"))["items"]
                     if i["kind"] == "prompt"]
        assert prompt["prompt_id"] == "evening-q"
        assert prompt["translations"] == evening[0]["text"]
    finally:
        await app.store.db.close()
