"""Actions followed up from one meeting of Latin America to the next: in the core, then
through the production app over a real database (the outbox read back as what the bot says).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from shell_helpers import (
    ANA,
    BEA,
    CARLOS,
    COORD,
    ROOM,
    Speaker,
    bodies,
    config_file,
    open_bound,
)

from meetbot.core.events import Message, Tick
from meetbot.core.followup_effects import (
    ActionClosed,
    ActionRemindersDue,
    ActionsCarried,
    ActionsListed,
    ActionsNoted,
)
from meetbot.core.model import Agenda, Meeting, Prompt, Region, RoomSettings, RoomState
from meetbot.core.records import SlotKey
from meetbot.i18n import render_lines
from meetbot.minutes.action_history import actions_of_meeting, followed_actions, history_data
from meetbot.minutes.delivery import minutes_data
from meetbot.minutes.render import render_markdown
from meetbot.runtime.features import engine
from meetbot.storage.action_store import ActionStore

handle = engine().handle

SETTINGS = RoomSettings(
    region=Region("latam", "Latin America", ROOM, ("en",), "UTC"),
    agenda=Agenda("default", {"en": "Check-in"}, (Prompt("p", {"en": "What next?"}),)),
    bot_user_id="@bot:example.org",
    facilitators=frozenset({ANA}),
)
START = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


def message(n: int, sender: str, body: str, **fields: object) -> Message:
    return Message(f"$c{n}", ROOM, sender, START + timedelta(minutes=n), body=body,
                   **fields)  # type: ignore[arg-type]


def test_an_action_gets_its_number_as_it_is_recorded_and_again_as_the_meeting_ends() -> None:
    state = RoomState(ROOM)
    started = handle(state, SETTINGS, message(1, ANA, "!startmeeting"))
    carried = [e for e in started.effects if isinstance(e, ActionsCarried)]
    assert [(c.region_id, c.room_id) for c in carried] == [("latam", ROOM)]
    recorded = handle(state, SETTINGS, message(2, BEA, f"!action {CARLOS} asks the council"))
    assert [(e.items, e.region_id) for e in recorded.effects
            if isinstance(e, ActionsNoted)] == [((2,), "latam")]  # item 1 is the prompt
    handle(state, SETTINGS, message(3, BEA, "!action nobody yet"))
    handle(state, SETTINGS, message(4, ANA, "!strike 3"))
    ended = handle(state, SETTINGS, message(5, ANA, "!endmeeting"))
    assert [e.items for e in ended.effects if isinstance(e, ActionsNoted)] == [(2,)]


def test_done_and_drop_say_who_asks_and_what() -> None:
    state = RoomState(ROOM)
    handle(state, SETTINGS, message(1, ANA, "!startmeeting"))
    done = handle(state, SETTINGS, message(2, BEA, "!done A7")).effects
    closed = [e for e in done if isinstance(e, ActionClosed)]
    assert [(c.number, c.step, c.user_id, c.facilitator, c.where) for c in closed] == [
        (7, "done", BEA, False, "region")]
    dropped = handle(state, SETTINGS, message(3, ANA, "!drop #7 the council said no")).effects
    closed = [e for e in dropped if isinstance(e, ActionClosed)]
    assert [(c.number, c.step, c.reason, c.facilitator) for c in closed] == [
        (7, "dropped", "the council said no", True)]


def test_a_malformed_number_gets_the_usage() -> None:
    state = RoomState(ROOM)
    alone = handle(state, SETTINGS, message(1, BEA, "!done")).effects  # the queue's "done"
    assert "No meeting is running here" in render_lines(alone[0].lines, "en")  # type: ignore[union-attr]
    for body in ("!done seven", "!drop", "!done A0", "!drop x y"):
        effects = handle(state, SETTINGS, message(1, BEA, body)).effects
        assert not any(isinstance(e, ActionClosed) for e in effects)
        text = render_lines(effects[0].lines, "en")  # type: ignore[union-attr]
        assert "Give an action number, such as A3" in text and "Usage: !d" in text


def test_actions_in_a_direct_chat_are_the_persons_own() -> None:
    direct = RoomSettings(region=Region("direct", "Direct chat", "!dm:example.org", ("en",)),
                          agenda=SETTINGS.agenda, bot_user_id="@bot:example.org", direct=True)
    event = Message("$d1", "!dm:example.org", BEA, START, body="!actions")
    effects = handle(RoomState("!dm:example.org"), direct, event).effects
    assert [(e.where, e.user_id) for e in effects if isinstance(e, ActionsListed)] == [
        ("direct", BEA)]


def test_a_meeting_reminder_asks_for_the_owners_reminders() -> None:
    key = SlotKey("latam", 2, "remind-3600", START + timedelta(hours=1), timedelta(hours=1))
    tick = Tick(f"tick:{key.encode()}", ROOM, "@bot:example.org", START, timer=key.encode())
    effects = handle(RoomState(ROOM), SETTINGS, tick).effects
    assert [(e.region_id, e.timer) for e in effects if isinstance(e, ActionRemindersDue)] == [
        ("latam", key.encode())]


# -- through the app, over a real database -------------------------------------------------


@pytest.mark.asyncio
async def test_two_meetings_in_a_row_carry_the_open_actions(tmp_path: Path) -> None:
    config = config_file(tmp_path, coordinator=True)
    app = await open_bound(config)
    app.direct_rooms["!dm-carlos:example.org"] = CARLOS
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting First", display_name="Ana"))
        await app.ingest(say.say(f"!action {CARLOS} asks the council", sender=BEA,
                                 display_name="Bea"))
        await app.ingest(say.say(f"!action {BEA} writes to the clinic", display_name="Ana"))
        await app.ingest(say.say("!endmeeting"))
        assert [a.number for a in await followed_actions(app, region_id="latam")] == [1, 2]
        await app.ingest(Message("$co1", COORD, "@coord:example.org", say.start, body="!actions"))
        assert "Open actions, all regions (2):" in "\n".join(await bodies(app, COORD))

        second = Speaker(start=datetime(2027, 2, 15, 23, 0, tzinfo=timezone.utc), prefix="$s")
        await app.ingest(second.say("!startmeeting Second", display_name="Ana"))
        await app.ingest(second.say("hola", sender=CARLOS, display_name="Carlos"))
        said = "\n".join(await bodies(app, ROOM))
        assert "Open actions carried over from earlier meetings (2)" in said
        assert "A1 Carlos asks the council — Carlos (First, 2027-01-15)" in said.replace(
            "@carlos:example.org", "Carlos")

        # Bea owns A2 and closes it; she may not close Carlos's A1; nor is there an A9.
        await app.ingest(second.say("!done A2", sender=BEA))
        await app.ingest(second.say("!done A1", sender=BEA))
        await app.ingest(second.say("!done 9", sender=BEA))
        said = "\n".join(await bodies(app, ROOM))
        assert "Action A2 is done: Bea writes to the clinic." in said
        assert "Only the owners of action A1 or a facilitator can close it." in said
        assert "There is no action A9; see !actions." in said
        # Closing it twice says so, once: a replayed event is never answered again.
        again = second.say("!done A2", sender=ANA)
        await app.ingest(again)
        assert await app.ingest(again) is None
        assert sum("already closed (done)" in b for b in await bodies(app, ROOM)) == 1

        # Carlos drops his in a direct chat, saying why.
        await app.ingest(Message("$dm1", "!dm-carlos:example.org", CARLOS,
                                 second.start + timedelta(minutes=5), body="!actions"))
        await app.ingest(Message("$dm2", "!dm-carlos:example.org", CARLOS,
                                 second.start + timedelta(minutes=6),
                                 body="!drop A1 the council meets in March"))
        dm = "\n".join(await bodies(app, "!dm-carlos:example.org"))
        assert "Your open actions (1):" in dm and "A1" in dm
        assert "Action A1 is dropped:" in dm
        await app.ingest(second.say("!actions"))
        assert (await bodies(app, ROOM))[-1] == "No open actions."
        await app.ingest(second.say("!endmeeting"))

        second_id = app.states[ROOM].last_meeting.id  # type: ignore[union-attr]
        history = await history_data(app, await actions_of_meeting(app, second_id))
        steps = {h["number"]: [(s["step"], s["by"], s["reason"]) for s in h["steps"]]
                 for h in history}
        assert steps[1] == [("opened", "Bea", None), ("carried", "—", None),
                            ("dropped", "Carlos", "the council meets in March")]
        assert steps[2] == [("opened", "Ana", None), ("carried", "—", None),
                            ("done", "Bea", None)]
        minutes = render_markdown(await minutes_data(app, second_id), "en")
        assert "## Actions followed up" in minutes
        assert "dropped by Carlos, by direct message — the council meets in March" in minutes
        assert "carried over into Latin America — Second" in minutes

        # The web space lists only what is still open; a new action shows its number.
        from meetbot.research.outputs import write_site

        await app.ingest(second.say("!startmeeting Third", display_name="Ana"))
        await app.ingest(second.say(f"!action {CARLOS} books the hall", display_name="Ana"))
        await app.ingest(second.say("!endmeeting"))
        await write_site(app, tmp_path / "site")
        page = (tmp_path / "site" / "en" / "actions.html").read_text()
        assert "<strong>A3</strong>" in page and "books the hall" in page
        assert "writes to the clinic" not in page and "asks the council" not in page
    finally:
        await app.store.db.close()


@pytest.mark.asyncio
async def test_a_withdrawn_owner_leaves_the_actions(tmp_path: Path) -> None:
    from meetbot.research.consent import withdraw

    app = await open_bound(config_file(tmp_path))
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting First", display_name="Ana"))
        await app.ingest(say.say(f"!action {BEA} writes to the clinic", display_name="Ana"))
        await app.ingest(say.say("!action I ask the mayor", sender=BEA, display_name="Bea"))
        await app.ingest(say.say("!drop A1 no time", sender=BEA))
        await app.ingest(say.say("!endmeeting"))
        await withdraw(app, BEA, say.start + timedelta(minutes=5))
        actions = await followed_actions(app)
        # Ana's action stays, owned by nobody; Bea's own action is gone with her words.
        assert [(a.number, a.owners) for a in actions] == [(1, ())]
        assert BEA not in actions[0].item.text
        steps = (await ActionStore(app.store.db).steps())[1]
        assert [(s.step, s.reason) for s in steps] == [("dropped", None)]
        assert all(s.user_id != BEA for s in steps)
    finally:
        await app.store.db.close()


@pytest.mark.asyncio
async def test_a_report_reads_each_meeting_of_a_series_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first meeting's history names the later meetings that carried its action over:
    they are named from their first event (a title taken back included), not rebuilt for
    it; the later meetings' documents read the first meeting's action from what was kept
    of it, even when no whole meeting is kept (a network of many regions). Every document
    tells the action's history the same way."""
    from meetbot.research import dataset

    monkeypatch.setattr(dataset, "KEEP_REBUILT", 1)
    app = await open_bound(config_file(tmp_path, coordinator=True))
    rebuilt: Counter[str] = Counter()
    rebuild = app.rebuild_meeting

    async def counted(meeting_id: str) -> Meeting | None:
        rebuilt[meeting_id] += 1
        return await rebuild(meeting_id)

    app.rebuild_meeting = counted  # type: ignore[method-assign]
    try:
        first = Speaker()
        await app.ingest(first.say("!startmeeting First", display_name="Ana"))
        await app.ingest(first.say(f"!action {CARLOS} asks the council"))
        await app.ingest(first.say("!endmeeting"))
        second = Speaker(start=datetime(2027, 2, 15, 23, 0, tzinfo=timezone.utc), prefix="$s")
        opened = second.say("!startmeeting Second, at the hidden venue")
        await app.ingest(opened)
        await app.ingest(second.say("hola", sender=CARLOS, display_name="Carlos"))
        await app.ingest(second.redact(opened.event_id, sender=ANA))
        await app.ingest(second.say("!endmeeting"))
        third = Speaker(start=datetime(2027, 3, 15, 23, 0, tzinfo=timezone.utc), prefix="$t")
        await app.ingest(third.say("!startmeeting Third"))
        await app.ingest(third.say("!done A1", sender=CARLOS))
        await app.ingest(third.say("!endmeeting"))
        rebuilt.clear()

        held = await dataset.held_meetings(app)

        assert sorted(rebuilt.values()) == [1, 1, 1]
        told = [[(s["step"], s["meeting"], s["by"]) for s in h.doc["action_history"][0]["steps"]]
                for h in held]
        assert told[0] == told[1] == told[2]
        assert [step for step, _meeting, _by in told[0]] == ["opened", "carried", "carried",
                                                             "done"]
        assert told[0][1][1] == held[1].doc["title"]  # the default: "Latin America — <date>"
        assert "hidden venue" not in str(told) and "hidden venue" not in held[1].doc["title"]
        assert told[0][3][2] == "Carlos"
    finally:
        await app.store.db.close()
