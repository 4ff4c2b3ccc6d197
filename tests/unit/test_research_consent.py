"""Consent in the core: opting out, withdrawing, and who may ask for a report."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from meetbot.core.events import Message
from meetbot.core.model import Agenda, Prompt, Region, RoomSettings, RoomState
from meetbot.core.privacy_effects import ConsentChanged, ReportRequested, WithdrawalRequested
from meetbot.core.scrubbing import structural_command
from meetbot.i18n import render_lines
from meetbot.research.removal import stripped, tombstone
from meetbot.runtime.features import engine

handle = engine().handle  # the core with every feature, as the bot runs it

ROOM = "!latam:example.org"
COORDINATION = "!coord:example.org"
ANA, BEA = "@ana:example.org", "@bea:example.org"
START = datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc)
SETTINGS = RoomSettings(
    region=Region("latam", "Latin America", ROOM, ("es", "en"), "America/Bogota"),
    agenda=Agenda("default", {"en": "Check-in"}, (Prompt("worked", {"en": "What worked?"}),)),
    bot_user_id="@meetbot:example.org",
    facilitators=frozenset({ANA}),
    coordinator_room=COORDINATION,
)


class Room:
    def __init__(self, room_id: str = ROOM) -> None:
        self.room_id = room_id
        self.state = RoomState(room_id)
        self.count = 0

    def says(self, who: str, body: str, *, opted_out: bool = False, power: int = 0) -> list:
        self.count += 1
        event = Message(f"$e{self.count}", self.room_id, who, START + timedelta(minutes=self.count),
                        body=body, display_name=who[1:4], sender_opted_out=opted_out,
                        sender_power=power)
        return handle(self.state, SETTINGS, event).effects


def texts(effects: list) -> str:
    return "\n".join(render_lines(e.lines, "en") for e in effects if hasattr(e, "lines"))


def test_opting_out_is_announced_without_naming_anyone() -> None:
    room = Room()
    room.says(ANA, "!startmeeting")
    effects = room.says(BEA, "!optout")
    changed = [e for e in effects if isinstance(e, ConsentChanged)]
    assert room.state.meeting is not None
    at = START + timedelta(minutes=2)
    assert changed == [ConsentChanged(BEA, True, ROOM, room.state.meeting.id, at)]
    notice = next(e for e in effects if hasattr(e, "lines"))
    assert notice.kind == "announce" and notice.reply_to is None and not notice.mentions
    assert "Someone opted out" in texts(effects) and "bea" not in texts(effects)


def test_opting_back_in_only_when_opted_out() -> None:
    room = Room()
    assert "have not opted out" in texts(room.says(BEA, "!optin"))
    effects = room.says(BEA, "!optin", opted_out=True)
    assert [e.opted_out for e in effects if isinstance(e, ConsentChanged)] == [False]


def test_withdrawal_asks_for_confirmation_first() -> None:
    room = Room()
    first = room.says(BEA, "!withdraw")
    assert not any(isinstance(e, WithdrawalRequested) for e in first)
    assert "!withdraw confirm" in texts(first) and "cannot be undone" in texts(first)
    confirmed = room.says(BEA, "!withdraw confirm")
    assert [e.user_id for e in confirmed if isinstance(e, WithdrawalRequested)] == [BEA]


def test_nobody_can_withdraw_someone_else() -> None:
    room = Room()
    effects = room.says(ANA, f"!withdraw {BEA} confirm", power=100)
    assert not any(isinstance(e, WithdrawalRequested) for e in effects)
    assert "Nobody can withdraw someone else's" in texts(effects)


def test_report_only_for_facilitators_in_the_coordinator_room() -> None:
    coordination = Room(COORDINATION)
    assert "Only a facilitator" in texts(coordination.says(BEA, "!report"))
    assert any(isinstance(e, ReportRequested) for e in coordination.says(ANA, "!report"))
    assert "only in the coordinator room" in texts(Room().says(ANA, "!report"))


def kept(body: str) -> str | None:
    return structural_command(body, "!", engine().features.commands)


def test_structural_commands_keep_no_words() -> None:
    assert kept("!startmeeting Our secret title") == "!startmeeting"
    assert kept("!next") == "!next"
    assert kept("!prompt how-we-decide") == "!prompt how-we-decide"
    assert kept("!idea my own words") is None
    assert kept("!here") is None
    assert kept("just talking") is None


def test_a_withdrawn_message_keeps_its_place_but_not_its_words() -> None:
    event = Message("$1", ROOM, BEA, START, body="!idea my own words", display_name="Bea",
                    mentions=(ANA,))
    who = tombstone()
    kept, said = stripped(event, prefix="!", commands=engine().features.commands, sender=who,
                          created_items={"$1"}, facilitator_power=None)
    assert isinstance(kept, Message)
    assert kept.body == "" and kept.withdrawn and kept.created_item
    assert kept.sender == who and BEA not in str(kept) and "Bea" not in str(kept)
    assert "my own words" in said
