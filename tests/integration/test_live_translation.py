"""Everyone follows in their own language: live translation in a real room (real Apertium)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from components import require_component
from nio import RedactionEvent, RoomMessageNotice

pytestmark = pytest.mark.integration


def _relates(event) -> dict:
    return event.source["content"].get("m.relates_to", {})


def _translation_of(participant, room: str, event_id: str):
    def match(event) -> bool:
        return (
            isinstance(event, RoomMessageNotice)
            and _relates(event).get("m.in_reply_to", {}).get("event_id") == event_id
            and "[" in event.body
        )

    return participant.wait_for(room, match, timeout=40)


async def _trilingual_room(make_participant, make_bot, **translation):
    require_component(
        "apertium",
        shutil.which("apertium") is not None,
        "apt-get install apertium apertium-eng-spa apertium-fr-es",
    )
    alice = await make_participant("alice", display_name="Alice")
    bea = await make_participant("bea", display_name="Beatriz")
    claude = await make_participant("claude", display_name="Claude")
    bot = make_bot()
    room = await alice.create_room("Trilingual", invite=[bea.user_id, claude.user_id, bot.user_id])
    await bea.join(room)
    await claude.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[
            {
                "id": "latam",
                "name": "Latin America",
                "room": room,
                "languages": ["es", "fr", "en"],
                "timezone": "America/Bogota",
            }
        ],
        translation={"backend": "apertium", **translation},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    return alice, bea, claude, bot, room


async def test_a_spanish_a_french_and_an_english_participant_follow_one_meeting(
    make_participant, make_bot
) -> None:
    alice, bea, claude, bot, room = await _trilingual_room(make_participant, make_bot)
    chosen = await bea.send(room, "!lang es")
    await bea.wait_for_notice(room, "es", after=chosen)
    chosen = await claude.send(room, "!lang fr")
    answer = await claude.wait_for_notice(room, "fr", after=chosen)
    assert answer.body == "Vous écrivez et lisez désormais en français (fr)."
    asked = await claude.send(room, "!lang")
    await claude.wait_for_notice(room, "fr", after=asked)

    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")

    spanish = await bea.send(room, "La casa es grande")
    notice = await _translation_of(alice, room, spanish)
    lines = dict(
        line.split("] ", 1)
        for line in notice.body.replace(
            "[",
            "",
        ).split("\n")
        if "] " in line
    )
    assert set(lines) == {"fr", "en"}, notice.body
    assert "house" in lines["en"].lower()

    french = await claude.send(room, "La maison est grande")
    notice = await _translation_of(alice, room, french)
    assert "[es]" in notice.body and "casa" in notice.body.lower()
    assert "[en]" in notice.body and "[fr]" not in notice.body

    english = await alice.send(room, "The house is big and the garden is beautiful")
    notice = await _translation_of(alice, room, english)
    assert "casa" in notice.body.lower(), "detected as English, translated to Spanish"

    # One notice per message, never a translation of a command or of the bot's own notices.
    idea = await bea.send(room, "!idea una biblioteca compartida")
    await bea.wait_for_notice(room, "#2", after=idea)
    item_translation = await _translation_of(alice, room, idea)
    assert "[en]" in item_translation.body
    await bot.settled()
    replies = [
        n
        for n in alice.notices(room)
        if _relates(n).get("m.in_reply_to", {}).get("event_id") == spanish
    ]
    assert len(replies) == 1

    # An edit edits the translation notice; a redaction redacts it.
    await bea.edit(room, spanish, "El jardín es grande")
    await alice.wait_for(
        room,
        lambda e: (
            _relates(e).get("rel_type") == "m.replace"
            and _relates(e).get("event_id") == notice_id(alice, room, spanish)
        ),
        timeout=40,
    )
    translation_id = notice_id(alice, room, french)
    await claude.redact(room, french)
    await alice.wait_for(
        room, lambda e: isinstance(e, RedactionEvent) and e.redacts == translation_id, timeout=40
    )

    await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended")
    await bot.settled()
    folder = Path(bot.settings["data_dir"]) / "minutes"
    data = json.loads(next(folder.glob("*.json")).read_text())
    line = next(entry for entry in data["log"] if entry["event_id"] == spanish)
    assert line["language"] == "es"
    assert set(line["translations"]) == {"fr", "en"}
    assert "garden" in line["translations"]["en"].lower(), "the edit's translation is kept"
    assert all(entry["event_id"] != french for entry in data["log"])
    item = next(i for i in data["items"] if i["kind"] == "idea")
    assert item["translations"].get("en")
    # Minutes in the coordinator's language and in each of the region's languages.
    for lang in ("es", "fr", "en"):
        assert list(folder.glob(f"*-{lang}.html")), lang


def notice_id(participant, room: str, event_id: str) -> str:
    for event in participant.events(room):
        if (
            isinstance(event, RoomMessageNotice)
            and _relates(event).get("m.in_reply_to", {}).get("event_id") == event_id
        ):
            return event.event_id
    raise AssertionError(f"no translation notice for {event_id}")


async def test_on_demand_translation_and_the_room_switch(make_participant, make_bot) -> None:
    alice, bea, _claude, _bot, room = await _trilingual_room(make_participant, make_bot)
    asked = await bea.send(room, "!translate La casa es grande")
    answer = await bea.wait_for(
        room,
        lambda e: (
            isinstance(e, RoomMessageNotice)
            and _relates(e).get("m.in_reply_to", {}).get("event_id") == asked
        ),
        timeout=40,
    )
    assert "house" in answer.body.lower()
    outside = await bea.send(room, "Hola a todos")
    replied = await bea.send(room, "!translate", reply_to=outside)
    answer = await bea.wait_for(
        room,
        lambda e: (
            isinstance(e, RoomMessageNotice)
            and _relates(e).get("m.in_reply_to", {}).get("event_id") == replied
        ),
        timeout=40,
    )
    assert "[en]" in answer.body
    denied = await bea.send(room, "!translate off")
    # Bea has not chosen a language: the answer comes in the room's first one, Spanish.
    await bea.wait_for_notice(room, "Solo las personas que facilitan", after=denied)
    off = await alice.send(room, "!translate off")
    await alice.wait_for_notice(room, "Live translation is off", after=off)
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    quiet = await bea.send(room, "La casa es grande")
    on = await alice.send(room, "!translate on")
    await alice.wait_for_notice(room, "Live translation is on", after=on)
    loud = await bea.send(room, "El jardín es grande")
    await _translation_of(alice, room, loud)
    assert all(
        _relates(n).get("m.in_reply_to", {}).get("event_id") != quiet for n in alice.notices(room)
    )


async def test_a_failing_back_end_is_reported_once_and_loses_nothing(make_participant, make_bot):
    alice = await make_participant("alice")
    bot = make_bot()
    room = await alice.create_room("Room", invite=[bot.user_id])
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "x", "name": "X", "room": room, "languages": ["en", "es"]}],
        # Nothing listens there: every translation fails.
        translation={"backend": "libretranslate", "libretranslate_url": "http://127.0.0.1:9"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    for n in range(3):
        await alice.send(room, f"The house number {n} is big")
    await alice.wait_for_notice(room, "Live translation is not working", timeout=40)
    idea = await alice.send(room, "!idea the meeting goes on")
    await alice.wait_for_notice(room, "Idea #2 recorded", after=idea)
    await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended")
    await bot.settled()
    warnings = [n for n in alice.notices(room) if "Live translation is not working" in n.body]
    assert len(warnings) == 1
    data = json.loads(next((Path(bot.settings["data_dir"]) / "minutes").glob("*.json")).read_text())
    bodies = [line["body"] for line in data["log"]]
    assert all(f"The house number {n} is big" in bodies for n in range(3))


async def test_a_prompt_without_a_text_in_a_room_language_is_machine_translated_and_marked(
    make_participant, make_bot, tmp_path
) -> None:
    require_component("apertium", shutil.which("apertium") is not None)
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "default.yaml").write_text(
        "prompts:\n  - id: only-english\n    text: {en: The house is big}\n"
    )
    alice = await make_participant("alice")
    bot = make_bot()
    room = await alice.create_room("Room", invite=[bot.user_id])
    bot.configure(
        facilitators=[alice.user_id],
        prompts_dir=str(prompts),
        regions=[{"id": "x", "name": "X", "room": room, "languages": ["es", "en"]}],
        translation={"backend": "apertium"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    for _attempt in range(100):  # the bot fills agendas in the background after start
        if "es" in bot.app.agendas.get("default").prompts[0].texts:
            break
        await asyncio.sleep(0.1)
    await alice.send(room, "!startmeeting")
    notice = await alice.wait_for_notice(room, "Prompt 1/1")
    assert "casa" in notice.body and "(traducción automática)" in notice.body
    assert "The house is big" in notice.body


async def test_translations_can_go_in_a_thread(make_participant, make_bot) -> None:
    alice, bea, _claude, _bot, room = await _trilingual_room(
        make_participant, make_bot, display="thread"
    )
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    said = await bea.send(room, "La casa es grande")
    threaded = await alice.wait_for(
        room,
        lambda e: isinstance(e, RoomMessageNotice)
        and _relates(e).get("rel_type") == "m.thread"
        and _relates(e).get("event_id") == said,
        timeout=40,
    )
    assert "house" in threaded.body.lower()
