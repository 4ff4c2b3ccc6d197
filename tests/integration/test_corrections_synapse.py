"""A person corrects the machine in a real room: an Element reply ``!fix`` to a translation
notice edits the notice in place, is answered once, and a restart answers it never again
(real Synapse, real Apertium)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from components import require_component
from nio import RoomMessageNotice
from test_client_shapes_synapse import element_reply

pytestmark = pytest.mark.integration

SENTENCE = "Compartimos nuestras notas cada semana."


def _relates(event: Any) -> dict[str, Any]:
    return event.source["content"].get("m.relates_to", {})


def _edits_of(participant: Any, room: str, event_id: str) -> list[Any]:
    return [e for e in participant.events(room) if _is_edit_of(e, event_id)]


def _is_edit_of(event: Any, event_id: str) -> bool:
    relates = _relates(event)
    return relates.get("rel_type") == "m.replace" and relates.get("event_id") == event_id


async def test_an_element_reply_fix_corrects_the_notice_in_place_once_across_a_restart(
    make_participant, make_bot
) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    alice = await make_participant("alice", display_name="Alice")
    bea = await make_participant("bea", display_name="Beatriz")
    claude = await make_participant("claude", display_name="Claude")
    bot = make_bot()
    room = await alice.create_room("Corrections", invite=[bea.user_id, claude.user_id,
                                                          bot.user_id])
    await bea.join(room)
    await claude.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "latam", "name": "Latin America", "room": room,
                  "languages": ["es", "en"], "timezone": "America/Bogota"}],
        translation={"backend": "apertium"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    chosen = await bea.send(room, "!lang es")
    await bea.wait_for_notice(room, "es", after=chosen)
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/")

    spanish = await bea.send(room, SENTENCE)
    notice = await claude.wait_for(
        room, lambda e: isinstance(e, RoomMessageNotice)
        and _relates(e).get("m.in_reply_to", {}).get("event_id") == spanish, timeout=40)
    assert notice.body.startswith("[en] ") and "notes" in notice.body.lower()

    fix = await claude.send_event(room, "m.room.message", element_reply(
        room, notice.event_id, bot.user_id, notice.body,
        "!fix We share our notes every week."))

    edit = await alice.wait_for(room, lambda e: _is_edit_of(e, notice.event_id), timeout=40)
    assert edit.source["content"]["m.new_content"]["body"] == (
        "[en] We share our notes every week. (corrected by Claude)")
    await claude.wait_for(room, lambda e: isinstance(e, RoomMessageNotice)
                          and _relates(e).get("m.in_reply_to", {}).get("event_id") == fix)

    await bot.settled()
    await bot.restart()
    after = await bea.send(room, "Gracias a todos.")
    await alice.wait_for(room, lambda e: isinstance(e, RoomMessageNotice)
                         and _relates(e).get("m.in_reply_to", {}).get("event_id") == after,
                         timeout=40)
    await bot.settled()

    assert len(claude.replies_to(room, fix)) == 1, "answered once, before and after restart"
    assert len(_edits_of(alice, room, notice.event_id)) == 1
    texts = await bot.app.store.translations_for([spanish])
    assert texts[0][spanish]["en"] == "We share our notes every week."
