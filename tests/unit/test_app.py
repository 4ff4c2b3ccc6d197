"""The app without Matrix: one transactional way in, replay after a restart, agendas."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from meetbot.config.schema import load_config
from meetbot.core.events import Message, Redaction, Tick
from meetbot.core.records import SlotKey
from meetbot.runtime.features import open_app

ROOT = Path(__file__).resolve().parents[2]
ROOM = "!room:example.org"
ANA = "@ana:example.org"
AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


def make_config(tmp_path: Path):
    (tmp_path / "prompts").mkdir()
    for name in ("default", "short"):
        (tmp_path / "prompts" / f"{name}.yaml").write_text(
            yaml.safe_dump({"prompts": [{"id": f"{name}-q1", "text": {"en": f"{name} question"}}]})
        )
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": "@bot:example.org", "password": "x",
        "facilitators": [ANA], "translation": {"backend": "none"},
        "regions": [{"id": "latam", "name": "LatAm", "room": ROOM, "meetings": [
            {"number": 2, "starts": "2027-01-15T18:00", "duration": "90m", "agenda": "short"},
        ]}],
    }))
    return load_config(path)


def message(n: int, body: str, sender: str = ANA) -> Message:
    return Message(f"$e{n}", ROOM, sender, AT + timedelta(minutes=n), body=body)


async def test_an_event_is_handled_once_even_when_it_arrives_twice(tmp_path: Path) -> None:
    app = await open_app(make_config(tmp_path))
    try:
        assert await app.ingest(message(1, "!startmeeting")) is not None
        first = await app.store.pending_outbox()
        assert await app.ingest(message(1, "!startmeeting")) is None
        assert await app.store.pending_outbox() == first
        await app.ingest(message(2, "!idea once"))
        await app.ingest(message(2, "!idea once"))
        assert [i.text for i in app.meeting_in(ROOM).items] == ["default question", "once"]
    finally:
        await app.store.db.close()


async def test_a_restart_replays_the_running_meeting(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    await app.ingest(message(1, "!startmeeting"))
    await app.ingest(message(2, "!idea kept"))
    await app.ingest(message(3, "!strike 2"))
    await app.ingest(message(4, "!idea also kept"))
    await app.store.db.close()

    again = await open_app(config)
    try:
        await again.restore()
        meeting = again.meeting_in(ROOM)
        assert meeting is not None
        assert [(i.n, i.text, i.struck) for i in meeting.items] == [
            (1, "default question", False), (2, "kept", True), (3, "also kept", False),
        ]
        await again.ingest(message(5, "!endmeeting"))
        assert again.meeting_in(ROOM) is None
        tasks = await again.store.pending_tasks(["minutes"])
        assert [t.payload["meeting_id"] for t in tasks] == [meeting.id]
    finally:
        await again.store.db.close()


async def test_a_scheduled_meeting_uses_its_own_agenda_even_after_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    key = SlotKey("latam", 2, "open", AT, timedelta(minutes=90)).encode()
    await app.ingest(Tick(f"tick:{key}", ROOM, "@bot:example.org", AT, timer=key))
    meeting = app.meeting_in(ROOM)
    assert meeting is not None and meeting.agenda_id == "short"
    assert meeting.items[0].prompt_id == "short-q1"
    await app.store.db.close()

    again = await open_app(config)
    try:
        await again.restore()
        replayed = again.meeting_in(ROOM)
        assert replayed is not None and replayed.items[0].prompt_id == "short-q1"
        await again.ingest(message(9, "!status"))
    finally:
        await again.store.db.close()


def redaction(n: int, target: str, sender: str = ANA) -> Redaction:
    return Redaction(f"$r{n}", ROOM, sender, AT + timedelta(minutes=n), target=target)


def snapshot(app) -> tuple:
    meeting = app.meeting_in(ROOM)
    assert meeting is not None
    return (
        meeting.title,
        [(i.n, i.kind.value, i.text, i.struck, i.prompt_id) for i in meeting.items],
        [(e.event_id, e.current_body) for e in meeting.log],
    )


async def test_a_redaction_leaves_the_meeting_as_a_restart_will_find_it(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    await app.ingest(message(1, "!startmeeting Our secret title"))
    await app.ingest(message(2, "!idea kept"))
    await app.ingest(message(3, "!topic a private topic"))
    await app.ingest(message(4, "!idea under the topic"))
    await app.ingest(message(5, "my phone is 555-0199", sender="@bea:example.org"))
    for n, target in enumerate(("$e1", "$e3", "$e5"), start=6):
        await app.ingest(redaction(n, target))
    live = snapshot(app)
    assert live[0] == "LatAm — 2027-01-15", "the title went with the redacted message"
    assert app.meeting_in(ROOM) is not None, "redacting !startmeeting does not end it"
    await app.store.db.close()

    again = await open_app(config)
    try:
        await again.restore()
        assert snapshot(again) == live
        rows = await again.store.conn.execute_fetchall("SELECT payload FROM events")
        stored = " ".join(str(r[0]) for r in rows)
        assert "secret title" not in stored and "private topic" not in stored
        assert "555-0199" not in stored
    finally:
        await again.store.db.close()


async def test_a_message_of_an_earlier_meeting_can_still_be_redacted(tmp_path: Path) -> None:
    app = await open_app(make_config(tmp_path))
    try:
        await app.ingest(message(1, "!startmeeting"))
        await app.ingest(message(2, "an old secret", sender="@bea:example.org"))
        await app.ingest(message(3, "!endmeeting"))
        await app.ingest(message(4, "!startmeeting"))
        await app.ingest(redaction(5, "$e2", sender="@bea:example.org"))
        rows = await app.store.conn.execute_fetchall("SELECT payload FROM events")
        assert "an old secret" not in " ".join(str(r[0]) for r in rows)
        rewrite = await app.store.pending_tasks(["rewrite"])
        assert len(rewrite) == 1
        old = await app.rebuild_meeting(rewrite[0].payload["meeting_id"])
        assert old is not None and all(e.body != "an old secret" for e in old.log)
    finally:
        await app.store.db.close()


async def test_scrubbing_cancels_translations_not_made_yet(tmp_path: Path) -> None:
    app = await open_app(make_config(tmp_path))
    try:
        await app.ingest(message(1, "!startmeeting"))
        async with app.store.db.transaction():
            await app.store.add_task("translate", "translate:$e2", {"event_id": "$e2", "text": "x"})
        await app.ingest(message(2, "hola a todos", sender="@bea:example.org"))
        await app.ingest(redaction(3, "$e2", sender="@bea:example.org"))
        assert await app.store.pending_tasks(["translate"]) == []
    finally:
        await app.store.db.close()
