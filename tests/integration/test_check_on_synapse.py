"""``!check`` on a real Synapse with real Apertium: Beatriz writes English in a Spanish and
English room, replies to her own message with ``!check`` as Element sends a reply (the quote
in the body and in ``<mx-reply>``), and reads in a direct chat how it comes out in Spanish and
back. Nothing is said in the room; someone else's message is refused; ``!check auto`` sends
only the messages that read poorly."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from components import require_component
from matrix_helpers import element_reply

from meetbot.storage.checks_store import ChecksStore

pytestmark = pytest.mark.integration

IDIOMS = "It's raining cats and dogs, so let's table it and touch base offline."
CLEAR = "I propose a workshop each month to learn together."
SLANG = "Yo dawg, gonna hafta circle back on that ngl."


async def _checked(bot, event_id: str, timeout: float = 60) -> None:
    store = ChecksStore(bot.app.store.db)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await store.checks_of(event_id):
        assert loop.time() < deadline, f"{event_id} was never checked"
        await asyncio.sleep(0.1)


async def test_check_answers_the_author_in_a_direct_chat(make_participant, make_bot) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    alice = await make_participant("alice", display_name="Alice")
    bea = await make_participant("bea", display_name="Beatriz")
    bot = make_bot()
    room = await alice.create_room("Latin America", invite=[bea.user_id, bot.user_id])
    await bea.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "latam", "name": "Latin America", "room": room,
                  "languages": ["es", "en"], "timezone": "America/Bogota"}],
        translation={"backend": "apertium"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    chosen = await bea.send(room, "!lang en")
    await bea.wait_for_notice(room, "Your language is now", after=chosen)
    start = await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3", after=start)

    mine = await bea.send(room, IDIOMS)
    hers = await alice.send(room, "Propongo un taller cada mes para aprender juntos.")
    ask = await bea.send_event(room, "m.room.message",
                               element_reply(room, mine, bea.user_id, IDIOMS, "!check"))
    dm = await bea.direct_chat(known={room})
    await bea.join(dm)
    answer = await bea.wait_for_notice(dm, "How your message reads", sender=bot.user_id,
                                       timeout=60)
    assert "Está lloviendo gatos y perros" in answer.body
    assert "↩ back: It is raining cats and dogs" in answer.body
    assert "say it more simply, or add your own translation with !fix" in answer.body

    refused = await bea.send(room, "!check", reply_to=hers)
    refusal = await bea.wait_for_notice(room, "only check your own messages", after=refused)
    assert refusal.sender == bot.user_id
    # The check itself was answered in the direct chat only.
    assert bea.replies_to(room, ask) == []

    auto = await bea.send(room, "!check auto")
    await bea.wait_for_notice(room, "checks every message you write", after=auto)
    clear = await bea.send(room, CLEAR)
    await bea.send(room, SLANG)
    told = await bea.wait_for_notice(dm, "circle", sender=bot.user_id, timeout=60)
    assert "Some of it may read poorly in es" in told.body
    await _checked(bot, clear)  # checked, scored high, not told
    await bot.settled()
    bodies = [n.body for n in bea.notices(dm, sender=bot.user_id)]
    assert len(bodies) == 2 and not any("workshop" in b for b in bodies)
    assert bea.replies_to(room, ask) == []
