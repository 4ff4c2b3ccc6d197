"""A Spanish proposal posted in English and French with real Apertium output.

Ana writes Spanish in a room that reads Spanish, English and French. She proposes that the
group meets every week at the school; the proposal notice is edited to show the text in
each language, Apertium's real words marked as machine translation. Carlos objects, in
Spanish; the outcome shows his reason in English and French too.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from bot_helpers import settle_proposals
from components import require_component

from meetbot.app import MeetBotApp
from meetbot.config.schema import load_config
from meetbot.core.events import Message
from meetbot.matrix.content import txn_id_for
from meetbot.runtime.features import OpenedBot, open_bot
from meetbot.translation.apertium import ApertiumTranslator

ROOM = "!latam:example.org"
ANA, CARLOS = "@ana:example.org", "@carlos:example.org"
AT = datetime(2027, 3, 2, 15, 0, tzinfo=timezone.utc)
HOW = "apt-get install apertium apertium-eng-spa apertium-fr-es"


@pytest.fixture
def apertium_room(tmp_path: Path) -> Path:
    require_component("apertium", shutil.which("apertium") is not None, HOW)
    pairs = {("es", "en"), ("es", "fr")}
    require_component("apertium's es-en and es-fr data", pairs <= ApertiumTranslator().pairs(),
                      HOW)
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "default.yaml").write_text(
        yaml.safe_dump({"prompts": [{"id": "one", "text": {"en": "What now?"}}]}),
        encoding="utf-8",
    )
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": "@bot:example.org", "password": "x",
        "facilitators": [ANA], "translation": {"backend": "apertium"},
        "regions": [{"id": "latam", "name": "Latin America", "room": ROOM,
                     "languages": ["es", "en", "fr"]}],
    }), encoding="utf-8")
    return path


async def settle(app: MeetBotApp, opened: OpenedBot) -> None:
    await settle_proposals(app, opened.translation)


async def edited(app: MeetBotApp, key: str) -> str:
    target = "txn:" + txn_id_for(key)
    rows = await app.store.conn.execute_fetchall("SELECT content FROM outbox ORDER BY id")
    found = [json.loads(r[0]) for r in rows]
    (edit,) = [c for c in found if (c.get("m.relates_to") or {}).get("event_id") == target]
    return str(edit["m.new_content"]["body"])


async def test_a_spanish_proposal_is_posted_in_english_and_french(apertium_room: Path) -> None:
    opened = await open_bot(load_config(apertium_room))
    app = opened.app
    app.bind_region("latam", ROOM)
    try:
        n = iter(range(1, 100))

        def say(sender: str, body: str) -> Message:
            i = next(n)
            return Message(f"$m{i}", ROOM, sender, AT + timedelta(seconds=i), body=body,
                           sender_language="es")

        await app.ingest(say(ANA, "!startmeeting"))
        await app.ingest(say(ANA, "!propose Nos reunimos cada semana en la escuela."))
        await app.ingest(say(CARLOS, "!vote object La escuela está lejos."))
        await settle(app, opened)
        meeting: Any = app.states[ROOM].meeting
        proposal = meeting.proposals[0]

        posted = await edited(app, proposal.notice_key)
        english = ApertiumTranslator().translate_batch(
            ["Nos reunimos cada semana en la escuela."], "es", "en")[0]
        french = ApertiumTranslator().translate_batch(
            ["Nos reunimos cada semana en la escuela."], "es", "fr")[0]
        assert "week" in english.lower() and "semaine" in french.lower()  # real Apertium words
        assert f"{english} (machine translation)" in posted
        assert f"{french} (traduction automatique)" in posted
        assert "Nos reunimos cada semana en la escuela." in posted  # the Spanish block
        assert "(traducción automática)" not in posted, "the original is not marked"

        await app.ingest(say(ANA, "!close"))
        await settle(app, opened)
        outcome = await edited(app, proposal.outcome_key)
        reason = ApertiumTranslator().translate_batch(["La escuela está lejos."], "es", "en")[0]
        assert "school" in reason.lower()
        assert f"{reason} (machine translation)" in outcome
        texts, _sources = await app.store.translations_for([proposal.event_id])
        assert texts[proposal.event_id] == {"en": english, "fr": french}
    finally:
        await app.store.db.close()
