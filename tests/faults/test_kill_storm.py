"""A busy meeting through a storm of kill -9: nothing lost, nothing twice, everyone answered.

The bot runs as a real process. A scripted meeting (messages in two languages, commands,
votes, edits, redactions, reactions, a timebox that runs out) is played by real clients while
the bot is killed with SIGKILL at 22 random moments and started again at once, so it dies
mid-sync, mid-transaction, mid-send and mid-start-up. Then what people sent is compared with
the minutes and with what the room saw.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from components import require_component
from fault_helpers import (
    BotProcess,
    command_answers,
    notices_containing,
    read_minutes,
    translations_of,
    until_answering,
    wait_for_file,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

EN = [
    "We can share the notes of the radio workshop",
    "The community garden needs more volunteers on Saturday",
    "Our network should write down how decisions are made",
    "I will ask the school if we can use the big room",
]
ES = [
    "Podemos compartir las notas del taller de radio",
    "El huerto comunitario necesita más voluntarios el sábado",
    "Nuestra red debería escribir cómo se toman las decisiones",
]


async def test_kill_9_storm_in_a_busy_meeting(make_participant, make_bot) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa")
    rng = random.Random(20261201)
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob", display_name="Bob")
    carla = await make_participant("carla", display_name="Carla")
    harness = make_bot()
    room = await alice.create_room(
        "Storm", invite=[bob.user_id, carla.user_id, harness.user_id]
    )
    await bob.join(room)
    await carla.join(room)
    harness.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "andes", "name": "Andes", "room": room, "languages": ["en", "es"],
                  "timezone": "America/Lima"}],
        translation={"backend": "apertium"},
        log_level="INFO",
    )
    bot_id = harness.user_id
    bot = BotProcess(harness.config_path, harness.workdir / "bot.log")
    bot.start()
    try:
        await alice.wait_for_member(room, bot_id, timeout=60)
        start = await alice.send(room, "!startmeeting Storm")
        await alice.wait_for_notice(room, "Prompt 1/3", after=start, timeout=60)
        proposal = await alice.send(room, "!propose Meet every two weeks")
        await alice.wait_for_notice(room, "Meet every two weeks", after=proposal, timeout=60)
        timebox = await alice.send(room, "!time 25s")
        await alice.wait_for_notice(room, "25s", after=timebox, timeout=60)

        messages: dict[str, str] = {}  # event id -> final text
        senders: dict[str, Any] = {}
        commands: list[str] = []  # command event ids that get a reply
        ideas: list[str] = []
        redacted: set[str] = set()
        edited: set[str] = set()
        people = [bob, carla]
        steps = 80
        kill_at = set(rng.sample(range(steps), 22))
        for step in range(steps):
            if step in kill_at:
                bot.kill9()
                bot.start()
            who = rng.choice(people)
            roll = rng.random()
            if roll < 0.55 or len(messages) < 5:
                text = f"{rng.choice(EN + ES)} ({step})"
                event_id = await who.send(room, text)
                messages[event_id] = text
                senders[event_id] = who
            elif roll < 0.70:
                text = f"idea from step {step}"
                commands.append(await who.send(room, f"!idea {text}"))
                ideas.append(text)
            elif roll < 0.75:
                commands.append(await alice.send(room, f"!agreed decision of step {step}"))
            elif roll < 0.82:
                vote = rng.choice(["agree", "abstain", f"object it is too often ({step})"])
                commands.append(await who.send(room, f"!vote {vote}"))
            elif roll < 0.89:
                target = rng.choice([e for e in messages if e not in redacted])
                new = f"{messages[target]} (edited at {step})"
                await senders[target].edit(room, target, new)
                messages[target] = new
                edited.add(target)
            elif roll < 0.94:
                candidates = [e for e in messages if e not in redacted and e not in edited]
                if candidates:
                    target = rng.choice(candidates)
                    await senders[target].redact(room, target)
                    redacted.add(target)
            else:
                target = rng.choice(list(messages))
                await who.react(room, target, "👍")
            await asyncio.sleep(rng.uniform(0.15, 0.55))

        # The storm is over: the bot comes back for good and catches up.
        await until_answering(alice, room, bot_id, timeout=180)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 180
        kept = [e for e in messages if e not in redacted]
        while loop.time() < deadline:
            if all(translations_of(alice, room, e, bot_id) for e in kept) and all(
                command_answers(alice, room, c, bot_id) for c in commands
            ):
                break
            await asyncio.sleep(0.5)
        end = await alice.send(room, "!endmeeting")
        await alice.wait_for_notice(room, "Meeting ended", after=end, timeout=120)
        await wait_for_file(Path(harness.settings["data_dir"]) / "minutes", "*.json")
        await asyncio.sleep(3)  # room for a duplicate to show itself
        assert bot.alive(), bot.log_tail()
        assert bot.starts == 23

        minutes = read_minutes(Path(harness.settings["data_dir"]))
        log = {line["event_id"]: line for line in minutes["log"]}
        missing = [e for e in kept if e not in log]
        assert not missing, f"lost {len(missing)} messages:\n{bot.log_tail()}"
        for event_id in kept:
            assert log[event_id]["body"] == messages[event_id]
        assert not [e for e in redacted if e in log], "redacted messages leave the record"
        ids = [line["event_id"] for line in minutes["log"]]
        assert len(ids) == len(set(ids)), "nothing is recorded twice"
        texts = [i["text"] for i in minutes["items"] if i["kind"] == "idea"]
        assert sorted(texts) == sorted(ideas), "every idea recorded, once"

        unanswered = [c for c in commands if len(command_answers(alice, room, c, bot_id)) != 1]
        assert not unanswered, f"{len(unanswered)} commands not answered exactly once"
        untranslated = [e for e in kept if len(translations_of(alice, room, e, bot_id)) != 1]
        assert not untranslated, f"{len(untranslated)} messages not translated exactly once"
        for event_id in redacted:
            assert len(translations_of(alice, room, event_id, bot_id)) <= 1
        time_up = notices_containing(alice, room, "⌛ Time is up", bot_id)
        assert len(time_up) == 1, "the timebox ends once, whatever the crashes"
    finally:
        if bot.alive():
            bot.stop()

