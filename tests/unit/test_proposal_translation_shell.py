"""The proposal translation shell over the production app and a real SQLite database.

A room that speaks Spanish, English and French. Ana (who writes Spanish) proposes to meet
every week; the notice is edited to show the text in English and French, marked as machine
translation. Carlos objects with a reason, Ana edits her proposal to every two weeks, Dina
agrees after the edit; the outcome notice shows the reason in each language and who voted
before the edit. Carlos then withdraws: his reason's translations go from the record.

The back-end is a phrasebook (``fr:<text>`` for French), handed to the shell where it builds
its back-end, as in ``test_live_translation_shell.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from bot_helpers import settle_proposals
from shell_helpers import ANA, BEA, CARLOS, ROOM, Speaker, config_file, open_bound_bot, outbox

import meetbot.translation.live as live_module
from meetbot.app import MeetBotApp
from meetbot.matrix.content import txn_id_for
from meetbot.runtime import research_tasks
from meetbot.translation.base import Pair, Translator

LANGUAGES = ("es", "en", "fr")
DINA = "@dina:example.org"


class Phrasebook(Translator):
    """Translates ``text`` into ``target`` as ``"target:text"``."""

    name = "phrasebook"

    def __init__(self, languages: Iterable[str] = LANGUAGES) -> None:
        self.languages = tuple(languages)
        self.calls: list[tuple[tuple[str, ...], str, str]] = []

    def pairs(self) -> set[Pair]:
        return {(a, b) for a in self.languages for b in self.languages if a != b}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append((tuple(texts), source, target))
        return [f"{target}:{text}" for text in texts]

    def close(self) -> None:
        pass


@pytest.fixture
def phrasebook(monkeypatch: pytest.MonkeyPatch) -> Phrasebook:
    book = Phrasebook()
    monkeypatch.setattr(live_module, "make_translator", lambda backend, **options: book)
    return book


async def settle(app: MeetBotApp, opened: Any) -> None:
    await settle_proposals(app, opened.translation)


def edits_of(rows: list[Any], key: str) -> list[dict[str, Any]]:
    target = "txn:" + txn_id_for(key)
    return [r.content for r in rows
            if (r.content.get("m.relates_to") or {}).get("event_id") == target]


async def test_a_proposal_in_every_language_edited_voted_closed_and_withdrawn(
    tmp_path: Path, phrasebook: Phrasebook
) -> None:
    config = config_file(tmp_path, languages=LANGUAGES,
                         translation={"backend": "libretranslate"})
    opened = await open_bound_bot(config)
    app = opened.app
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting", sender_language="es"))
        for person in (BEA, CARLOS, DINA):
            await app.ingest(say.say("!here", sender=person))
        propose = say.say("!propose Nos reunimos cada semana", sender_language="es")
        await app.ingest(propose)
        proposal = app.states[ROOM].meeting.proposals[0]  # type: ignore[union-attr]
        await settle(app, opened)

        (posted,) = edits_of(await outbox(app, ROOM), proposal.notice_key)
        new = posted["m.new_content"]["body"]
        assert "en:Nos reunimos cada semana (machine translation)" in new
        assert "fr:Nos reunimos cada semana (traduction automatique)" in new
        assert "\nNos reunimos cada semana\n" in new  # the Spanish block: as typed
        texts, sources = await app.store.translations_for([propose.event_id])
        assert texts[propose.event_id] == {"en": "en:Nos reunimos cada semana",
                                           "fr": "fr:Nos reunimos cada semana"}
        assert sources[propose.event_id] == "es"

        await app.ingest(say.say("!vote agree", sender=BEA))
        vote = say.say("!vote object Es demasiado", sender=CARLOS, sender_language="es")
        await app.ingest(vote)
        await settle(app, opened)
        assert not [r for r in await outbox(app, ROOM) if "en:Es demasiado" in r.body], \
            "results stay hidden until the close: the reason is not posted"
        texts, _sources = await app.store.translations_for([vote.event_id])
        assert texts[vote.event_id]["en"] == "en:Es demasiado"

        await app.ingest(say.edit(propose.event_id, "!propose Nos reunimos cada dos semanas",
                                  sender=ANA))
        await settle(app, opened)
        posted, edited = edits_of(await outbox(app, ROOM), proposal.notice_key)
        new = edited["m.new_content"]["body"]
        assert "en:Nos reunimos cada dos semanas (machine translation)" in new
        assert "Edited by its author" in new

        await app.ingest(say.say("!vote agree", sender=DINA))
        await app.ingest(say.say("!close"))
        await settle(app, opened)
        (outcome,) = edits_of(await outbox(app, ROOM), proposal.outcome_key)
        new = outcome["m.new_content"]["body"]
        assert "en:Nos reunimos cada dos semanas (machine translation)" in new
        assert "en:Es demasiado (machine translation)" in new
        assert "Voted before the edit" in new and "Dina" not in new.split("[fr]")[0].split(
            "Voted before the edit")[1]

        await app.ingest(say.say("!withdraw confirm", sender=CARLOS))
        handlers = research_tasks.task_handlers(app, None)
        for task in await app.store.pending_tasks(["withdraw"]):
            await handlers["withdraw"](task)
        texts, _sources = await app.store.translations_for([vote.event_id])
        assert texts == {}, "a withdrawal takes the reason's translations too"
        rows = await app.store.conn.execute_fetchall("SELECT text FROM translations")
        assert not [r for r in rows if "demasiado" in r[0]]
    finally:
        await app.store.db.close()


async def test_without_a_back_end_an_edit_still_updates_the_notice(tmp_path: Path) -> None:
    opened = await open_bound_bot(config_file(tmp_path, languages=("es", "en")))
    app = opened.app
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting"))
        propose = say.say("!propose Compartimos las notas")
        await app.ingest(propose)
        await settle(app, opened)
        proposal = app.states[ROOM].meeting.proposals[0]  # type: ignore[union-attr]
        assert edits_of(await outbox(app, ROOM), proposal.notice_key) == []
        await app.ingest(say.edit(propose.event_id, "!propose Compartimos las notas y fotos",
                                  sender=ANA))
        await settle(app, opened)
        (edited,) = edits_of(await outbox(app, ROOM), proposal.notice_key)
        assert "Compartimos las notas y fotos" in edited["m.new_content"]["body"]
        assert "machine translation" not in edited["m.new_content"]["body"]
    finally:
        await app.store.db.close()


async def test_a_persons_correction_is_shown_and_marked_a_one_language_room_is_not_edited(
    tmp_path: Path, phrasebook: Phrasebook
) -> None:
    config = config_file(tmp_path, languages=LANGUAGES,
                         translation={"backend": "libretranslate"})
    opened = await open_bound_bot(config)
    app = opened.app
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting", sender_language="es"))
        await app.ingest(say.say("!here", sender=BEA, display_name="Bea"))
        propose = say.say("!propose Compartimos la red comunitaria", sender_language="es")
        await app.ingest(propose)
        await settle(app, opened)
        # Bea corrects the English (as !fix records it: the machine's version kept beside).
        async with app.store.db.transaction():
            await app.store.conn.execute(
                "UPDATE translations SET machine_text = text, text = ?, origin = 'human', "
                "corrected_by = ?, corrected_at = ? WHERE event_id = ? AND lang = 'en'",
                ("We share the community network", BEA, say.start.isoformat(),
                 propose.event_id),
            )
        await app.ingest(say.say("!close"))
        await settle(app, opened)
        rows = await outbox(app, ROOM)
        (outcome,) = [r.content for r in rows if "m.new_content" in r.content
                      and "rechazada" in r.content["m.new_content"]["body"]]
        new = outcome["m.new_content"]["body"]
        assert "We share the community network (corrected by Bea)" in new
        assert "fr:Compartimos la red comunitaria (traduction automatique)" in new
    finally:
        await app.store.db.close()

    one = tmp_path / "english"
    one.mkdir()
    opened = await open_bound_bot(config_file(one, languages=("en",),
                                              translation={"backend": "libretranslate"}))
    app = opened.app
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting"))
        await app.ingest(say.say("!propose We share the notebook"))
        await app.ingest(say.say("!close"))
        await settle(app, opened)
        assert not [r for r in await outbox(app, ROOM) if "m.new_content" in r.content]
    finally:
        await app.store.db.close()
