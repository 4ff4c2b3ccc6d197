"""Proposals in every language on a real Synapse, translated by real Apertium.

Alice facilitates in Spanish a room that reads Spanish, French and English. She proposes to
meet every week at the school; the notice is edited to show the proposal in French and
English, marked as machine translation. Claude agrees by reaction, Beatriz objects with a
reason in Spanish. Alice edits her proposal to every two weeks: the notice is translated
again. Alice then agrees herself and closes; the outcome shows Beatriz's reason in every
language and flags Claude's and Beatriz's responses as given before the edit, and so do the
minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from components import require_component

pytestmark = pytest.mark.integration


async def test_propose_vote_with_a_reason_edit_and_the_outcome_flags_earlier_votes(
    make_participant, make_bot
) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa apertium-fr-es")
    alice = await make_participant("alice", display_name="Alice")
    bea = await make_participant("bea", display_name="Beatriz")
    claude = await make_participant("claude", display_name="Claude")
    bot = make_bot()
    room = await alice.create_room("Trilingual", invite=[bea.user_id, claude.user_id, bot.user_id])
    await bea.join(room)
    await claude.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "latam", "name": "Latin America", "room": room,
                  "languages": ["es", "fr", "en"], "timezone": "UTC"}],
        translation={"backend": "apertium"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    for person in (alice, bea):
        chosen = await person.send(room, "!lang es")
        await person.wait_for_notice(room, "(es)", after=chosen)
    start = await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Meeting started", after=start)
    here = await claude.send(room, "!here")
    await claude.wait_for_notice(room, "Claude", after=here)

    propose = await alice.send(room, "!propose Nos reunimos cada semana en la escuela.")
    posted = await alice.wait_for_notice(room, "Proposal #1", after=propose)
    translated = await alice.wait_for_notice(room, "(machine translation)", after=propose)
    assert translated.source["content"]["m.relates_to"] == {
        "rel_type": "m.replace", "event_id": posted.event_id}
    new = translated.source["content"]["m.new_content"]["body"]
    assert "(traduction automatique)" in new and "week" in new.split("[en]")[1].lower()

    agreed = await claude.react(room, posted.event_id, "✅")
    why = await bea.send(room, "!vote object La escuela está lejos.")
    await bea.wait_for_notice(room, "#1", after=why)

    await alice.edit(room, propose, "!propose Nos reunimos cada dos semanas en la escuela.")
    retranslated = await alice.wait_for_notice(room, "Edited by its author", after=why)
    assert retranslated.source["content"]["m.relates_to"]["event_id"] == posted.event_id
    english = retranslated.source["content"]["m.new_content"]["body"].split("[en]")[1]
    assert "two weeks" in english.lower() and "(machine translation)" in english

    mine = await alice.send(room, "!vote agree")
    await alice.wait_for_notice(room, "#1", after=mine)
    close = await alice.send(room, "!close")
    result = await alice.wait_for_notice(room, "Voted before the edit", after=close)
    flagged = result.body.split("[en]")[1].split("Voted before the edit")[1]
    assert "Beatriz" in flagged and "Claude" in flagged and "Alice" not in flagged
    outcome = await alice.wait_for_notice(room, "(machine translation)", after=close)
    assert outcome.source["content"]["m.relates_to"]["event_id"] == result.event_id
    new = outcome.source["content"]["m.new_content"]["body"]
    assert "(traduction automatique)" in new, new
    (reason_line,) = [line for line in new.split("[en]")[1].splitlines()
                      if line.startswith("❌ Beatriz:")]
    assert "school" in reason_line.lower() and "(machine translation)" in reason_line

    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()
    data = json.loads(next((Path(bot.settings["data_dir"]) / "minutes").glob("*.json"))
                      .read_text())
    (record,) = data["consent_rounds"]
    assert record["earlier_texts"] == ["Nos reunimos cada semana en la escuela."]
    before = {v["display_name"]: v["before_edit"] for v in record["votes"]}
    assert before == {"Claude": True, "Beatriz": True, "Alice": False}
    (reason,) = [v for v in record["votes"] if v["reason"]]
    assert "school" in reason["translations"]["en"].lower() and reason["language"] == "es"
    assert "week" in record["translations"]["en"].lower()
    assert agreed  # Claude's reaction counted as his vote
