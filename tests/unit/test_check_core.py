"""``!check`` in the pure core: who may check which message, and what the shell is asked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from meetbot.config.agendas import load_agenda
from meetbot.core.check_effects import CheckMessage, ForgetChecks, SetCheckMode
from meetbot.core.effects import Notice
from meetbot.core.events import Message, Redaction
from meetbot.core.model import Region, RoomSettings, RoomState
from meetbot.i18n import render_lines
from meetbot.runtime.features import engine

handle = engine().handle

ROOT = Path(__file__).resolve().parents[2]
ROOM = "!latam:example.org"
ANA = "@ana:example.org"  # facilitator, writes Spanish
BEA = "@bea:example.org"  # writes English
START = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


class Room:
    def __init__(self) -> None:
        self.settings = RoomSettings(
            region=Region("latam", "Latin America", ROOM, ("es", "en"), "America/Bogota"),
            agenda=load_agenda(ROOT / "prompts", "default"),
            bot_user_id="@meetbot:example.org",
            facilitators=frozenset({ANA}),
        )
        self.state = RoomState(ROOM)
        self.n = 0
        self.effects: list[object] = []

    def says(self, who: str, body: str, **fields: object) -> str:
        self.n += 1
        event_id = f"$e{self.n}"
        event = Message(event_id, ROOM, who, START + timedelta(minutes=self.n), body=body,
                        **fields)  # type: ignore[arg-type]
        self.effects = list(handle(self.state, self.settings, event).effects)
        return event_id

    def answers(self) -> list[str]:
        return [render_lines(e.lines, "en") for e in self.effects if isinstance(e, Notice)]

    def checks(self) -> list[CheckMessage]:
        return [e for e in self.effects if isinstance(e, CheckMessage)]


def test_a_reply_to_ones_own_message_asks_for_a_check_and_says_nothing_in_the_room() -> None:
    room = Room()
    room.says(ANA, "!startmeeting")
    mine = room.says(BEA, "We could share our notes every week.", sender_language="en")
    ask = room.says(BEA, "!check", reply_to=mine, sender_language="en")
    [check] = room.checks()
    assert (check.event_id, check.author, check.asked_by) == (mine, BEA, ask)
    assert check.text == "We could share our notes every week."
    assert check.languages == ("es", "en") and check.source_language == "en"
    assert check.keep and check.meeting_id == room.state.meeting.id  # type: ignore[union-attr]
    assert room.answers() == []  # the answer goes by direct message


def test_someone_elses_message_gets_a_short_refusal() -> None:
    room = Room()
    room.says(ANA, "!startmeeting")
    hers = room.says(ANA, "Propongo un taller cada mes.")
    room.says(BEA, "!check", reply_to=hers)
    assert room.checks() == []
    assert room.answers() == ["You can only check your own messages: reply with !check to "
                              "one you wrote."]


def test_check_without_a_reply_or_outside_a_meeting_says_how() -> None:
    room = Room()
    room.says(BEA, "!check", reply_to="$elsewhere")
    assert "meeting running in this room" in room.answers()[0]
    room.says(ANA, "!startmeeting")
    room.says(BEA, "!check")
    assert room.answers() == ["Reply to one of your own messages with this command. "
                              "Usage: !check [auto|off]"]
    room.says(BEA, "!check sometimes")
    assert "sometimes is not auto or off" in room.answers()[0]


def test_an_item_is_checked_by_its_text() -> None:
    room = Room()
    room.says(ANA, "!startmeeting")
    idea = room.says(BEA, "!idea a shared notebook")
    room.says(BEA, "!check", reply_to=idea)
    assert room.checks()[0].text == "a shared notebook"


def test_auto_and_off_are_kept_by_the_shell_and_every_message_may_be_checked() -> None:
    room = Room()
    room.says(BEA, "!check auto")
    assert [e for e in room.effects if isinstance(e, SetCheckMode)] == [SetCheckMode(BEA, "auto")]
    assert "checks every message you write in meetings" in room.answers()[0]
    room.says(ANA, "!startmeeting")
    said = room.says(BEA, "Hello everyone.")
    [check] = room.checks()
    assert (check.event_id, check.asked_by) == (said, None)  # the shell knows who wants it
    room.says(BEA, "!check off")
    assert [e for e in room.effects if isinstance(e, SetCheckMode)] == [SetCheckMode(BEA, "off")]
    room.says(BEA, "!idea commands are not checked by themselves")
    assert room.checks() == []
    room.says(BEA, "said long before the bot came back", live=False)
    assert room.checks() == []


def test_a_redacted_message_takes_its_checks_along() -> None:
    room = Room()
    room.says(ANA, "!startmeeting")
    said = room.says(BEA, "Hello everyone.")
    effects = handle(room.state, room.settings,
                     Redaction("$r", ROOM, BEA, START + timedelta(hours=1), target=said)).effects
    assert ForgetChecks(said) in effects
