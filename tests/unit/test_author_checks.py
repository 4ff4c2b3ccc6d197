"""``!check`` with the real Apertium back-end, over the production app and a real database.

Bea writes English in a Spanish and English room. She asks how her messages read in Spanish:
the bot translates each into Spanish and back with Apertium, scores the round trip with chrF
and tells her by direct message (here the direct chat is a room id the test hands the shell,
as the Matrix shell's opener would; the real one is tested against Synapse in
tests/integration/test_check_on_synapse.py).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from components import require_component
from shell_helpers import ANA, BEA, ROOM, Speaker, bodies, config_file, open_bound_bot, outbox

from meetbot.research import consent
from meetbot.runtime.features import OpenedBot
from meetbot.storage.checks_store import ChecksStore
from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.checks import chrf
from meetbot.translation.service import TranslationService

DM = "!dm-bea:example.org"
CLEAR = "I propose a workshop each month to learn together."
IDIOMS = "It's raining cats and dogs, so let's table it and touch base offline."


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    how = "apt-get install apertium apertium-eng-spa"
    require_component("apertium", shutil.which("apertium") is not None, how)
    translator = ApertiumTranslator()
    require_component("apertium's en-es data", {("en", "es"), ("es", "en")} <= translator.pairs(),
                      how)
    return translator


@pytest.fixture
async def bot(tmp_path: Path, apertium: ApertiumTranslator) -> AsyncIterator[OpenedBot]:
    config = config_file(tmp_path, languages=("es", "en"), translation={"backend": "apertium"})
    opened = await open_bound_bot(config)
    yield opened
    await opened.translation.service.close()
    await opened.app.store.db.close()


async def open_dm(user_id: str) -> str | None:
    assert user_id == BEA
    return DM


async def run_checks(opened: OpenedBot) -> None:
    assert opened.checks is not None
    handle = opened.checks.task_handler(open_dm)
    for task in await opened.app.store.pending_tasks(["check"]):
        await handle(task)


async def test_a_clear_sentence_comes_back_closer_than_idioms(
    apertium: ApertiumTranslator,
) -> None:
    service = TranslationService(apertium)
    try:
        scores = {}
        for text in (CLEAR, IDIOMS):
            spanish = (await service.translate(text, "en", ["es"]))["es"]
            back = (await service.translate(spanish, "es", ["en"]))["en"]
            scores[text] = chrf(back, text)
    finally:
        await service.close()
    assert scores[CLEAR] > 90 > 70 > scores[IDIOMS]
    assert chrf(CLEAR, CLEAR) == 100.0


async def test_check_answers_the_author_by_direct_message_only(bot: OpenedBot) -> None:
    app, say = bot.app, Speaker()
    await app.ingest(say.say("!startmeeting"))
    mine = say.say(IDIOMS, sender=BEA, sender_language="en")
    await app.ingest(mine)
    await app.ingest(say.say("!check", sender=BEA, sender_language="en", reply_to=mine.event_id))
    in_room_before = await bodies(app, ROOM)
    await run_checks(bot)
    [dm] = await outbox(app, DM)
    assert "How your message reads in the room's other languages" in dm.body
    assert "Está lloviendo gatos y perros" in dm.body  # Apertium's Spanish
    assert "↩ back: It is raining cats and dogs" in dm.body
    assert "say it more simply, or add your own translation with !fix" in dm.body
    assert await bodies(app, ROOM) == in_room_before  # nothing said in the room
    [row] = await ChecksStore(app.store.db).checks_of(mine.event_id)
    assert (row.user_id, row.lang, row.source_lang) == (BEA, "es", "en")
    assert 0 < row.score < 70
    # Asked again (the same !check event after a restart): handled once, answered once.
    await app.ingest(say.say("!check", sender=BEA, sender_language="en",
                             reply_to=mine.event_id))
    await run_checks(bot)
    assert len(await outbox(app, DM)) == 2  # a second !check is a new question
    await run_checks(bot)
    assert len(await outbox(app, DM)) == 2


async def test_check_auto_tells_only_of_low_scores(bot: OpenedBot) -> None:
    app, say = bot.app, Speaker()
    await app.ingest(say.say("!check auto", sender=BEA))
    assert await ChecksStore(app.store.db).mode(BEA) == "auto"
    await app.ingest(say.say("!startmeeting"))
    clear = say.say(CLEAR, sender=BEA, sender_language="en")
    idioms = say.say(IDIOMS, sender=BEA, sender_language="en")
    other = say.say("Propongo un taller.", sender=ANA, sender_language="es")
    for event in (clear, idioms, other):
        await app.ingest(event)
    await run_checks(bot)
    [dm] = await outbox(app, DM)
    assert "raining cats and dogs" in dm.body and "workshop" not in dm.body
    store = ChecksStore(app.store.db)
    assert (await store.checks_of(clear.event_id))[0].score > 90  # kept, not told
    assert await store.checks_of(other.event_id) == []  # Ana did not ask
    await app.ingest(say.say("!check off", sender=BEA))
    await app.ingest(say.say("Teh thingz we gotta do iz liek totally sus.", sender=BEA,
                             sender_language="en"))
    assert await app.store.pending_tasks(["check"]) == []


async def test_a_withdrawal_removes_the_checks_and_the_choice(bot: OpenedBot) -> None:
    app, say = bot.app, Speaker()
    await app.ingest(say.say("!check auto", sender=BEA))
    await app.ingest(say.say("!startmeeting"))
    await app.ingest(say.say(IDIOMS, sender=BEA, sender_language="en"))
    await run_checks(bot)
    store = ChecksStore(app.store.db)
    assert await store.count_of(BEA) == (1, 1)
    await consent.withdraw(app, BEA, datetime.now(timezone.utc))
    assert await store.count_of(BEA) == (0, 0)


async def test_a_redacted_message_loses_its_checks(bot: OpenedBot) -> None:
    app, say = bot.app, Speaker()
    await app.ingest(say.say("!startmeeting"))
    mine = say.say(CLEAR, sender=BEA, sender_language="en")
    await app.ingest(mine)
    await app.ingest(say.say("!check", sender=BEA, reply_to=mine.event_id))
    await run_checks(bot)
    store = ChecksStore(app.store.db)
    assert len(await store.checks_of(mine.event_id)) == 1
    await app.ingest(say.redact(mine.event_id, sender=BEA))
    assert await store.checks_of(mine.event_id) == []


async def test_the_report_counts_what_apertium_translated_and_the_round_trips(
    bot: OpenedBot,
) -> None:
    """Part 5 with real output: live translation and !check through Apertium, then the
    report's translation section over the meeting."""
    from meetbot.research.outputs import build_full_report
    from meetbot.research.report_render import render_report_markdown

    app, say = bot.app, Speaker()
    await app.ingest(say.say("!startmeeting"))
    mine = say.say(IDIOMS, sender=BEA, sender_language="en")
    for event in (mine, say.say(CLEAR, sender=BEA, sender_language="en"),
                  say.say("Propongo un taller cada mes.", sender=ANA, sender_language="es")):
        await app.ingest(event)
    await app.ingest(say.say("!check", sender=BEA, sender_language="en",
                             reply_to=mine.event_id))
    await bot.translation.process(await app.store.pending_tasks(["translate"]))
    await run_checks(bot)
    await app.ingest(say.say("!endmeeting"))
    report = await build_full_report(app)
    [region] = report["translation"]
    pairs = {(p["source"], p["target"]): p for p in region["pairs"]}
    assert pairs["en", "es"]["translated"] == 2 and pairs["en", "es"]["checks"] == 1
    assert pairs["en", "es"]["mean_score"] < 70
    assert pairs["es", "en"]["translated"] == 1 and pairs["es", "en"]["mean_score"] is None
    text = render_report_markdown(report)
    assert "| Latin America | English → Spanish | 2 | 0 |" in text
    assert "| Latin America | Spanish → English | 1 | 0 | not checked | 0 |" in text


async def test_check_auto_holds_from_the_next_message_of_a_batch_until_withdrawn(
    bot: OpenedBot,
) -> None:
    """The shell remembers who may have ``!check auto`` on (the database decides for them):
    a choice made in a batch counts for the messages after it in the same transaction, and
    after a withdrawal (which takes the choice along) nothing is checked any more."""
    app, say = bot.app, Speaker()
    await app.ingest_many([say.say("!startmeeting"), say.say(CLEAR, sender=ANA),
                           say.say("!check auto", sender=BEA), say.say(CLEAR, sender=BEA)])
    [task] = await app.store.pending_tasks(["check"])
    assert task.payload["author"] == BEA
    await consent.withdraw(app, BEA, datetime.now(timezone.utc))
    await app.ingest_many([say.say(IDIOMS, sender=BEA), say.say(IDIOMS, sender=ANA)])
    assert await app.store.pending_tasks(["check"]) == []
