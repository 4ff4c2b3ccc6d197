"""Actions followed up on a real Synapse: two meetings of Latin America in a row, the
actions of the first carried over into the second, closed in the room and by direct message,
their owners reminded before the second, the history in the minutes and the report, and a
withdrawn owner gone from all of it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _local(delta: timedelta) -> str:
    """A start time ``delta`` from now, as the config writes it (UTC region, no offset)."""
    return (datetime.now(timezone.utc) + delta).replace(tzinfo=None, microsecond=0).isoformat()


def _minutes(bot) -> list[dict]:
    folder = Path(bot.settings["data_dir"]) / "minutes"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


async def test_actions_carry_over_close_remind_and_leave_with_a_withdrawn_owner(
    make_participant, make_bot
) -> None:
    alice = await make_participant("alice", display_name="Alice")  # the facilitator
    bob = await make_participant("bob", display_name="Bob")
    carol = await make_participant("carol", display_name="Carol")
    bot = make_bot()
    room = await alice.create_room("Latin America", invite=[bob.user_id, carol.user_id,
                                                            bot.user_id])
    coordination = await alice.create_room("Coordination", invite=[bot.user_id])
    await bob.join(room)
    await carol.join(room)
    region = {"id": "latam", "name": "Latin America", "room": room, "languages": ["en"],
              "timezone": "UTC"}
    settings = {"facilitators": [alice.user_id], "coordinator": {"room": coordination},
                "regions": [region]}
    bot.configure(**settings)
    await bot.start()

    # The first meeting: two actions, one for Bob, one for Carol.
    start = await alice.send(room, "!startmeeting First")
    await alice.wait_for_notice(room, "Meeting started", after=start)
    await bob.send(room, "I can write the plan.")
    await carol.send(room, "I know someone at the council.")
    first = await alice.send(room, f"!action {bob.user_id} writes the plan")
    await alice.wait_for_notice(room, "recorded for Bob", after=first)
    second = await alice.send(room, f"!action {carol.user_id} asks the council")
    await alice.wait_for_notice(room, "recorded for Carol", after=second)
    listed = await bob.send(room, "!actions")
    listing = await bob.wait_for_notice(room, "Open actions of this region (2)", after=listed)
    assert "A1 Bob writes the plan — Bob" in listing.body
    assert "A2 Carol asks the council — Carol" in listing.body
    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()

    # The second meeting is on the calendar, with a reminder before it.
    meeting = {"number": 2, "starts": _local(timedelta(seconds=16)), "duration": "120s",
               "title": "Second"}
    bot.configure(**{**settings, "regions": [{**region, "meetings": [meeting]}]},
                  reminders=["10s"])
    await bot.restart()

    # Each owner gets a direct message listing their open actions.
    known = {room, coordination}
    bob_dm = await bob.direct_chat(known)
    await bob.join(bob_dm)
    reminder = await bob.wait_for_notice(bob_dm, "Your open actions (1)", timeout=30)
    assert "Second" in reminder.body and "A1 Bob writes the plan" in reminder.body
    assert "A2" not in reminder.body
    carol_dm = await carol.direct_chat(known)
    await carol.join(carol_dm)
    reminder = await carol.wait_for_notice(carol_dm, "Your open actions (1)", timeout=30)
    assert "A2 Carol asks the council" in reminder.body

    # At the start of the second meeting, the open actions carried over.
    started = await alice.wait_for_notice(room, "Meeting started: Second", timeout=40)
    carried = await alice.wait_for_notice(room, "Open actions carried over", timeout=20,
                                          after=started.event_id)
    assert "A1 Bob writes the plan" in carried.body and "A2 Carol asks the council" in \
        carried.body and "(First, " in carried.body

    # Bob closes his in the room; he may not close Carol's; Carol drops hers in private.
    done = await bob.send(room, "!done A1")
    await bob.wait_for_notice(room, "Action A1 is done: Bob writes the plan.", after=done)
    refused = await bob.send(room, "!drop A2 too slow")
    await bob.wait_for_notice(room, "Only the owners of action A2 or a facilitator can close",
                              after=refused)
    unknown = await bob.send(room, "!done A42")
    await bob.wait_for_notice(room, "There is no action A42", after=unknown)
    dropped = await carol.send(carol_dm, "!drop A2 the council meets in March")
    await carol.wait_for_notice(carol_dm, "Action A2 is dropped", after=dropped)
    listed = await alice.send(room, "!actions")
    await alice.wait_for_notice(room, "No open actions.", after=listed)
    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()

    # The second meeting's minutes tell each action's story across the two meetings.
    minutes = next(m for m in _minutes(bot) if m["title"] == "Second")
    history = {a["number"]: a for a in minutes["action_history"]}
    assert history[1]["status"] == "done" and history[2]["status"] == "dropped"
    assert [(s["step"], s["by"]) for s in history[1]["steps"]] == [
        ("opened", "Alice"), ("carried", "—"), ("done", "Bob")]
    assert [(s["step"], s["by"], s["reason"], s["direct"]) for s in history[2]["steps"]] == [
        ("opened", "Alice", None, False), ("carried", "—", None, False),
        ("dropped", "Carol", "the council meets in March", True)]
    folder = Path(bot.settings["data_dir"]) / "minutes"
    markdown = next(p for p in folder.glob("*.md") if "Second" in p.read_text()).read_text()
    assert "## Actions followed up" in markdown
    assert "dropped by Carol, by direct message — the council meets in March" in markdown

    # The report: the history, and no open action left.
    from meetbot.research.outputs import write_full_report

    report, paths = await write_full_report(bot.app)
    assert report["open_actions"] == []
    assert [a["status"] for a in report["action_history"]] == ["done", "dropped"]
    text = next(p for p in paths if p.suffix == ".md").read_text()
    assert "carried over into Latin America — Second" in text

    # A restart answers nothing again and forgets nothing.
    await bot.restart()
    probe = await alice.send(room, "!actions")
    await alice.wait_for_notice(room, "No open actions.", after=probe)
    await bot.settled()
    bodies = [n.body for n in alice.notices(room, sender=bot.user_id)]
    assert sum("Action A1 is done" in b for b in bodies) == 1
    assert sum("Open actions carried over" in b for b in bodies) == 1

    # Carol withdraws: she is nobody's owner any more, and her reason is gone.
    confirm = await carol.send(carol_dm, "!withdraw confirm")
    await carol.wait_for_notice(carol_dm, "withdrawal is under way", after=confirm)
    done_dm = await carol.direct_chat(known | {carol_dm})
    await carol.join(done_dm)
    await carol.wait_for_notice(done_dm, "have been withdrawn", timeout=60)
    await bot.settled()
    rows = await bot.app.store.db.conn.execute_fetchall(
        "SELECT user_id, reason FROM action_steps")
    assert all(r[0] != carol.user_id for r in rows)
    assert "the council meets in March" not in {r[1] for r in rows}
    for doc in _minutes(bot):
        assert carol.user_id not in json.dumps(doc)
        assert "the council meets in March" not in json.dumps(doc)
    minutes = next(m for m in _minutes(bot) if m["title"] == "Second")
    history = {a["number"]: a for a in minutes["action_history"]}
    assert history[2]["owners"] == [] and history[2]["steps"][-1]["by"] == "—"
    listed = await alice.send(room, "!actions")
    await alice.wait_for_notice(room, "No open actions.", after=listed)
