"""One room's trouble never delays another: the bot is kicked from one region's room in the
middle of a meeting while another region's meeting carries on."""

from __future__ import annotations

import asyncio
import statistics

import pytest
from fault_helpers import BotProcess, command_answers, notices_containing, until_answering

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def _answer_times(person, room: str, bot_id: str, label: str, n: int) -> list[float]:
    """Seconds from sending each of ``n`` commands to seeing the bot's answer."""
    loop = asyncio.get_running_loop()
    took = []
    for k in range(n):
        sent_at = loop.time()
        event_id = await person.send(room, f"!idea {label} {k}")
        await person.wait_for(
            room, lambda e, eid=event_id: bool(command_answers(person, room, eid, bot_id)),
            timeout=60,
        )
        took.append(loop.time() - sent_at)
    return took


async def test_a_room_the_bot_was_kicked_from_delays_no_other_room(
    make_participant, make_bot
) -> None:
    alice = await make_participant("alice", display_name="Alice")  # facilitator of both
    olga = await make_participant("olga", display_name="Olga")  # made the Sahel room
    cora = await make_participant("cora", display_name="Cora")  # the coordinator
    harness = make_bot()
    bot_id = harness.user_id
    andes = await alice.create_room("Andes", invite=[bot_id])
    sahel = await olga.create_room("Sahel", invite=[alice.user_id, bot_id])
    await alice.join(sahel)
    coord = await cora.create_room("Coordination", invite=[bot_id])
    harness.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "andes", "name": "Andes", "room": andes},
                 {"id": "sahel", "name": "Sahel", "room": sahel}],
        coordinator={"room": coord, "users": [cora.user_id]},
        log_level="INFO",
    )
    bot = BotProcess(harness.config_path, harness.workdir / "bot.log")
    bot.start()
    try:
        for person, room in ((alice, andes), (olga, sahel), (cora, coord)):
            await person.wait_for_member(room, bot_id, timeout=60)
        await until_answering(alice, andes, bot_id)
        for room in (andes, sahel):
            start = await alice.send(room, "!startmeeting")
            await alice.wait_for_notice(room, "Prompt 1/3", after=start, timeout=30)
        timed = await alice.send(sahel, "!time 3s")
        await alice.wait_for_notice(sahel, "3s", after=timed)

        before = await _answer_times(alice, andes, bot_id, "before", 5)
        # Olga removes the bot from her room; the bot still owes that room a notice.
        kicked = await olga.client.room_kick(sahel, bot_id, reason="testing")
        assert not hasattr(kicked, "status_code"), kicked
        await olga.send(sahel, "the bot cannot see this")
        after = await _answer_times(alice, andes, bot_id, "after", 10)

        told = await cora.wait_for_notice(coord, "could not deliver a message to Sahel",
                                          timeout=90)
        assert "not in that room" in told.body
        more = await _answer_times(alice, andes, bot_id, "later", 5)
        probe = await cora.send(coord, "!status")
        status = await cora.wait_for_notice(coord, "I cannot reach", after=probe, timeout=30)
        assert "Sahel" in status.body
        await asyncio.sleep(2)
        assert len(notices_containing(cora, coord, "could not deliver", bot_id)) == 1, \
            "told once, not once per lost message"

        baseline = statistics.median(before)
        print(f"answer times in Andes: before {before}, after the kick {after}, later {more}")
        # Before rooms were kept apart, Andes waited 30-65 s behind Sahel's retries.
        assert max(after + more) < max(5.0, 10 * baseline), (after, more, baseline)
        assert bot.alive(), bot.log_tail()
    finally:
        if bot.alive():
            bot.stop()
