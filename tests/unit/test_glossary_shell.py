"""The glossary in the live-translation shell, over the production app, a real SQLite
database and real Apertium: a meeting's messages are translated with the file's terms and
the room's, the record keeps which terms each translation used, and a redaction or an edit
keeps that record true.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from components import require_component
from shell_helpers import ANA, BEA, ROOM, Speaker, config_file, open_bound_bot, outbox

from meetbot.runtime.features import OpenedBot
from meetbot.storage.glossary_store import GlossaryStore

GLOSSARY = """\
keep: [Village Telco]
terms:
  - en: community network
    es: red comunitaria
"""


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[OpenedBot]:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    (tmp_path / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    config = config_file(tmp_path, languages=("en", "es"),
                         translation={"backend": "apertium", "glossary": "glossary.yaml"})
    opened = await open_bound_bot(config)
    yield opened
    opened.translation.stop()
    await opened.translation.run()
    await opened.app.store.db.close()


async def translate(opened: OpenedBot) -> None:
    tasks = await opened.app.store.pending_tasks(["translate"], 32)
    await opened.translation.process(tasks)


async def origin(opened: OpenedBot, event_id: str) -> str:
    async with opened.app.store.conn.execute(
        "SELECT origin FROM translations WHERE event_id = ? AND lang = 'es'", (event_id,)
    ) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else ""


async def test_a_meeting_is_translated_with_the_glossary_and_its_hits_are_kept(
    bot: OpenedBot,
) -> None:
    app, hits = bot.app, GlossaryStore(bot.app.store)
    say = Speaker()
    await app.ingest(say.say("!startmeeting"))
    first = say.say("The community network of Village Telco meets today.", sender=BEA,
                    sender_language="en")
    alone = say.say("Village Telco", sender=BEA, sender_language="en")
    await app.ingest(first)
    await app.ingest(alone)
    await translate(bot)

    texts, _ = await app.store.translations_for([first.event_id, alone.event_id])
    assert "red comunitaria" in texts[first.event_id]["es"]
    assert "Village Telco" in texts[first.event_id]["es"]
    assert texts[alone.event_id] == {"es": "Village Telco"}
    assert await hits.hits(first.event_id) == {"es": ["Village Telco", "community network"]}
    assert await origin(bot, first.event_id) == "machine"
    assert await origin(bot, alone.event_id) == "glossary"  # nothing of it was the machine's

    # A facilitator's term applies to the very next message; the answer is queued once.
    await app.ingest(say.say("!term add meeting = asamblea es", sender=ANA))
    assert any("asamblea" in row.body for row in await outbox(app, ROOM))
    later = say.say("The meeting of the community network", sender=BEA, sender_language="en")
    await app.ingest(later)
    await translate(bot)
    texts, _ = await app.store.translations_for([later.event_id])
    assert "asamblea" in texts[later.event_id]["es"], texts

    # An edit's translation keeps its own hits; a redaction takes them away.
    await app.ingest(say.edit(first.event_id, "Village Telco meets today.", sender=BEA))
    await translate(bot)
    assert await hits.hits(first.event_id) == {"es": ["Village Telco"]}
    await app.ingest(say.redact(first.event_id))
    assert await hits.hits(first.event_id) == {}
    assert await hits.hits(later.event_id) == {"es": ["community network", "meeting"]}


async def test_glossary_shows_the_room_terms_in_each_room_language(bot: OpenedBot) -> None:
    app = bot.app
    say = Speaker()
    await app.ingest(say.say("!term add <b>Sur</b>siendo", sender=ANA))
    await app.ingest(say.say("!glossary", sender=BEA))
    (answer,) = [row for row in await outbox(app, ROOM) if "Glossary: 3 terms" in row.body]
    body, html = answer.body, answer.content["formatted_body"]
    assert body.startswith("[en] Glossary: 3 terms.") and "\n\n[es] Glosario: 3 términos." in body
    assert "• <b>Sur</b>siendo (added in a room)" in body
    assert "<b>Sur</b>" not in html and "&lt;b&gt;Sur&lt;/b&gt;siendo" in html  # escaped
    assert "• community network → red comunitaria" in body
    assert "• red comunitaria → community network" in body
