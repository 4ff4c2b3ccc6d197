"""A homeserver outage mid-meeting: what the bot had to say waits, nothing is lost."""

from __future__ import annotations

import asyncio

import pytest
from bot_helpers import BotHarness

from meetbot.demo.homeserver import Homeserver

pytestmark = pytest.mark.integration


async def test_a_homeserver_outage_delays_the_bot_but_loses_nothing(
    make_participant, tmp_path
) -> None:
    hs = Homeserver(tmp_path / "synapse")
    await asyncio.to_thread(hs.start)
    bot = BotHarness(hs, tmp_path / "bot")
    bot.workdir.mkdir()
    try:
        alice = await make_participant("alice", homeserver=hs)
        room = await alice.create_room("Room", invite=[bot.user_id])
        bot.configure(facilitators=[alice.user_id],
                      regions=[{"id": "x", "name": "X", "room": room}])
        await bot.start()
        await alice.wait_for_member(room, bot.user_id)
        await alice.send(room, "!startmeeting")
        await alice.wait_for_notice(room, "Prompt 1/3")
        timed = await alice.send(room, "!time 3s")
        await alice.wait_for_notice(room, "3s for this part of the meeting", after=timed)

        # The homeserver goes away while the timebox runs out: the bot's warning and its
        # "time is up" cannot be sent, and wait in the outbox.
        await asyncio.to_thread(hs.stop)
        await asyncio.sleep(4)
        pending = await bot.app.store.pending_outbox()
        assert pending, "what the bot had to say is kept while the homeserver is down"
        await asyncio.to_thread(hs.start)

        await alice.wait_for_notice(room, "Time is up for this part of the meeting", timeout=90)
        idea = await alice.send(room, "!idea after the outage")
        await alice.wait_for_notice(room, "Idea #2 recorded", after=idea, timeout=60)
        await bot.settled(timeout=60)
        ups = [n for n in alice.notices(room) if "Time is up" in n.body]
        assert len(ups) == 1, "sent once, not once per retry"
    finally:
        await bot.stop()
        await asyncio.to_thread(hs.stop)
