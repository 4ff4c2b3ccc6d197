"""A whole prompted meeting in a real Matrix room, against a real Synapse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


async def _meeting_room(
    make_participant, make_bot, *, encrypted: bool = False, languages=("es", "en")
):
    alice = await make_participant("alice", display_name="Alice", encryption=encrypted)
    bob = await make_participant("bob", display_name="Bob", encryption=encrypted)
    bot = make_bot()
    room = await alice.create_room("LatAm", invite=[bob.user_id, bot.user_id], encrypted=encrypted)
    coordinator = await alice.create_room("Coordination", invite=[bot.user_id])
    await bob.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        coordinator={"room": coordinator, "language": "en"},
        regions=[
            {
                "id": "latam",
                "name": "Latin America",
                "room": room,
                "languages": list(languages),
                "timezone": "America/Bogota",
            }
        ],
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    # The room reads Spanish first; these two want the bot's answers in English.
    for person in (alice, bob):
        chosen = await person.send(room, "!lang en")
        await person.wait_for_notice(room, "Your language is now", after=chosen)
    return alice, bob, bot, room, coordinator


async def test_a_whole_meeting_from_start_to_minutes(make_participant, make_bot) -> None:
    alice, bob, bot, room, coordinator = await _meeting_room(make_participant, make_bot)

    start = await alice.send(room, "!startmeeting Regional meeting 1")
    await alice.wait_for_notice(room, "Meeting started", sender=bot.user_id, after=start)
    await alice.wait_for_notice(room, "At this moment, what can we do to work and learn together?")
    await alice.wait_for_notice(room, "¿qué podemos hacer para trabajar y aprender juntos?")

    await bob.send(room, "We could share our notes every week.")
    idea = await bob.send(room, "!idea a shared notebook")
    await bob.wait_for_notice(room, "Idea #2 recorded", after=idea)
    action = await bob.send(
        room, f"!action {alice.user_id} will open the notebook", mentions=[alice.user_id]
    )
    reply = await bob.wait_for_notice(room, "Action #3 recorded for", after=action)
    assert alice.user_id in reply.source["content"]["m.mentions"]["user_ids"]
    assert "matrix.to/#/" + alice.user_id in reply.source["content"]["formatted_body"]

    refused = await bob.send(room, "!agreed we use the notebook")
    await bob.wait_for_notice(room, "Only a facilitator or chair can use !agreed", after=refused)
    await alice.send(room, "!agreed we use the notebook")
    nxt = await alice.send(room, "!next")
    await alice.wait_for_notice(room, "how-we-decide", after=nxt)
    await bob.send(room, "nods", msgtype="m.emote")
    here = await bob.send(room, "!here")
    await bob.wait_for_notice(room, "is present", after=here)
    status = await bob.send(room, "!status")
    notice = await bob.wait_for_notice(room, "Regional meeting 1", after=status)
    assert "Prompt 2/3" in notice.body

    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    summary = await alice.wait_for_notice(coordinator, "Latin America", sender=bot.user_id)
    assert "we use the notebook" in summary.body
    await alice.wait_for(
        coordinator,
        lambda e: getattr(e, "source", {}).get("content", {}).get("msgtype") == "m.file",
    )

    await bot.settled()
    minutes = Path(bot.settings["data_dir"]) / "minutes"
    data = json.loads(next(minutes.glob("*.json")).read_text())
    assert data["region"] == "latam"
    assert data["started_at"].endswith("-05:00")
    kinds = [item["kind"] for item in data["items"]]
    assert kinds == ["prompt", "idea", "action", "decision", "prompt"]
    action_item = data["items"][2]
    assert action_item["assignees"] == [alice.user_id]
    bodies = [line["body"] for line in data["log"]]
    assert "We could share our notes every week." in bodies
    assert "nods" in bodies
    assert {p["user_id"] for p in data["participants"]} >= {alice.user_id, bob.user_id}
    assert sorted(minutes.glob("*.html")) and sorted(minutes.glob("*.md"))


async def test_commands_answer_clearly_when_wrong(make_participant, make_bot) -> None:
    alice, bob, _bot, room, _coordinator = await _meeting_room(make_participant, make_bot)
    outside = await bob.send(room, "!action nobody")
    await bob.wait_for_notice(room, "No meeting is running here", after=outside)
    unknown = await bob.send(room, "!frobnicate")
    await bob.wait_for_notice(room, "Unknown command !frobnicate", after=unknown)
    await alice.send(room, "!start")
    empty = await bob.send(room, "!action")
    await bob.wait_for_notice(room, "Usage: !action TEXT", after=empty)
    bad = await alice.send(room, "!strike twelve")
    await alice.wait_for_notice(room, "Usage: !strike N", after=bad)
    helped = await bob.send(room, "!help strike")
    await bob.wait_for_notice(room, "!strike N", after=helped)
