"""The homeserver is down for three minutes — longer than any back-off — while a timebox
runs out, translations are owed and a meeting's minutes are due to the coordinator."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
from bot_helpers import BotHarness
from components import require_component
from fault_helpers import BotProcess, answers_in, history, until_answering

from meetbot.demo.homeserver import Homeserver

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.slow]

OUTAGE_S = 180


def _notices(events, sender: str, text: str) -> list:
    return [
        e for e in events
        if getattr(e, "sender", None) == sender and text in (getattr(e, "body", "") or "")
        and (e.source["content"].get("m.relates_to") or {}).get("rel_type") != "m.replace"
    ]


async def test_three_minutes_without_a_homeserver_lose_nothing(make_participant, tmp_path):
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    hs = Homeserver(tmp_path / "synapse")
    await asyncio.to_thread(hs.start)
    harness = BotHarness(hs, tmp_path / "bot")
    harness.workdir.mkdir()
    bot = BotProcess(harness.config_path, harness.workdir / "bot.log")
    bot_id = harness.user_id
    try:
        alice = await make_participant("alice", homeserver=hs, display_name="Alice")
        cora = await make_participant("cora", homeserver=hs, display_name="Cora")
        andes = await alice.create_room("Andes", invite=[bot_id])
        sahel = await alice.create_room("Sahel", invite=[bot_id])
        coord = await cora.create_room("Coordination", invite=[bot_id])
        harness.configure(
            facilitators=[alice.user_id],
            regions=[{"id": "andes", "name": "Andes", "room": andes},
                     {"id": "sahel", "name": "Sahel", "room": sahel,
                      "languages": ["en", "es"]}],
            coordinator={"room": coord, "users": [cora.user_id]},
            translation={"backend": "apertium"},
            log_level="INFO",
        )
        bot.start()
        for room in (andes, sahel):
            await alice.wait_for_member(room, bot_id, timeout=60)
        await cora.wait_for_member(coord, bot_id, timeout=60)
        await until_answering(alice, andes, bot_id)
        for room in (andes, sahel):
            start = await alice.send(room, "!startmeeting")
            await alice.wait_for_notice(room, "Prompt 1/3", after=start, timeout=30)
        await alice.send(andes, "!agreed keep the radio archive open")
        timed = await alice.send(sahel, "!time 20s")
        await alice.wait_for_notice(sahel, "20s", after=timed)

        # Everything below is owed when the homeserver goes away.
        said = [await alice.send(sahel, f"We will share the seeds of the garden number {n}")
                for n in range(6)]
        await alice.send(andes, "!endmeeting")
        went_down = time.monotonic()
        await asyncio.to_thread(hs.stop)
        await asyncio.sleep(OUTAGE_S - (time.monotonic() - went_down))
        assert bot.alive(), "a running bot rides out an outage:\n" + bot.log_tail()
        await asyncio.to_thread(hs.start)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 180
        while loop.time() < deadline:
            room_events = await history(alice, sahel)
            coord_events = await history(cora, coord)
            if (
                _notices(room_events, bot_id, "⌛ Time is up")
                and all(answers_in(room_events, e, bot_id) for e in said)
                and _notices(coord_events, bot_id, "keep the radio archive open")
            ):
                break
            await asyncio.sleep(2)
        await asyncio.sleep(3)  # room for a duplicate to show itself
        room_events = await history(alice, sahel)
        coord_events = await history(cora, coord)
        assert len(_notices(room_events, bot_id, "⌛ Time is up")) == 1, bot.log_tail()
        for event_id in said:
            assert len(answers_in(room_events, event_id, bot_id)) == 1, "translated once"
        summaries = _notices(coord_events, bot_id, "keep the radio archive open")
        assert len(summaries) == 1, "the coordinator gets the summary once"
        assert any(getattr(e, "url", None) for e in coord_events if e.sender == bot_id), \
            "and the minutes file"
        assert bot.alive()
        stopped = time.monotonic()
        assert bot.stop(timeout=10) == 0
        assert time.monotonic() - stopped < 5
    finally:
        if bot.alive():
            bot.kill9()
        await asyncio.to_thread(hs.stop)
