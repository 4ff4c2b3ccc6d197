"""The one scrub rule (meetbot/core/scrubbing.py): what stays of each kind of event once its
author's words are gone, and that a redaction (the event store) and an opt-out or a
withdrawal (research removal) both store what that rule says."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from test_app import make_config, message

from meetbot.core.events import (
    EVENT_TYPES,
    Attachment,
    Edit,
    Event,
    Membership,
    Message,
    Reaction,
    Redaction,
    Tick,
)
from meetbot.core.scrubbing import (
    redaction_removes_words,
    structural_command,
    under_stand_in,
    without_words,
    words_of,
)
from meetbot.research.removal import remove_events
from meetbot.runtime.features import features, open_app
from meetbot.storage.codec import decode_event, encode_event
from meetbot.storage.database import Database
from meetbot.storage.research_store import ResearchStore
from meetbot.storage.store import Store

COMMANDS = features().commands  # every command a room can give, as the bot has them
PREFIX = "!"
ROOM = "!room:example.org"
ANA, BEA, X = "@ana:example.org", "@bea:example.org", "@x:y"
AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)
PHOTO = Attachment("m.image", "holiday.jpg", "mxc://example.org/abc", "image/jpeg", 1234)


def said(body: str, **fields: Any) -> Message:
    return Message("$m", ROOM, BEA, AT, body=body, display_name="Bea", sender_power=10,
                   sender_language="es", thread_root="$thread", **fields)


def placeholder(event: Message, *, created_item: bool = False) -> Message:
    """A withdrawn placeholder: nothing the person said, not even what it answered."""
    return replace(event, body="", display_name="", attachment=None, mentions=(), reply_to=None,
                   withdrawn=True, created_item=created_item)


def command(event: Message, kept: str) -> Message:
    """A kept command: its structure, and the people it named."""
    return replace(event, body=kept, display_name="", attachment=None)


PLAIN = said("my phone is 555-0199", mentions=(ANA,), reply_to="$before")
IDEA = said("!idea my own words", mentions=(ANA,))
NEXT = said("!next", reply_to="$before")
STRIKE = said("!strike 3")
CHAIR = said(f"!chair {X}", mentions=(X,))
PROMPT = said("!prompt how-we-decide")
START = said("!startmeeting Our secret title")
TIME = said("!time 5m")
CALL = said(f"!call {X}", mentions=(X,))
ANSWERING = said("> <@ana:example.org> what now?\n\n!next", reply_to="$question")
HERE = said("!here")
OPTOUT = said("!optout")
UNKNOWN = said("!nosuch thing")
PHOTO_SHARED = said("look at this", msgtype="m.image", attachment=PHOTO)
EDIT = Edit("$m", ROOM, BEA, AT, target="$original", body="!idea better words",
            mentions=(ANA,))
REACTION = Reaction("$m", ROOM, BEA, AT, target="$proposal", key="👍")
REDACTION = Redaction("$m", ROOM, BEA, AT, target="$oops", reason="I said my address")
MEMBERSHIP = Membership("$m", ROOM, BEA, AT, membership="join", display_name="Bea Real-Name")
TICK = Tick("$m", ROOM, BEA, AT, timer="timebox:section")

# (event, whether it created an item, what the record keeps of it)
RULE: list[tuple[Event, bool, Event]] = [
    (PLAIN, False, placeholder(PLAIN)),
    (IDEA, True, placeholder(IDEA, created_item=True)),
    (NEXT, False, command(NEXT, "!next")),
    (STRIKE, False, command(STRIKE, "!strike 3")),
    (CHAIR, False, command(CHAIR, f"!chair {X}")),
    (PROMPT, False, command(PROMPT, "!prompt how-we-decide")),
    (START, False, command(START, "!startmeeting")),
    (TIME, False, command(TIME, "!time 5m")),
    (CALL, False, command(CALL, f"!call {X}")),
    (ANSWERING, False, command(ANSWERING, "!next")),
    (HERE, False, placeholder(HERE)),
    (OPTOUT, False, placeholder(OPTOUT)),
    (UNKNOWN, False, placeholder(UNKNOWN)),
    (PHOTO_SHARED, False, placeholder(PHOTO_SHARED)),
    (EDIT, False, replace(EDIT, body="", mentions=(), target="")),
    (REACTION, False, replace(REACTION, key="")),
    (REDACTION, False, replace(REDACTION, reason=None)),
    (MEMBERSHIP, False, replace(MEMBERSHIP, display_name="")),
    (TICK, False, TICK),
]
NAMES = [
    "message", "text command (!idea) that created an item", "!next", "!strike 3",
    "!chair @x:y", "!prompt ID", "!startmeeting TITLE", "!time 5m", "!call @x:y",
    "!next answering a reply", "!here (never kept)", "!optout (never kept)", "unknown command",
    "message with attachment", "edit", "reaction", "redaction", "membership", "tick",
]


@pytest.mark.parametrize(("event", "created_item", "kept"), RULE, ids=NAMES)
def test_the_rule_for_every_kind_of_event(event: Event, created_item: bool, kept: Event) -> None:
    assert without_words(event, PREFIX, COMMANDS, created_item=created_item) == kept
    # Applied again (a second redaction, a withdrawal after an opt-out) it changes nothing.
    assert without_words(kept, PREFIX, COMMANDS, created_item=created_item) == kept
    # What the record holds goes through the codec unchanged.
    assert decode_event(*encode_event(kept)) == kept


def test_the_rule_decides_for_every_kind_of_event() -> None:
    assert {type(event) for event, _created, _kept in RULE} == set(EVENT_TYPES.values())


def test_structural_commands_take_the_commands_they_are_given() -> None:
    assert structural_command("!next", PREFIX, COMMANDS) == "!next"
    assert structural_command("!NEXT", PREFIX, COMMANDS) == "!next"

    class NoCommands:
        def lookup(self, name: str) -> None:
            return None

    assert structural_command("!next", PREFIX, NoCommands()) is None
    assert without_words(NEXT, PREFIX, NoCommands()) == placeholder(NEXT)


@pytest.mark.parametrize(("event", "words"), [
    (PLAIN, {"my phone is 555-0199"}),
    (IDEA, {"!idea my own words", "my own words"}),
    (NEXT, {"!next"}),
    (PHOTO_SHARED, {"look at this", "holiday.jpg"}),
    (EDIT, {"!idea better words"}),
    (REDACTION, {"I said my address"}),
    (REACTION, set()),
    (MEMBERSHIP, set()),
    (TICK, set()),
], ids=["message", "command", "structural command", "attachment", "edit", "redaction",
        "reaction", "membership", "tick"])
def test_the_words_an_event_holds(event: Event, words: set[str]) -> None:
    assert words_of(event, PREFIX) == words


def test_a_stand_in_keeps_a_facilitators_kept_command_running() -> None:
    stand_in = "@withdrawn-00000000:withdrawn.invalid"
    kept = without_words(NEXT, PREFIX, COMMANDS)
    assert under_stand_in(kept, stand_in, facilitator_power=50) == replace(
        kept, sender=stand_in, sender_power=50
    )
    assert under_stand_in(kept, stand_in, facilitator_power=None) == replace(
        kept, sender=stand_in
    )
    gone = without_words(PLAIN, PREFIX, COMMANDS)
    assert under_stand_in(gone, stand_in, facilitator_power=50) == replace(gone, sender=stand_in)
    for event in (EDIT, REACTION, MEMBERSHIP, REDACTION, TICK):
        assert under_stand_in(event, stand_in, facilitator_power=50).sender == stand_in


# -- the stores apply that rule ----------------------------------------------------------------


def numbered(events: list[Event]) -> list[Event]:
    """The table's events as one meeting's record (each with its own id and time)."""
    return [replace(e, event_id=f"$e{n}", at=AT + timedelta(minutes=n))
            for n, e in enumerate(events, start=1)]


RECORD = numbered([event for event, _created, _kept in RULE])
CREATED = {e.event_id for e, (_, created, _k) in zip(RECORD, RULE, strict=True) if created}


async def recorded(path: Path) -> Store:
    store = Store(await Database.open(path))
    async with store.db.transaction():
        for event in RECORD:
            await store.add_event(event, "m1")
            await store.save_translations(event.event_id, "es", {"en": "a translation"}, "test")
    return store


async def after_redactions(path: Path) -> dict[str, Event]:
    """What the event store keeps once each event is scrubbed by a redaction."""
    store = await recorded(path)
    try:
        async with store.db.transaction():
            await store.scrub_events([e.event_id for e in RECORD], CREATED, prefix=PREFIX,
                                     commands=COMMANDS)
        assert await store.translations_for(
            e.event_id for e in RECORD if redaction_removes_words(e)
        ) == ({}, {})
        return {e.event_id: e for e in await store.meeting_events("m1")}
    finally:
        await store.db.close()


async def after_opting_out(path: Path) -> dict[str, Event]:
    """What research removal keeps once the author opted out during the meeting."""
    store = await recorded(path)
    try:
        research = ResearchStore(store)
        async with store.db.transaction():
            removal = await remove_events(
                research, await research.events_of(BEA, "m1"), prefix=PREFIX,
                commands=COMMANDS, sender=BEA, created_items=CREATED,
            )
        assert removal.events == len(RECORD)
        assert await store.translations_for(e.event_id for e in RECORD) == ({}, {})
        return {e.event_id: e for e in await store.meeting_events("m1")}
    finally:
        await store.db.close()


async def test_redaction_and_research_removal_store_what_the_one_rule_says(
    tmp_path: Path,
) -> None:
    redacted = await after_redactions(tmp_path / "redaction.sqlite3")
    opted_out = await after_opting_out(tmp_path / "optout.sqlite3")
    for event in RECORD:
        rule = without_words(event, PREFIX, COMMANDS, created_item=event.event_id in CREATED)
        assert opted_out[event.event_id] == rule, type(event).__name__
        if redaction_removes_words(event):
            # Messages and edits: the same rule, so the same record either way.
            assert redacted[event.event_id] == rule == opted_out[event.event_id]
        else:
            # A redacted reaction, membership, redaction or tick stays as it was recorded.
            assert redacted[event.event_id] == event


def test_a_redaction_rewrites_messages_and_edits_only() -> None:
    assert [type(e).__name__ for e in RECORD if not redaction_removes_words(e)] == [
        "Reaction", "Redaction", "Membership", "Tick"
    ]


# -- through the app ----------------------------------------------------------------------------


async def test_a_redacted_edit_changes_nothing_on_replay(tmp_path: Path) -> None:
    """The edit keeps no words and no target: the line reads as it did before the edit."""
    app = await open_app(make_config(tmp_path))
    try:
        await app.ingest(message(1, "!startmeeting"))
        await app.ingest(message(2, "first words", sender=BEA))
        await app.ingest(Edit("$e3", ROOM, BEA, AT + timedelta(minutes=3), target="$e2",
                              body="words I take back"))
        await app.ingest(Redaction("$e4", ROOM, BEA, AT + timedelta(minutes=4), target="$e3"))
        meeting = app.meeting_in(ROOM)
        assert meeting is not None
        entry = meeting.log_entry("$e2")
        assert entry is not None and (entry.current_body, entry.edits) == ("first words", [])
        rows = await app.store.conn.execute_fetchall("SELECT payload FROM events")
        assert "take back" not in " ".join(str(r[0]) for r in rows)
    finally:
        await app.store.db.close()
