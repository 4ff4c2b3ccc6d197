"""The live-translation shell: one notice per message, edits replace it, failures stay local.

``LiveTranslation`` runs over the production app and a real SQLite database; the back-end is
a small phrasebook implementing the ``Translator`` interface (``fr:<text>`` for French...),
handed to the shell where it builds its back-end (``make_translator``). The room speaks
Spanish, English and French; people declare their language (``sender_language``) as the
Matrix shell does for those who chose one with ``!lang``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
from shell_helpers import (
    ANA,
    BEA,
    CARLOS,
    ROOM,
    Row,
    Speaker,
    config_file,
    open_bound_bot,
    outbox,
    send_all,
    until,
)

import meetbot.translation.live as live_module
from meetbot.app import MeetBotApp
from meetbot.config.schema import Config
from meetbot.core.events import Message
from meetbot.storage.store import Task
from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.base import Pair, Translator
from meetbot.translation.live import LiveTranslation, notice_txn

LANGUAGES = ("es", "en", "fr")
TRANSLATED = re.compile(r"\[(en|es|fr)\] (en|es|fr):")


class Phrasebook(Translator):
    """Translates ``text`` into ``target`` as ``"target:text"``; the test can break it."""

    name = "phrasebook"

    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.languages = tuple(languages)
        self.choke_on: set[str] = set()  # texts that crash the model
        self.gate: threading.Event | None = None  # set: translations wait until it opens
        self.asked = threading.Event()
        self.calls: list[tuple[tuple[str, ...], str, str]] = []
        self.closed = False

    def pairs(self) -> set[Pair]:
        return {(a, b) for a in self.languages for b in self.languages if a != b}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append((tuple(texts), source, target))
        self.asked.set()
        if self.gate is not None:
            self.gate.wait(5)
        if self.choke_on & set(texts):
            raise RuntimeError("the model ran out of memory")
        return [f"{target}:{text}" for text in texts]

    def close(self) -> None:
        self.closed = True


class Homeserver:
    """The fetch callable: bodies of messages the record does not hold."""

    def __init__(self, bodies: dict[str, str]) -> None:
        self.bodies = bodies
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, room_id: str, event_id: str) -> str | None:
        self.asked.append((room_id, event_id))
        return self.bodies.get(event_id)


@pytest.fixture
def phrasebook(monkeypatch: pytest.MonkeyPatch) -> Phrasebook:
    book = Phrasebook()

    def make_translator(backend: str, **options: Any) -> Translator:
        return book

    monkeypatch.setattr(live_module, "make_translator", make_translator)
    return book


def room_config(tmp_path: Path, **translation: Any) -> Config:
    return config_file(tmp_path, languages=LANGUAGES,
                       translation={"backend": "libretranslate", **translation})


class Shell:
    """The app and its live-translation shell, started and stopped as the service does."""

    def __init__(self, config: Config, fetch: Homeserver | None = None) -> None:
        self.config = config
        self.fetch = fetch
        self.app: MeetBotApp | None = None
        self.live: LiveTranslation | None = None

    async def start(self) -> Shell:
        opened = await open_bound_bot(self.config)
        self.app, self.live = opened.app, opened.translation
        self.live.fetch = self.fetch
        await self.app.restore()  # the running meeting, as the Matrix shell restores it
        return self

    async def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            await self.live.run()  # returns at once once stopped, closing the back-end
        if self.app is not None:
            await self.app.store.db.close()
        self.app = self.live = None

    async def restart(self) -> Shell:
        await self.stop()
        return await self.start()

    @property
    def a(self) -> MeetBotApp:
        assert self.app is not None
        return self.app

    @property
    def t(self) -> LiveTranslation:
        assert self.live is not None
        return self.live

    async def translate_pending(self) -> list[Task]:
        """One pass of the worker over what is waiting."""
        tasks = await self.a.store.pending_tasks(["translate"], 32)
        if tasks:
            await self.t.process(tasks)
        return tasks

    async def notices(self) -> list[Row]:
        """The translation notices and their edits (what holds the phrasebook's words)."""
        return [r for r in await outbox(self.a, ROOM) if TRANSLATED.search(r.body)]


@pytest.fixture
async def shells() -> AsyncIterator[Any]:
    made: list[Shell] = []

    async def start(config: Config, fetch: Homeserver | None = None) -> Shell:
        made.append(await Shell(config, fetch).start())
        return made[-1]

    yield start
    for shell in made:
        await shell.stop()


def spanish(say: Speaker, text: str) -> Message:
    return say.say(text, sender=BEA, sender_language="es")


async def test_a_message_gets_one_notice_with_its_translations_into_the_other_languages(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "hola a todos")
    await shell.a.ingest(message)

    (task,) = await shell.translate_pending()

    (notice,) = await shell.notices()
    assert notice.txn_id == notice_txn(message.event_id)
    assert notice.body == "[en] en:hola a todos\n[fr] fr:hola a todos"
    assert notice.content["m.relates_to"] == {"m.in_reply_to": {"event_id": message.event_id}}
    assert notice.content["m.mentions"] == {}, "a translation pings nobody"
    assert {target for _texts, _source, target in phrasebook.calls} == {"en", "fr"}
    texts, sources = await shell.a.store.translations_for([message.event_id])
    assert texts == {message.event_id: {"en": "en:hola a todos", "fr": "fr:hola a todos"}}
    assert sources == {message.event_id: "es"}
    assert not await shell.a.store.task_pending(task.id)


async def test_a_message_delivered_twice_and_a_batch_processed_twice_give_one_notice(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "buenos días")
    await shell.a.ingest(message)
    await shell.a.ingest(message)  # the homeserver sent it again

    tasks = await shell.a.store.pending_tasks(["translate"])
    assert len(tasks) == 1
    await shell.t.process(tasks)
    await shell.t.process(tasks)  # the same batch again (taken twice before a crash)

    assert len(await shell.notices()) == 1


async def test_an_edit_replaces_the_translation_notice(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "la casa es grande")
    await shell.a.ingest(message)
    await shell.translate_pending()
    await send_all(shell.a)  # the first notice is in the room
    state = await shell.a.store.outbox_state(notice_txn(message.event_id))
    assert state is not None and state[0] == "sent"

    await shell.a.ingest(say.edit(message.event_id, "la casa es pequeña"))
    await shell.translate_pending()
    await shell.a.ingest(say.edit(message.event_id, "la casa es muy pequeña"))
    await shell.translate_pending()

    edits = await shell.notices()  # (a sent row keeps no content)
    assert len(edits) == 2
    original = "txn:" + notice_txn(message.event_id)
    for edit in edits:
        assert edit.content["m.relates_to"] == {"rel_type": "m.replace", "event_id": original}
    assert edits[-1].content["m.new_content"]["body"] == (
        "[en] en:la casa es muy pequeña\n[fr] fr:la casa es muy pequeña")
    assert edits[-1].body.startswith("* [en] en:la casa es muy pequeña")
    texts, _sources = await shell.a.store.translations_for([message.event_id])
    assert texts[message.event_id]["fr"] == "fr:la casa es muy pequeña"


async def test_a_facilitator_switches_live_translation_off_and_on_and_a_restart_keeps_it(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    await shell.a.ingest(say.say("!translate off", sender=BEA))  # not a facilitator
    await shell.a.ingest(spanish(say, "uno"))
    await shell.a.ingest(say.say("!translate off", sender=ANA))
    await shell.a.ingest(spanish(say, "dos"))
    assert [t.payload["text"] for t in await shell.a.store.pending_tasks(["translate"])] == [
        "uno"]

    await shell.restart()
    await shell.a.ingest(spanish(say, "tres"))
    assert len(await shell.a.store.pending_tasks(["translate"])) == 1, "still off"
    await shell.a.ingest(say.say("!translate on", sender=ANA))
    await shell.a.ingest(spanish(say, "cuatro"))
    await shell.translate_pending()

    translated = [r.body.split("\n")[0] for r in await shell.notices()]
    assert translated == ["[en] en:uno", "[en] en:cuatro"]


async def test_asking_for_a_translation_works_even_when_live_translation_is_off(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!translate off", sender=ANA))
    ask = say.say("!translate La casa es grande y tiene un jardín muy bonito", sender=CARLOS)
    await shell.a.ingest(ask)

    assert len(await shell.translate_pending()) == 1

    (answer,) = await shell.notices()
    assert answer.content["m.relates_to"] == {"m.in_reply_to": {"event_id": ask.event_id}}
    assert "[en] en:La casa es grande" in answer.body and "[es]" not in answer.body
    assert await shell.a.store.translations_for([ask.event_id]) == ({}, {}), "nothing kept"


async def test_a_message_the_record_does_not_hold_is_fetched_from_the_homeserver(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    homeserver = Homeserver({"$yesterday": "nos vemos mañana"})
    shell = await shells(room_config(tmp_path), homeserver)
    say = Speaker()
    ask = say.say("!translate", sender=CARLOS, reply_to="$yesterday", sender_language="en")
    await shell.a.ingest(ask)

    await shell.translate_pending()

    assert homeserver.asked == [(ROOM, "$yesterday")]
    (answer,) = await shell.notices()
    assert "fr:nos vemos mañana" in answer.body


async def test_a_failing_back_end_loses_no_message_and_the_room_is_told_once_per_meeting(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    phrasebook.choke_on = {"uno", "dos"}
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    for text in ("uno", "dos", "tres"):
        await shell.a.ingest(spanish(say, text))

    await shell.translate_pending()

    assert [r.body.split("\n")[0] for r in await shell.notices()] == ["[en] en:tres"]
    warnings = [r.body for r in await outbox(shell.a, ROOM)
                if "La traducción en vivo no funciona" in r.body]
    assert len(warnings) == 1, "told once, not once per message"
    assert "the model ran out of memory" in warnings[0]
    assert await shell.a.store.pending_tasks(["translate"]) == []
    meeting = shell.a.meeting_in(ROOM)
    assert meeting is not None
    assert [e.body for e in meeting.log if e.sender == BEA] == ["uno", "dos", "tres"]

    await shell.a.ingest(say.say("!endmeeting"))
    await shell.a.ingest(say.say("!startmeeting"))
    await shell.a.ingest(spanish(say, "uno"))
    await shell.translate_pending()
    again = [r.body for r in await outbox(shell.a, ROOM)
             if "La traducción en vivo no funciona" in r.body]
    assert len(again) == 2, "the next meeting is told again"


async def test_a_missing_language_pair_is_named_to_the_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shells: Any
) -> None:
    no_french = Phrasebook(languages=("es", "en"))
    monkeypatch.setattr(live_module, "make_translator", lambda backend, **options: no_french)
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    await shell.a.ingest(spanish(say, "hola"))

    await shell.translate_pending()

    (warning,) = [r.body for r in await outbox(shell.a, ROOM) if "Live translation" in r.body]
    assert "No translation from 'es' to 'fr' is installed with the phrasebook back-end" \
        in warning


async def test_a_redacted_message_is_not_translated_and_its_notice_is_withdrawn(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    early = spanish(say, "mi teléfono es 555")
    await shell.a.ingest(early)
    await shell.a.ingest(say.redact(early.event_id))  # before the worker got to it
    assert await shell.translate_pending() == []

    late = spanish(say, "mi dirección es la calle 5")
    await shell.a.ingest(late)
    await shell.translate_pending()
    await shell.a.ingest(say.redact(late.event_id))

    (notice,) = await shell.notices()
    assert notice.txn_id == notice_txn(late.event_id)
    retractions = [r.content["redacts"] for r in await outbox(shell.a, ROOM)
                   if r.event_type == "m.room.redaction"]
    assert "txn:" + notice_txn(late.event_id) in retractions
    phrases = " ".join(" ".join(texts) for texts, _s, _t in phrasebook.calls)
    assert "555" not in phrases, "the redacted text never reached the back-end"


async def test_a_message_redacted_while_it_is_being_translated_gets_no_notice(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "algo que lamento")
    await shell.a.ingest(message)
    phrasebook.gate = threading.Event()
    tasks = await shell.a.store.pending_tasks(["translate"])
    working = asyncio.create_task(shell.t.process(tasks))
    assert await asyncio.to_thread(phrasebook.asked.wait, 2)
    await shell.a.ingest(say.redact(message.event_id))
    phrasebook.gate.set()
    await asyncio.wait_for(working, 3)

    assert await shell.notices() == []
    assert await shell.a.store.translations_for([message.event_id]) == ({}, {})


@pytest.mark.parametrize("display", ["thread", "off"])
async def test_translations_can_go_in_a_thread_or_only_into_the_record(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any, display: str
) -> None:
    shell = await shells(room_config(tmp_path, display=display))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "hola")
    await shell.a.ingest(message)

    await shell.translate_pending()

    texts, _sources = await shell.a.store.translations_for([message.event_id])
    assert texts[message.event_id]["en"] == "en:hola"
    notices = await shell.notices()
    if display == "off":
        assert notices == []
    else:
        (notice,) = notices
        assert notice.content["m.relates_to"] == {
            "rel_type": "m.thread", "event_id": message.event_id, "is_falling_back": False,
            "m.in_reply_to": {"event_id": message.event_id}}


async def test_the_worker_translates_messages_as_they_come_and_stops_when_asked(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    worker = asyncio.create_task(shell.t.run())
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    for text in ("uno", "dos", "tres"):
        await shell.a.ingest(spanish(say, text))

    async def all_translated() -> bool:
        return len(await shell.notices()) == 3

    await until(all_translated, shell.a.outbox_ready)
    firsts = [r.body.split("\n")[0] for r in await shell.notices()]
    assert firsts == ["[en] en:uno", "[en] en:dos", "[en] en:tres"], "in the order said"

    shell.t.stop()
    await asyncio.wait_for(worker, 2)
    assert phrasebook.closed, "stopping closes the back-end"


async def test_messages_not_yet_translated_at_a_crash_are_translated_once_after_it(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "no se pierde nada")
    await shell.a.ingest(message)

    await shell.restart()
    await shell.translate_pending()
    await shell.translate_pending()

    (notice,) = await shell.notices()
    assert notice.txn_id == notice_txn(message.event_id)


async def test_a_persons_chosen_language_is_kept_and_survives_a_restart(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!lang fr", sender=CARLOS))
    assert shell.a.user_languages[CARLOS] == "fr"

    await shell.restart()
    assert shell.a.user_languages[CARLOS] == "fr"
    await shell.a.ingest(say.say("!lang auto", sender=CARLOS))
    assert CARLOS not in shell.a.user_languages
    await shell.restart()
    assert CARLOS not in shell.a.user_languages


async def test_prompts_missing_a_room_language_get_a_marked_machine_translation(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))

    assert await shell.t.fill_agendas() == 3

    first, second = shell.a.agendas.get("default").prompts
    assert first.texts["es"] == "¿Qué compartimos?", "an authored text always wins"
    assert first.texts["fr"] == "fr:What do we share? (traduction automatique)"
    assert second.texts["es"] == "es:What next? (traducción automática)"
    assert await shell.t.fill_agendas() == 0, "nothing left to fill"


async def test_with_the_none_back_end_nothing_is_translated_live_and_asking_says_why(
    tmp_path: Path, shells: Any
) -> None:
    shell = await shells(config_file(tmp_path, languages=LANGUAGES))  # backend: none
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    await shell.a.ingest(spanish(say, "hola a todos"))
    assert await shell.a.store.pending_tasks(["translate"]) == []
    assert await shell.t.fill_agendas() == 0

    await shell.a.ingest(say.say("!lang en", sender=CARLOS))
    ask = say.say("!translate hola", sender=CARLOS, sender_language="en")
    await shell.a.ingest(ask)
    await shell.translate_pending()

    (answer,) = [r for r in await outbox(shell.a, ROOM) if "Translation failed" in r.body]
    assert "Translation is switched off (backend 'none')" in answer.body
    assert answer.content["m.relates_to"] == {"m.in_reply_to": {"event_id": ask.event_id}}


async def test_people_mentioned_are_named_in_the_notice_and_kept_as_ids_in_the_record(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    await shell.a.ingest(say.say("hola", sender=CARLOS, sender_language="es",
                                 display_name="Carlos"))
    action = say.say(f"!action {CARLOS} organiza el taller", sender=BEA, sender_language="es",
                     mentions=(CARLOS,))
    await shell.a.ingest(action)
    await shell.translate_pending()

    notice = next(r for r in await shell.notices() if "organiza" in r.body)
    assert notice.body == "[en] en:Carlos organiza el taller\n[fr] fr:Carlos organiza el taller"
    assert CARLOS not in notice.content["formatted_body"]
    texts, _sources = await shell.a.store.translations_for([action.event_id])
    assert texts[action.event_id]["en"] == f"en:{CARLOS} organiza el taller"
    # The back-end never saw the id: a placeholder stood in for it.
    assert not [texts for texts, _s, _t in phrasebook.calls if any(CARLOS in t for t in texts)]


async def test_live_translations_go_in_the_background_in_batches_the_back_end_sets(
    tmp_path: Path, phrasebook: Phrasebook, shells: Any
) -> None:
    shell = await shells(room_config(tmp_path))
    say = Speaker()
    await shell.a.ingest(say.say("!startmeeting"))
    message = spanish(say, "hola a todos")
    await shell.a.ingest(message)
    await shell.translate_pending()
    rows = await shell.a.store.pending_outbox(limit=100)
    # The translation in the background lane; the meeting's own notices are answers.
    assert {r.txn_id for r in rows if r.background} == {notice_txn(message.event_id)}
    assert len(rows) > 1

    # The back-end says how many texts a call may carry; Apertium pays a process start per
    # call, so a backlog goes in calls of up to 128 texts.
    assert shell.t.service.max_batch_size == phrasebook.max_batch == 32
    assert ApertiumTranslator.max_batch == 128
