"""Written answers, the shell's side, over a real SQLite store: the window posts each prompt
once, a thread answer to an open prompt is recorded (a late one, an opted-out person's, a
stranger's to someone's private prompt are not), the export carries ``mode``, and a
withdrawal takes the answers away."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml
from shell_helpers import ANA, BEA, BOT, CARLOS, ROOM, open_bound, outbox

from meetbot.config.schema import load_config
from meetbot.core.events import Message
from meetbot.research import consent
from meetbot.research.dataset import HeldMeeting
from meetbot.research.export import message_rows
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import build_qdpx
from meetbot.runtime import written
from meetbot.storage.written_store import WrittenStore

STARTS = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)
DM = "!dm-bea:example.org"


def write_config(tmp_path: Path) -> Path:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "default.yaml").write_text(yaml.safe_dump({"prompts": [
        {"id": "share", "text": {"en": "What do we share?", "es": "¿Qué compartimos?"}},
        {"id": "next", "text": {"en": "What next?"}},
    ]}, allow_unicode=True))
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x",
        "facilitators": [ANA], "translation": {"backend": "none"},
        "data_dir": str(tmp_path / "data"), "prompts_dir": str(prompts),
        "regions": [{"id": "latam", "name": "Latin America", "room": ROOM,
                     "languages": ["es", "en"], "timezone": "UTC", "async_window": "48h",
                     "meetings": [{"number": 1, "starts": "2027-01-15T23:00",
                                   "duration": "90m"}]}],
    }))
    return path


def answer(event_id: str, sender: str, body: str, root: str, at: datetime,
           room: str = ROOM, **more: object) -> Message:
    return Message(event_id, room, sender, at, body, display_name=sender[1:4].title(),
                   thread_root=root if room == ROOM else None,
                   reply_to=root if room != ROOM else None, **more)


async def test_the_window_posts_each_prompt_once_and_records_the_thread_answers(
    tmp_path: Path,
) -> None:
    app = await open_bound(load_config(write_config(tmp_path)))
    try:
        shell = written.attach(app)
        await shell.open_window("latam", 1)
        await shell.open_window("latam", 1)  # again (a restart): nothing new
        posted = [r for r in await outbox(app, ROOM)]
        assert len(posted) == 2 and "What do we share?" in posted[0].body
        assert "¿Qué compartimos?" in posted[0].body and "Responde en este hilo" in posted[0].body
        await sent_as(app, "$root")

        before = STARTS - timedelta(hours=5)
        await app.ingest(answer("$a1", BEA, "Compartir notas", "$root0", before))
        await app.ingest(answer("$a2", CARLOS, "A calendar", "$root1", before))
        await app.ingest(answer("$a3", CARLOS, "no prompt's thread", "$elsewhere", before))
        late = STARTS + timedelta(minutes=90, hours=49)
        await app.ingest(answer("$a4", CARLOS, "too late", "$root1", late))
        app.opted_out.add(ANA)
        await app.ingest(answer("$a5", ANA, "kept out", "$root0", before,
                                sender_opted_out=True))

        store = WrittenStore(app.store.db)
        got = [(a.event_id, a.prompt_id, a.sender, a.via) for a in await store.answers("latam", 1)]
        assert got == [("$a1", "share", BEA, "thread"), ("$a2", "next", CARLOS, "thread")]
        assert any("cerraron el" in r.body for r in await outbox(app, ROOM))

        # The export: one row per answer, mode written, pseudonymous.
        doc = {"region": "latam", "meeting_id": "m1", "log": [], "items": [],
               "written": [{"prompt_id": "share", "prompt_texts": {},
                            "answers": [{"sender": BEA, "display_name": "Bea",
                                         "at_utc": "2027-01-15T18:00:00Z",
                                         "body": "Compartir notas", "language": "es",
                                         "translations": {"en": "Share notes"}}]}]}
        held = HeldMeeting(row=None, number=1, planned=4, doc=doc)  # type: ignore[arg-type]
        rows = list(message_rows([held], Pseudonyms(b"secret")))
        assert [(r["mode"], r["prompt_id"], r["text"]) for r in rows] == [
            ("written", "share", "Compartir notas")]
        assert BEA not in str(rows)
        doc.update(region_name="Latin America", started_at="2027-01-15T18:00:00-05:00")
        project = build_qdpx(rows, [held], "written")
        with zipfile.ZipFile(io.BytesIO(project)) as archive:
            texts = [archive.read(n).decode() for n in archive.namelist() if n.endswith(".txt")]
        assert "(written) Compartir notas" in texts[0]

        # Withdrawal: Bea's answer goes, Carlos's stays.
        await consent.withdraw(app, BEA, STARTS)
        assert [a.sender for a in await store.answers("latam", 1)] == [CARLOS]
    finally:
        await app.store.db.close()


async def test_a_private_prompt_takes_only_its_persons_reply(tmp_path: Path) -> None:
    app = await open_bound(load_config(write_config(tmp_path)))
    try:
        app.direct_rooms[DM] = BEA
        shell = written.attach(app)
        now = datetime.now(timezone.utc)
        async with app.store.db.transaction():
            await store_choice(app, BEA, DM)
            await shell.post_prompts(*_planned(app), only_user=BEA)
        private = await outbox(app, DM)
        assert len(private) == 2 and "Responde a este mensaje" in private[0].body
        await sent_as(app, "$dm")
        at = STARTS - timedelta(hours=1)
        await app.ingest(answer("$d1", BEA, "No time", "$dm1", at, room=DM))
        got = await WrittenStore(app.store.db).answers("latam", 1)
        assert [(a.prompt_id, a.via, a.body) for a in got] == [("next", "direct", "No time")]
        assert now  # the window's own clock is not needed here
    finally:
        await app.store.db.close()


async def sent_as(app, prefix: str) -> None:  # type: ignore[no-untyped-def]
    """Matrix accepted the queued rows: their event ids are ``prefix`` + 0, 1, ..."""
    pending = await app.store.pending_outbox(10)
    async with app.store.db.transaction():
        for n, row in enumerate(pending):
            await app.store.mark_sent(row.id, f"{prefix}{n}")


async def store_choice(app, user_id: str, room_id: str) -> None:  # type: ignore[no-untyped-def]
    await WrittenStore(app.store.db).set_optin(user_id, room_id)


def _planned(app):  # type: ignore[no-untyped-def]
    region = app.config.regions[0]
    return region, region.meetings[0]


async def test_opting_out_removes_the_answers_to_the_windows_open_now(tmp_path: Path) -> None:
    app = await open_bound(load_config(write_config(tmp_path)))
    try:
        shell = written.attach(app)
        await shell.open_window("latam", 1)
        await sent_as(app, "$root")
        before = STARTS - timedelta(hours=2)
        await app.ingest(answer("$o1", BEA, "Mis notas", "$root0", before))
        await app.ingest(answer("$o2", CARLOS, "Other notes", "$root0", before))
        await app.ingest(Message("$opt", ROOM, BEA, before + timedelta(minutes=1), "!optout",
                                 display_name="Bea"))
        (task,) = await app.store.pending_tasks(["consent"])
        await consent.apply_consent(app, task)
        store = WrittenStore(app.store.db)
        assert [a.sender for a in await store.answers("latam", 1)] == [CARLOS]
        # From now on nothing of hers is recorded.
        await app.ingest(answer("$o3", BEA, "Más notas", "$root0", before
                                + timedelta(minutes=2), sender_opted_out=True))
        assert [a.sender for a in await store.answers("latam", 1)] == [CARLOS]
    finally:
        await app.store.db.close()


async def test_with_every_message_translated_the_answers_translation_is_kept(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["translation"] = {"backend": "apertium", "mode": "always"}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    app = await open_bound(load_config(path))
    try:
        shell = written.attach(app)
        await shell.open_window("latam", 1)
        await sent_as(app, "$root")
        await app.ingest(answer("$t1", BEA, "Mis notas", "$root0", STARTS - timedelta(hours=1)))
        (task,) = await app.store.pending_tasks(["translate"])
        assert task.key == "translate:$t1" and task.payload["meeting_id"] == "written:latam:1"
    finally:
        await app.store.db.close()
