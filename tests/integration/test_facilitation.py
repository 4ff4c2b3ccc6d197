"""Facilitation on a real Synapse: a meeting that runs itself, a round, a consent round."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def _fast_agenda(folder: Path) -> Path:
    """The default agenda plus ``fast``: two prompts of 2 s that move on by themselves."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "default.yaml").write_text((PROMPTS / "default.yaml").read_text())
    (folder / "fast.yaml").write_text(yaml.safe_dump({
        "id": "fast",
        "on_timebox_end": "advance",
        "prompts": [
            {"id": "hopes", "timebox": "2s", "text": {"en": "What do you hope for?"}},
            {"id": "fears", "timebox": "2s", "text": {"en": "What do you fear?"}},
        ],
    }))
    return folder


def _local(delta: timedelta) -> str:
    """A start time ``delta`` from now, as the config writes it (UTC region, no offset)."""
    return (datetime.now(timezone.utc) + delta).replace(tzinfo=None, microsecond=0).isoformat()


async def _room(make_participant, make_bot, tmp_path: Path, **region):
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob", display_name="Bob")
    carol = await make_participant("carol", display_name="Carol")
    bot = make_bot()
    room = await alice.create_room("Region", invite=[bob.user_id, carol.user_id, bot.user_id])
    coordinator = await alice.create_room("Coordination", invite=[bot.user_id])
    await bob.join(room)
    await carol.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        prompts_dir=str(_fast_agenda(tmp_path / "prompts")),
        coordinator={"room": coordinator},
        regions=[{"id": "latam", "name": "Latin America", "room": room, "languages": ["en"],
                  "timezone": "UTC", **region}],
    )
    return alice, bob, carol, bot, room, coordinator


async def test_a_scheduled_meeting_reminds_opens_advances_and_closes_by_itself(
    make_participant, make_bot, tmp_path
) -> None:
    meeting = {"number": 1, "starts": _local(timedelta(seconds=8)), "duration": "8s",
               "agenda": "fast", "title": "Rehearsal"}
    alice, bob, _carol, bot, room, _coord = await _room(
        make_participant, make_bot, tmp_path, agenda="fast", meetings=[meeting],
        reminders=["4s"],
    )
    await bot.start()
    asked = await bob.send(room, "!schedule")
    listing = await bob.wait_for_notice(room, "Upcoming meetings", after=asked)
    assert "Meeting 1:" in listing.body and "Rehearsal" in listing.body

    await alice.wait_for_notice(room, "Reminder: Rehearsal starts", sender=bot.user_id)
    started = (await alice.wait_for_notice(room, "Meeting started: Rehearsal", timeout=30)).event_id
    await alice.wait_for_notice(room, "What do you hope for?", after=started)
    await bob.send(room, "I hope we keep meeting.")
    await alice.wait_for_notice(room, "left for this part of the meeting", after=started)
    moved = (await alice.wait_for_notice(room, "moving on to the next", after=started)).event_id
    await alice.wait_for_notice(room, "What do you fear?", after=moved)
    await alice.wait_for_notice(room, "This is the scheduled end of the meeting", after=moved)
    await alice.wait_for_notice(room, "Meeting ended", after=moved)
    await bot.settled()

    rows = await bot.app.store.db.conn.execute_fetchall(
        "SELECT status, meeting_id FROM scheduled_meetings")
    assert [(r[0], bool(r[1])) for r in rows] == [("held", True)]
    minutes = json.loads(next((Path(bot.settings["data_dir"]) / "minutes").glob("*.json"))
                         .read_text())
    assert [i["prompt_id"] for i in minutes["items"] if i["kind"] == "prompt"] == ["hopes",
                                                                                   "fears"]

    # A restart neither reminds again nor opens the meeting a second time.
    await bot.restart()
    probe = await bob.send(room, "!schedule")
    await bob.wait_for_notice(room, "No meetings are scheduled", after=probe)
    await bot.settled()
    notices = [n.body for n in alice.notices(room, sender=bot.user_id)]
    assert sum("Meeting started" in body for body in notices) == 1
    assert sum("Reminder" in body for body in notices) == 1


async def test_down_at_the_start_opens_late_within_the_grace_or_is_missed(
    make_participant, make_bot, tmp_path
) -> None:
    late = {"number": 1, "starts": _local(-timedelta(minutes=2)), "duration": "1h"}
    missed = {"number": 2, "starts": _local(-timedelta(hours=2)), "duration": "1h"}
    alice, _bob, _carol, bot, room, coordinator = await _room(
        make_participant, make_bot, tmp_path, meetings=[late, missed],
    )
    bot.configure(**{**bot.settings, "late_start_grace": "10m"})
    await bot.start()
    await alice.wait_for_notice(room, "this meeting starts 2m", sender=bot.user_id)
    await alice.wait_for_notice(room, "Meeting started", sender=bot.user_id)
    told = await alice.wait_for_notice(coordinator, "Missed meeting", sender=bot.user_id)
    assert "Latin America" in told.body and "meeting 2" in told.body
    await bot.settled()
    rows = dict(await bot.app.store.db.conn.execute_fetchall(
        "SELECT number, status FROM scheduled_meetings"))
    assert rows == {1: "held", 2: "missed"}


async def test_a_round_and_a_consent_round_survive_restarts(
    make_participant, make_bot, tmp_path
) -> None:
    alice, bob, carol, bot, room, _coord = await _room(make_participant, make_bot, tmp_path)
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    start = await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Meeting started", after=start)
    await bob.send(room, "I spoke first.")
    here = await carol.send(room, "!here")
    await carol.wait_for_notice(room, "is present", after=here)

    hand = await bob.send(room, "!hand")
    await bob.wait_for_notice(room, "number 1 in the queue", after=hand)
    round_ = await alice.send(room, "!round")
    await alice.wait_for_notice(room, "A round: Alice, Carol, Bob", after=round_)
    await alice.wait_for_notice(room, "Alice, you have the floor", after=round_)
    await bot.settled()
    await bot.restart()  # mid-round
    done = await alice.send(room, "!done")
    await carol.wait_for_notice(room, "Carol, you have the floor", after=done)
    await carol.leave(room)  # she drops out: Bob is next
    await bob.wait_for_notice(room, "Bob, you have the floor", after=done)
    finished = await bob.send(room, "!done")
    await bob.wait_for_notice(room, "The round is complete", after=finished)

    await alice.invite(room, carol.user_id)
    await carol.join(room)
    propose = await alice.send(room, "!propose Meet every two weeks")
    posted = await alice.wait_for_notice(room, "Proposal #1", after=propose)
    await bob.react(room, posted.event_id, "✅")
    objection = await carol.react(room, posted.event_id, "❌")
    await carol.wait_for_notice(room, "please give the reason", after=objection)
    await bot.settled()
    await bot.restart()  # mid-proposal
    block = await bob.react(room, posted.event_id, "🛑")  # Bob changes his mind...
    await bob.redact(room, block)  # ...and takes it back: his ✅ stands again
    why = await carol.send(room, "!vote object Two weeks is too often")
    await carol.wait_for_notice(room, "is recorded", after=why)
    close = await alice.send(room, "!close")
    result = await alice.wait_for_notice(room, "Proposal #1 rejected", after=close)
    assert "✅ 1 · 🤷 0 · ❌ 1 · 🛑 0" in result.body
    assert "Two weeks is too often" in result.body

    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()
    data = json.loads(next((Path(bot.settings["data_dir"]) / "minutes").glob("*.json"))
                      .read_text())
    (record,) = data["consent_rounds"]
    assert record["result"] == "rejected" and record["tally"]["agree"] == 1
    assert any(i["kind"] == "decision" and "rejected" in i["text"] for i in data["items"])
