"""Written answers around a scheduled meeting, on a real Synapse with real translation
(Apertium): the prompts open a day before, people answer in a thread and by direct message,
the meeting opens with a digest, its minutes carry the answers, a restart posts nothing
twice, and a withdrawal takes a person's answers out of everything."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from components import require_component
from nio import RoomCreateResponse

pytestmark = pytest.mark.integration


def _agenda(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "default.yaml").write_text(yaml.safe_dump({
        "id": "default",
        "prompts": [
            {"id": "together", "text": {"en": "What can we do together?",
                                        "es": "¿Qué podemos hacer juntos?"}},
            {"id": "obstacles", "text": {"en": "What stands in our way?",
                                         "es": "¿Qué nos lo impide?"}},
        ],
    }, allow_unicode=True))
    return folder


def _local(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).replace(tzinfo=None, microsecond=0).isoformat()


def _in_thread(root: str, body: str) -> dict[str, Any]:
    """A thread reply as Element sends it (the reply fallback marked as such)."""
    return {"msgtype": "m.text", "body": body, "m.relates_to": {
        "rel_type": "m.thread", "event_id": root, "is_falling_back": True,
        "m.in_reply_to": {"event_id": root}}}


def _prompts_posted(person: Any, room: str, bot: Any, text: str) -> list[str]:
    """The written-answers prompts with ``text`` posted in ``room``."""
    return [n.body for n in person.notices(room, sender=bot.user_id)
            if "Written answers for" in n.body and text in n.body]


async def _answers(bot: Any) -> list[tuple[str, str, str, str]]:
    rows = await bot.app.store.db.conn.execute_fetchall(
        "SELECT prompt_id, sender, via, body FROM written_answers ORDER BY at")
    return [tuple(r) for r in rows]


async def _until(check: Any, timeout: float = 60) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise TimeoutError("never came")


async def test_prompts_open_before_the_meeting_answers_come_by_thread_and_direct_message(
    make_participant, make_bot, tmp_path
) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    maya = await make_participant("maya", display_name="Maya")  # the facilitator
    lucia = await make_participant("lucia", display_name="Lucía")  # answers in the thread
    sam = await make_participant("sam", display_name="Sam")  # answers by direct message
    bot = make_bot()
    room = await maya.create_room("Andes", invite=[lucia.user_id, sam.user_id, bot.user_id])
    await lucia.join(room)
    await sam.join(room)
    meeting = {"number": 1, "starts": _local(timedelta(seconds=40)), "duration": "15s",
               "title": "Andes 1"}
    bot.configure(
        facilitators=[maya.user_id],
        prompts_dir=str(_agenda(tmp_path / "prompts")),
        regions=[{"id": "andes", "name": "Andes", "room": room, "languages": ["es", "en"],
                  "timezone": "UTC", "meetings": [meeting], "async_window": "24h"}],
        reminders=[],
        translation={"backend": "apertium"},
    )
    await bot.start()

    # The window is open (the meeting is less than a day away): each prompt is a thread root.
    root = await lucia.wait_for_notice(room, "What can we do together?", sender=bot.user_id,
                                       timeout=30)
    assert "Written answers" in root.body and "¿Qué podemos hacer juntos?" in root.body
    await lucia.wait_for_notice(room, "What stands in our way?", sender=bot.user_id)

    # Sam asks for the prompts by direct message; the open window's prompts come at once.
    created = await sam.client.room_create(is_direct=True, invite=[bot.user_id])
    assert isinstance(created, RoomCreateResponse), created
    dm = created.room_id
    await sam.wait_for_room(dm)
    await sam.wait_for_member(dm, bot.user_id, timeout=30)
    lang = await sam.send(dm, "!lang en")
    await sam.wait_for_notice(dm, "", after=lang)
    asked = await sam.send(dm, "!async on")
    await sam.wait_for_notice(dm, "Reply to a prompt to answer it", after=asked)
    private = await sam.wait_for_notice(dm, "What stands in our way?", sender=bot.user_id)
    assert "Reply to this message" in private.body

    # Lucía answers in the thread, in Spanish: recorded, translated in the thread.
    said = await lucia.send_event(room, "m.room.message", _in_thread(
        root.event_id, "Podemos compartir nuestras notas cada semana."))
    translation = await maya.wait_for(room, lambda e: getattr(e, "sender", "") == bot.user_id
                                      and (getattr(e, "source", {}).get("content", {})
                                           .get("m.relates_to", {}).get("event_id"))
                                      == root.event_id and "[en]" in getattr(e, "body", ""),
                                      timeout=40)
    assert "notes" in translation.body.lower()
    # Sam answers by replying to the prompt in the direct chat.
    await sam.send(dm, "> <@bot> What stands in our way?\n\nWe have no time.",
                   reply_to=private.event_id)
    # A thread message that answers no prompt is nobody's written answer.
    await maya.send(room, "just chatting")
    answers = await _until(lambda: _answers_when(bot, 2))
    assert answers == [
        ("together", lucia.user_id, "thread", "Podemos compartir nuestras notas cada semana."),
        ("obstacles", sam.user_id, "direct", "We have no time."),
    ]
    assert said

    # The meeting opens by itself, and the room gets the digest in Spanish and English.
    digest = await maya.wait_for_notice(room, "Written answers before the meeting",
                                        sender=bot.user_id, timeout=90)
    assert "2 answers" in digest.body and "[es]" in digest.body and "[en]" in digest.body
    english = digest.body.split("[en]", 1)[1]
    assert "notes" in english.lower() and "Lucía" in english
    spanish = digest.body.split("[en]", 1)[0]
    assert "Podemos compartir nuestras notas" in spanish
    assert "What can we do together?" in english and "¿Qué podemos hacer juntos?" in spanish

    await maya.wait_for_notice(room, "Meeting ended", sender=bot.user_id, timeout=60)
    data_dir = Path(bot.settings["data_dir"])
    minutes = await _until(lambda: _minutes(data_dir))
    written = minutes["written"]
    assert [g["prompt_id"] for g in written] == ["together", "obstacles"]
    first = written[0]["answers"][0]
    assert first["mode"] == "written" and first["via"] == "thread"
    assert "notes" in first["translations"]["en"].lower()
    assert any("Written answers" in p.read_text() for p in (data_dir / "minutes").glob("*.md"))

    # A restart posts no prompt twice.
    await bot.restart()
    probe = await maya.send(room, "!status")
    await maya.wait_for_notice(room, "", after=probe)
    await bot.settled()
    assert len(_prompts_posted(lucia, room, bot, "What can we do together?")) == 1
    assert len(_prompts_posted(sam, dm, bot, "What stands in our way?")) == 1

    # Lucía withdraws: her written answer leaves the record and the minutes.
    confirm = await lucia.send(room, "!withdraw confirm")
    await lucia.wait_for_notice(room, "", after=confirm)
    await _until(lambda: _answers_when(bot, 1))
    await _until(lambda: _minutes_without(data_dir, "compartir"), timeout=60)
    rows = await bot.app.store.db.conn.execute_fetchall(
        "SELECT COUNT(*) FROM translations WHERE text LIKE '%notes%'")
    assert rows[0][0] == 0


async def _answers_when(bot: Any, count: int) -> list[tuple[str, str, str, str]] | None:
    found = await _answers(bot)
    return found if len(found) == count else None


async def _minutes(data_dir: Path) -> dict[str, Any] | None:
    files = list((data_dir / "minutes").glob("*.json"))
    return json.loads(files[0].read_text()) if files else None


async def _minutes_without(data_dir: Path, text: str) -> bool:
    files = list((data_dir / "minutes").glob("*"))
    return bool(files) and all(text not in p.read_text() for p in files if p.is_file())
