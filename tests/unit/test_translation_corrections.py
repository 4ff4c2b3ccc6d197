"""People correct the machine: ``!fix`` as a reply to a translation notice, ``!unfix``.

The core's part runs alone (who may do what, what is malformed); the shell's part runs over
the production app and a real SQLite database, with a phrasebook back-end (``en:<text>``
for English...) that counts what it is asked, as in the live-translation shell tests.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from components import require_component
from shell_helpers import (
    ANA,
    BEA,
    CARLOS,
    Speaker,
    config_file,
    open_bound_bot,
    outbox,
    send_all,
)
from test_meeting_core import FACILITATOR, PARTICIPANT, Meeting

import meetbot.translation.live as live_module
from meetbot.app import MeetBotApp
from meetbot.config.schema import Config
from meetbot.core.effects import CorrectTranslation
from meetbot.core.events import Message
from meetbot.minutes.delivery import minutes_data
from meetbot.minutes.render import render_html, render_markdown
from meetbot.research.consent import withdraw
from meetbot.research.dataset import HeldMeeting
from meetbot.research.export import message_rows, to_csv
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.storage.corrections_store import CorrectionsStore
from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.base import Pair, Translator
from meetbot.translation.live import LiveTranslation, notice_txn

# -- the core: who may correct, and what is malformed ------------------------------------


def test_a_fix_that_replies_to_a_notice_asks_the_shell_to_correct_it() -> None:
    room = Meeting()
    room.says(FACILITATOR, "!startmeeting")
    assert room.says(PARTICIPANT, "!fix es Compartimos notas", reply_to="$notice",
                     display_name="Bea") == []
    (effect,) = room.effects
    assert effect == CorrectTranslation(
        room_id=room.settings.region.room_id, event_id=f"$e{room.n}", notice_id="$notice",
        sender=PARTICIPANT, name="Bea", text="es Compartimos notas", reader_language="es",
    )


def test_a_fix_that_replies_to_nothing_says_how_to_use_it() -> None:
    room = Meeting()
    (answer,) = room.says(PARTICIPANT, "!fix we share notes")
    assert "reply to the notice" in answer
    assert not any(isinstance(e, CorrectTranslation) for e in room.effects)


def test_a_fix_without_text_asks_for_the_translation() -> None:
    room = Meeting()
    (answer,) = room.says(PARTICIPANT, "!fix", reply_to="$notice")
    assert "Give your translation after" in answer


def test_only_a_facilitator_undoes_a_correction() -> None:
    room = Meeting()
    (refused,) = room.says(PARTICIPANT, "!unfix", reply_to="$notice")
    assert "Only a facilitator or chair" in refused
    (refused_too,) = room.says(PARTICIPANT, "!fix undo", reply_to="$notice")
    assert "Only a facilitator or chair" in refused_too
    assert room.says(FACILITATOR, "!unfix en", reply_to="$notice") == []
    (effect,) = room.effects
    assert isinstance(effect, CorrectTranslation) and effect.undo and effect.text == "en"


def test_a_fix_sent_while_the_bot_was_away_is_recorded_not_acted_on() -> None:
    room = Meeting()
    room.says(PARTICIPANT, "!fix es algo", reply_to="$notice", live=False)
    assert room.effects == []


# -- the shell: the notice edited in place, the record, the memory -----------------------


class Phrasebook(Translator):
    """Translates ``text`` into ``target`` as ``"target:text"`` and notes every call."""

    name = "phrasebook"

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], str, str]] = []
        self.lock = threading.Lock()

    def pairs(self) -> set[Pair]:
        langs = ("es", "en", "fr")
        return {(a, b) for a in langs for b in langs if a != b}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        with self.lock:
            self.calls.append((tuple(texts), source, target))
        return [f"{target}:{text}" for text in texts]

    def asked(self, text: str, target: str) -> bool:
        return any(text in texts and t == target for texts, _s, t in self.calls)


@pytest.fixture
def phrasebook(monkeypatch: pytest.MonkeyPatch) -> Phrasebook:
    book = Phrasebook()
    monkeypatch.setattr(live_module, "make_translator", lambda backend, **options: book)
    return book


class Room:
    """The bot over a real database; the homeserver's part is played by ``send_all``."""

    def __init__(self, app: MeetBotApp, live: LiveTranslation) -> None:
        self.app, self.live = app, live
        self.say = Speaker()

    async def ingest(self, event: Message) -> Message:
        await self.app.ingest(event)
        return event

    async def translated(self, text: str, sender: str = BEA, lang: str = "es") -> str:
        """Someone says ``text``; its translation notice is posted. Returns the notice's id."""
        message = await self.ingest(self.say.say(text, sender=sender, sender_language=lang,
                                                 display_name=sender[1:4].title()))
        tasks = await self.app.store.pending_tasks(["translate"], 32)
        await self.live.process(tasks)
        await send_all(self.app)
        notice = await self.app.store.sent_event_id(notice_txn(message.event_id))
        assert notice is not None
        self.last_message = message
        return notice

    async def fix(self, notice: str, text: str, sender: str = CARLOS) -> list[dict[str, Any]]:
        """``text`` as a reply to ``notice``; returns what the bot queued for it."""
        before = len(await outbox(self.app))
        await self.ingest(self.say.say(text, sender=sender, reply_to=notice,
                                       display_name=sender[1:4].title()))
        return [r.content for r in (await outbox(self.app))[before:]]


@pytest.fixture
async def room(tmp_path: Path, phrasebook: Phrasebook) -> AsyncIterator[Room]:
    opened = await open_bound_bot(room_config(tmp_path, ("es", "en")))
    await opened.app.restore()
    yield Room(opened.app, opened.translation)
    await opened.translation.service.close()
    await opened.app.store.db.close()


def room_config(tmp_path: Path, languages: tuple[str, ...]) -> Config:
    return config_file(tmp_path, languages=languages, translation={"backend": "libretranslate"})


async def test_a_fix_edits_the_notice_in_place_credits_the_person_and_answers_once(
    room: Room, phrasebook: Phrasebook
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas cada semana")

    edit, answer = await room.fix(notice, "!fix we share notes every week")

    assert edit["m.relates_to"] == {
        "rel_type": "m.replace", "event_id": "txn:" + notice_txn(room.last_message.event_id)}
    assert edit["m.new_content"]["body"] == "[en] we share notes every week (corrected by Car)"
    assert answer["body"].startswith("Gracias")  # in the room's first language
    assert answer["m.relates_to"]["m.in_reply_to"]["event_id"].startswith("$m")
    (row,) = await CorrectionsStore(room.app.store).translations(room.last_message.event_id)
    assert (row.text, row.origin, row.machine_text, row.corrected_by) == (
        "we share notes every week", "human", "en:compartimos notas cada semana", CARLOS)
    assert row.corrected_at is not None


async def test_the_same_sentence_again_comes_from_the_memory_not_the_machine(
    room: Room, phrasebook: Phrasebook
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas cada semana")
    await room.fix(notice, "!fix we share notes every week")
    phrasebook.calls.clear()

    await room.translated("compartimos  notas cada\nsemana", sender=ANA)

    assert phrasebook.calls == [], "a corrected sentence never goes to the machine again"
    (row,) = await CorrectionsStore(room.app.store).translations(room.last_message.event_id)
    assert (row.text, row.origin, row.corrected_by) == ("we share notes every week", "human",
                                                        CARLOS)


async def test_a_fix_delivered_twice_edits_and_answers_once(room: Room) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("hola a todos")
    fix = room.say.say("!fix hello everyone", sender=CARLOS, reply_to=notice)
    await room.ingest(fix)
    count = len(await outbox(room.app))
    await room.ingest(fix)
    assert len(await outbox(room.app)) == count


async def test_a_fix_that_replies_to_something_else_or_misses_the_language_is_explained(
    tmp_path: Path, phrasebook: Phrasebook
) -> None:
    opened = await open_bound_bot(room_config(tmp_path, ("es", "en", "fr")))
    room = Room(opened.app, opened.translation)
    try:
        await room.ingest(room.say.say("!startmeeting"))
        notice = await room.translated("hola a todos")
        (not_a_notice,) = await room.fix(room.last_message.event_id, "!fix hello")
        assert "como respuesta a uno de mis avisos de traducción" in not_a_notice["body"]
        (which,) = await room.fix(notice, "!fix hello everyone")
        assert "varios idiomas (en, fr)" in which["body"]
        edit, _answer = await room.fix(notice, "!fix fr bonjour à tous")
        assert edit["m.new_content"]["body"] == (
            "[en] en:hola a todos\n[fr] bonjour à tous (corrigé par Car)")
    finally:
        await opened.translation.service.close()
        await opened.app.store.db.close()


async def test_a_facilitator_undoes_a_correction_and_the_memory_forgets_it(
    room: Room, phrasebook: Phrasebook
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas")
    await room.fix(notice, "!fix we share notes")
    await send_all(room.app)

    (refused,) = await room.fix(notice, "!unfix", sender=BEA)
    assert refused["body"].endswith("!unfix.")  # only a facilitator or chair (in Spanish)
    edit, answer = await room.fix(notice, "!unfix", sender=ANA)

    assert edit["m.new_content"]["body"] == "[en] en:compartimos notas"
    assert "deshizo" in answer["body"]
    (row,) = await CorrectionsStore(room.app.store).translations(room.last_message.event_id)
    assert (row.text, row.origin, row.machine_text) == ("en:compartimos notas", "machine", None)
    corrections = CorrectionsStore(room.app.store)
    assert await corrections.recall("es", ["en"], "compartimos notas") == {}
    await room.translated("compartimos notas", sender=ANA)
    (again,) = await corrections.translations(room.last_message.event_id)
    assert (again.text, again.origin) == ("en:compartimos notas", "machine")


async def test_an_edited_message_is_translated_again_and_drops_the_correction(
    room: Room, phrasebook: Phrasebook
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas")
    await room.fix(notice, "!fix we share notes")
    original = room.last_message.event_id

    await room.ingest(room.say.edit(original, "compartimos libros"))
    await room.live.process(await room.app.store.pending_tasks(["translate"], 32))

    (row,) = await CorrectionsStore(room.app.store).translations(original)
    assert (row.text, row.origin, row.machine_text) == ("en:compartimos libros", "machine", None)


async def test_minutes_and_exports_use_the_person_s_version_and_mark_it(room: Room) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas")
    await room.fix(notice, "!fix we share <notes>")
    await room.translated("otra cosa")
    await room.ingest(room.say.say("!endmeeting"))
    meeting_id = (await room.app.store.meeting_of_event(room.last_message.event_id)) or ""

    data = await minutes_data(room.app, meeting_id, "en")
    minutes = render_markdown(data, "en")
    assert "**Bea**: we share &lt;notes> *(translation corrected by a person)*" in minutes
    page = render_html(data, "en")
    assert ('we share &lt;notes&gt;</span> <span class="corrected">(translation corrected by a '
            'person)</span>') in page
    held = [HeldMeeting(None, 1, 1, data)]  # type: ignore[arg-type]
    rows = list(message_rows(held, Pseudonyms(b"salt")))
    sources = {row["text"]: row["translation_source"] for row in rows}
    assert sources["compartimos notas"] == {"en": "human"}
    assert sources["otra cosa"] == {"en": "machine"}
    assert ",human" in to_csv(rows).splitlines()[1 + [r["text"] for r in rows].index(
        "compartimos notas")]


async def test_a_withdrawal_takes_back_the_person_s_corrections_and_memory(
    room: Room, phrasebook: Phrasebook
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("compartimos notas")
    await room.fix(notice, "!fix we share notes", sender=CARLOS)
    await send_all(room.app)

    await withdraw(room.app, CARLOS, datetime.now(timezone.utc))

    corrections = CorrectionsStore(room.app.store)
    (row,) = await corrections.translations(room.last_message.event_id)
    assert (row.text, row.origin, row.corrected_by) == ("en:compartimos notas", "machine", None)
    assert await corrections.recall("es", ["en"], "compartimos notas") == {}
    edit = (await outbox(room.app))[-1].content
    assert edit["m.new_content"]["body"] == "[en] en:compartimos notas"


# -- with a real back-end: Apertium -------------------------------------------------------


class CountingApertium(ApertiumTranslator):
    """Debian's Apertium, noting every text it is asked to translate."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        self.asked.extend(texts)
        return super()._translate_direct(texts, source, target)


async def test_a_correction_of_apertium_is_used_and_apertium_is_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    apertium = CountingApertium()
    require_component("apertium's es-en data", ("es", "en") in apertium.pairs(),
                      "apt-get install apertium-eng-spa")
    monkeypatch.setattr(live_module, "make_translator", lambda backend, **options: apertium)
    config = config_file(tmp_path, languages=("es", "en"), translation={"backend": "apertium"})
    opened = await open_bound_bot(config)
    room = Room(opened.app, opened.translation)
    sentence = "Compartimos nuestras notas cada semana en una libreta común."
    try:
        await room.ingest(room.say.say("!startmeeting"))
        notice = await room.translated(sentence)
        (machine,) = await CorrectionsStore(room.app.store).translations(
            room.last_message.event_id)
        assert "notes" in machine.text.lower(), "Apertium's own English"
        assert apertium.asked == [sentence]

        edit, _answer = await room.fix(notice, "!fix We share our notes every week in a shared "
                                               "notebook.")
        assert edit["m.new_content"]["body"] == (
            "[en] We share our notes every week in a shared notebook. (corrected by Car)")

        apertium.asked.clear()
        room.live.service._cache.clear()  # the memory, not the service's cache, answers
        again = await room.translated(sentence, sender=ANA)
        (remembered,) = await CorrectionsStore(room.app.store).translations(
            room.last_message.event_id)
        assert (remembered.text, remembered.origin, remembered.corrected_by) == (
            "We share our notes every week in a shared notebook.", "human", CARLOS)
        assert again
        await room.translated("Gracias a todos.", sender=ANA)
        assert apertium.asked == ["Gracias a todos."], "the corrected sentence came from memory"
        rows = await CorrectionsStore(room.app.store).translations(room.last_message.event_id)
        assert rows[0].origin == "machine" and "thank" in rows[0].text.lower()
    finally:
        await opened.translation.service.close()
        await opened.app.store.db.close()


async def test_a_withdrawn_author_s_sentence_leaves_the_memory(room: Room) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("mi frase personal", sender=BEA)
    await room.fix(notice, "!fix my personal sentence", sender=CARLOS)
    corrections = CorrectionsStore(room.app.store)
    assert await corrections.recall("es", ["en"], "mi frase personal")

    await withdraw(room.app, BEA, datetime.now(timezone.utc))

    assert await corrections.recall("es", ["en"], "mi frase personal") == {}


async def test_a_notice_posted_before_the_upgrade_is_found_in_the_running_meeting(
    room: Room,
) -> None:
    await room.ingest(room.say.say("!startmeeting"))
    notice = await room.translated("hola a todos")
    async with room.app.store.db.transaction():  # as a database from before migration 10
        await room.app.store.conn.execute("DELETE FROM translation_notices")

    edit, _answer = await room.fix(notice, "!fix hello everyone")

    assert edit["m.new_content"]["body"] == "[en] hello everyone (corrected by Car)"
