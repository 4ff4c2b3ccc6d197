"""Nothing lost, nothing answered twice: restarts, kill -9 and encrypted rooms."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


async def _setup(make_participant, make_bot, *, encrypted: bool = False):
    alice = await make_participant("alice", display_name="Alice", encryption=encrypted)
    bob = await make_participant("bob", display_name="Bob", encryption=encrypted)
    bot = make_bot()
    room = await alice.create_room("Room", invite=[bob.user_id, bot.user_id], encrypted=encrypted)
    await bob.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "africa", "name": "Africa", "room": room, "languages": ["en", "fr"],
                  "timezone": "Africa/Lagos"}],
    )
    return alice, bob, bot, room


def _minutes(bot) -> dict:
    folder = Path(bot.settings["data_dir"]) / "minutes"
    return json.loads(next(folder.glob("*.json")).read_text())


async def _miss_forty_messages_and_a_command(make_participant, make_bot, **settings):
    alice, bob, bot, room = await _setup(make_participant, make_bot)
    if settings:
        bot.configure(**{**bot.settings, **settings})
    await bot.start()
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    first = await bob.send(room, "!info before the restart")
    await bob.wait_for_notice(room, "Info #2 recorded", after=first)
    await bot.settled()
    await bot.stop()

    # While the bot is away: more than one sync's worth of messages, and a command.
    said = [f"message {n} while the bot was down" for n in range(40)]
    for text in said:
        await bob.send(room, text)
    missed_command = await bob.send(room, "!idea recorded while down")

    await bot.start()
    after = await bob.send(room, "!items")
    listing = await bob.wait_for_notice(room, "Items", after=after)
    assert "recorded while down" in listing.body
    caught_up = await alice.wait_for_notice(room, "41 messages came in meanwhile")
    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()

    data = _minutes(bot)
    bodies = [line["body"] for line in data["log"]]
    for text in said:
        assert bodies.count(text) == 1
    assert [n for n in alice.notices(room) if "Meeting started" in n.body].__len__() == 1
    assert len(bob.replies_to(room, first)) == 1
    assert len([n for n in alice.notices(room) if "came in meanwhile" in n.body]) == 1
    return bob, room, missed_command, caught_up


async def test_a_command_missed_while_down_is_answered_once_on_return(make_participant, make_bot):
    bob, room, missed, caught_up = await _miss_forty_messages_and_a_command(
        make_participant, make_bot
    )
    assert len(bob.replies_to(room, missed)) == 1, "inside catch_up_window: answered, once"
    assert "older than" not in caught_up.body


async def test_what_is_older_than_the_catch_up_window_is_recorded_not_answered(
    make_participant, make_bot
):
    bob, room, missed, caught_up = await _miss_forty_messages_and_a_command(
        make_participant, make_bot, catch_up_window="0s"
    )
    assert bob.replies_to(room, missed) == [], "older than the window: recorded, not answered"
    assert "41 of them were older than" in caught_up.body


async def test_encrypted_room_works_across_a_restart(make_participant, make_bot):
    alice, bob, bot, room = await _setup(make_participant, make_bot, encrypted=True)
    await bot.start()
    start = await alice.send(room, "!startmeeting Encrypted")
    started = await alice.wait_for_notice(room, "Meeting started", after=start, timeout=40)
    assert started.decrypted, "the bot's notice must be encrypted in an encrypted room"
    await bob.send(room, "!idea secret idea")
    await bob.wait_for_notice(room, "Idea #2 recorded", timeout=40)
    await bot.settled()
    await bot.restart()
    idea = await bob.send(room, "!idea after restart")
    await bob.wait_for_notice(room, "Idea #3 recorded", after=idea, timeout=40)
    await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", timeout=40)
    await bot.settled()
    texts = [item["text"] for item in _minutes(bot)["items"]]
    assert "secret idea" in texts and "after restart" in texts
    device_file = json.loads((Path(bot.settings["data_dir"]) / "session.json").read_text())
    assert device_file["device_id"]


async def _until_answering(participant, room: str, timeout: float = 60) -> None:
    """Probe with !status until the (re)started bot answers one (earlier ones are history)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        probe = await participant.send(room, "!status")
        for _ in range(20):
            if participant.replies_to(room, probe):
                return
            await asyncio.sleep(0.1)
    raise TimeoutError("the bot never answered after its restart")


def _run_bot(bot) -> subprocess.Popen[bytes]:
    log = open(bot.workdir / "bot.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "meetbot", "run", "--config", str(bot.config_path)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


async def test_kill_9_mid_meeting_loses_nothing_and_answers_once(make_participant, make_bot):
    alice, bob, bot, room = await _setup(make_participant, make_bot)
    proc = _run_bot(bot)
    try:
        await alice.wait_for_member(room, bot.user_id, timeout=60)
        start = await alice.send(room, "!startmeeting")
        await alice.wait_for_notice(room, "Prompt 1/3", after=start, timeout=60)
        decided = await alice.send(room, "!agreed keep the record")
        await alice.wait_for_notice(room, "Decision #2 recorded", after=decided, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for n in range(15):
            await bob.send(room, f"said during the crash {n}")
        proc = _run_bot(bot)
        await _until_answering(alice, room)
        late = await alice.send(room, "!agreed after the crash")
        await alice.wait_for_notice(room, "Decision #3 recorded", after=late, timeout=60)
        end = await alice.send(room, "!endmeeting")
        await alice.wait_for_notice(room, "Meeting ended", after=end, timeout=60)
        await alice.wait_for_notice(room, "decisions", sender=bot.user_id, timeout=60)
        folder = Path(bot.settings["data_dir"]) / "minutes"
        for _ in range(300):
            if list(folder.glob("*.json")):
                break
            await asyncio.sleep(0.1)
        data = _minutes(bot)
        bodies = [line["body"] for line in data["log"]]
        assert all(bodies.count(f"said during the crash {n}") == 1 for n in range(15))
        assert [i["text"] for i in data["items"] if i["kind"] == "decision"] == [
            "keep the record", "after the crash",
        ]
        assert len(alice.replies_to(room, decided)) == 1
        assert len(alice.replies_to(room, late)) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
