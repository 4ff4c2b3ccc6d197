"""The pure meeting core, driven event by event: what people say, what the bot answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from meetbot.config.agendas import load_agenda
from meetbot.core.effects import MeetingEnded, MeetingStarted, Notice, Translate
from meetbot.core.events import Edit, Message, Redaction
from meetbot.core.model import ItemKind, Region, RoomSettings, RoomState
from meetbot.core.registry import split_command, strip_reply_fallback
from meetbot.i18n import render_lines
from meetbot.runtime.features import engine

handle = engine().handle  # the core with every feature, as the bot runs it

ROOT = Path(__file__).resolve().parents[2]
ROOM = "!latam:example.org"
FACILITATOR = "@ana:example.org"
PARTICIPANT = "@bea:example.org"
START = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


class Meeting:
    """A room where people type; ``answers`` are the bot's notices, rendered in English."""

    def __init__(self, languages: tuple[str, ...] = ("es", "en")) -> None:
        self.settings = RoomSettings(
            region=Region("latam", "Latin America", ROOM, languages, "America/Bogota"),
            agenda=load_agenda(ROOT / "prompts", "default"),
            bot_user_id="@meetbot:example.org",
            facilitators=frozenset({FACILITATOR}),
        )
        self.state = RoomState(ROOM)
        self.n = 0
        self.effects: list[object] = []

    def at(self) -> datetime:
        return START + timedelta(minutes=self.n)

    def says(self, who: str, body: str, *, live: bool = True, power: int = 0, **kw) -> list[str]:
        self.n += 1
        event = Message(f"$e{self.n}", ROOM, who, self.at(), body=body, live=live,
                        sender_power=power, **kw)
        out = handle(self.state, self.settings, event)
        self.effects = out.effects
        return [render_lines(e.lines, "en") for e in out.effects if isinstance(e, Notice)]

    def event(self, event) -> None:
        self.n += 1
        handle(self.state, self.settings, event)

    @property
    def meeting(self):
        assert self.state.meeting is not None
        return self.state.meeting


@pytest.fixture
def room() -> Meeting:
    room = Meeting()
    room.says(FACILITATOR, "!startmeeting")
    return room


def test_starting_posts_the_recording_notice_and_the_first_prompt() -> None:
    room = Meeting()
    answers = room.says(FACILITATOR, "!startmeeting First meeting")
    assert "Meeting started:** First meeting" in answers[0]
    assert "recorded for the research network" in answers[0]
    assert "At this moment, what can we do to work and learn together?" in answers[1]
    assert any(isinstance(e, MeetingStarted) for e in room.effects)
    prompt = room.meeting.items[0]
    assert (prompt.kind, prompt.prompt_id) == (ItemKind.PROMPT, "work-learn-together")
    announcements = [e for e in room.effects if isinstance(e, Notice)]
    assert all(e.languages == ("es", "en") for e in announcements)


def test_the_default_title_is_the_region_and_the_local_date() -> None:
    room = Meeting()
    room.says(FACILITATOR, "!start")
    # 23:00 UTC on the 15th is 18:00 on the 15th in Bogotá.
    assert room.meeting.title == "Latin America — 2027-01-15"


def test_items_belong_to_the_current_prompt_and_are_numbered(room: Meeting) -> None:
    room.says(PARTICIPANT, "!idea weekly calls")
    room.says(FACILITATOR, "!next")
    room.says(PARTICIPANT, "!info we have a wiki")
    room.says(FACILITATOR, "!topic Budget")
    room.says(FACILITATOR, "!agreed ask for funds")
    items = room.meeting.items
    assert [(i.n, i.kind.value, i.prompt_id) for i in items] == [
        (1, "prompt", "work-learn-together"),
        (2, "idea", "work-learn-together"),
        (3, "prompt", "how-we-decide"),
        (4, "info", "how-we-decide"),
        (5, "topic", None),
        (6, "decision", None),
    ]
    assert items[5].section == 5


def test_actions_are_assigned_to_the_people_mentioned(room: Meeting) -> None:
    answers = room.says(PARTICIPANT, "!action @carla:example.org and @dan:example.org, call them",
                        mentions=("@carla:example.org",))
    item = room.meeting.items[-1]
    assert item.assignees == ("@carla:example.org", "@dan:example.org")
    assert answers == ["Action #2 recorded for @carla:example.org, @dan:example.org."]
    answers = room.says(PARTICIPANT, "!action someone should call them")
    assert "nobody assigned" in answers[0]


def test_items_name_the_people_they_mention_and_translations_carry_the_names(
    room: Meeting,
) -> None:
    room.says("@carla:example.org", "hola", display_name="Carla")
    room.says(PARTICIPANT, "!action @carla:example.org calls the council",
              mentions=("@carla:example.org",))
    (translate,) = [e for e in room.effects if isinstance(e, Translate)]
    assert translate.text == "@carla:example.org calls the council"  # the id, to the record
    assert translate.names == {"@carla:example.org": "Carla"}  # the name, for the notice
    listed = room.says(PARTICIPANT, "!items")[0]
    assert "- \\#1 Prompt 1/3: At this moment" in listed  # its place, and its number to !strike
    assert listed.endswith("- \\#2 Action: Carla calls the council — @bea:example.org")
    assert room.says(FACILITATOR, "!undo") == ["Removed #2 (Action: Carla calls the council)."]
    assert room.says(FACILITATOR, "!topic what @carla:example.org heard") == [
        "**Topic #3:** what Carla heard"]


def test_choosing_a_language_names_it_in_that_language(room: Meeting) -> None:
    room.says(PARTICIPANT, "!lang es")
    (notice,) = [e for e in room.effects if isinstance(e, Notice)]
    assert notice.languages == ("es",)
    assert render_lines(notice.lines, "es") == "Ahora escribes y lees en español (es)."
    room.says(PARTICIPANT, "!lang fr")
    (notice,) = [e for e in room.effects if isinstance(e, Notice)]
    assert render_lines(notice.lines, "fr") == "Vous écrivez et lisez désormais en français (fr)."
    assert room.says(PARTICIPANT, "!lang en") == ["Your language is now English (en)."]


def test_strike_and_undo_remove_items_and_keep_numbers(room: Meeting) -> None:
    room.says(PARTICIPANT, "!idea one")
    room.says(PARTICIPANT, "!idea two")
    room.says(PARTICIPANT, "!idea three")
    assert room.says(FACILITATOR, "!strike 2") == ["Item #2 removed."]
    assert room.says(FACILITATOR, "!undo") == ["Removed #4 (Idea: three)."]
    assert [i.n for i in room.meeting.live_items()] == [1, 3]
    assert "There is no item #2" in room.says(FACILITATOR, "!strike 2")[0]
    assert "There is no item #9" in room.says(FACILITATOR, "!strike 9")[0]


def test_malformed_and_unauthorised_commands_get_one_clear_line(room: Meeting) -> None:
    assert room.says(PARTICIPANT, "!next") == ["Only a facilitator or chair can use !next."]
    assert room.says(PARTICIPANT, "!action") == [
        "This command needs some text. Usage: !action TEXT"
    ]
    assert room.says(FACILITATOR, "!strike x") == [
        "Give an item number, such as 3. Usage: !strike N"
    ]
    assert room.says(PARTICIPANT, "!chair") == [
        "Only a facilitator or chair can use !chair."
    ]
    assert room.says(FACILITATOR, "!chair nobody") == [
        "Name a person as a mention or as @user:server. Usage: !chair @user"
    ]
    assert room.says(PARTICIPANT, "!bogus") == ["Unknown command !bogus. Type !help for the list."]


def test_outside_a_meeting_commands_say_so() -> None:
    room = Meeting()
    assert room.says(PARTICIPANT, "!idea hi") == [
        "No meeting is running here. A facilitator can start one with !startmeeting."
    ]
    assert room.says(PARTICIPANT, "hello") == []
    help_text = room.says(PARTICIPANT, "!help")[0]
    assert "!startmeeting [TITLE]" in help_text and "!action TEXT" in help_text


def test_power_level_and_chairs_make_facilitators(room: Meeting) -> None:
    assert "Prompt 2/3" in room.says(PARTICIPANT, "!next", power=50)[0]
    room.says(FACILITATOR, f"!chair {PARTICIPANT}")
    assert "Prompt 3/3" in room.says(PARTICIPANT, "!next")[0]
    room.says(FACILITATOR, f"!unchair {PARTICIPANT}")
    assert "Only a facilitator" in room.says(PARTICIPANT, "!topic x")[0]


def test_the_agenda_ends_politely(room: Meeting) -> None:
    room.says(FACILITATOR, "!next")
    room.says(FACILITATOR, "!next")
    assert "last prompt of the agenda" in room.says(FACILITATOR, "!next")[0]
    assert "No prompt nope" in room.says(FACILITATOR, "!prompt nope")[0]
    assert "Prompt 1/3" in room.says(FACILITATOR, "!prompt work-learn-together")[0]


def test_ending_hands_over_the_minutes_and_frees_the_room(room: Meeting) -> None:
    room.says(FACILITATOR, "!agreed meet monthly")
    answers = room.says(FACILITATOR, "!endmeeting")
    assert "Meeting ended** after" in answers[0] and "1 decision," in answers[0]
    assert any(isinstance(e, MeetingEnded) for e in room.effects)
    assert room.state.meeting is None and room.state.last_meeting is not None
    assert "No meeting is running" in room.says(FACILITATOR, "!endmeeting")[0]


def test_plain_messages_are_recorded_and_sent_to_translation(room: Meeting) -> None:
    room.says(PARTICIPANT, "hola a todos")
    assert any(isinstance(e, Translate) for e in room.effects)
    assert room.meeting.log[-1].body == "hola a todos"


def test_history_is_recorded_but_never_answered(room: Meeting) -> None:
    answers = room.says(PARTICIPANT, "!idea while the bot was away", live=False)
    assert answers == []
    assert room.meeting.items[-1].text == "while the bot was away"


def test_edits_update_items_and_never_rerun_commands(room: Meeting) -> None:
    room.says(PARTICIPANT, "!idea frist idea")
    target = f"$e{room.n}"
    room.event(Edit(f"$e{room.n + 1}", ROOM, PARTICIPANT, room.at(), target=target,
                    body="!idea first idea"))
    assert [i.text for i in room.meeting.items] [-1] == "first idea"
    assert len(room.meeting.items) == 2
    # Someone else cannot edit your words.
    room.event(Edit(f"$e{room.n + 1}", ROOM, FACILITATOR, room.at(), target=target,
                    body="!idea hijacked"))
    assert room.meeting.items[-1].text == "first idea"


def test_redactions_remove_text_and_items(room: Meeting) -> None:
    room.says(PARTICIPANT, "!idea private")
    target = f"$e{room.n}"
    room.event(Redaction(f"$e{room.n + 1}", ROOM, PARTICIPANT, room.at(), target=target))
    assert room.meeting.items[-1].struck
    assert room.meeting.log_entry(target).current_body == ""


def test_bots_own_messages_are_ignored(room: Meeting) -> None:
    assert room.says("@meetbot:example.org", "!endmeeting") == []
    assert room.state.meeting is not None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!action do it", ("action", "do it")),
        ("!ACTION   do it  ", ("action", "do it")),
        ("!next", ("next", "")),
        ("! next", None),
        ("!", None),
        ("plain text", None),
        ("> <@bea:x> quoted\n\n!agreed yes", ("agreed", "yes")),
        ("!topic\nmultiline topic", ("topic", "multiline topic")),
    ],
)
def test_command_parsing(body: str, expected) -> None:
    assert split_command(body, "!") == expected


def test_reply_fallbacks_are_stripped() -> None:
    assert strip_reply_fallback("> <@a:x> hi\n> there\n\nmy answer") == "my answer"


def test_replies_go_in_the_senders_language(room: Meeting) -> None:
    room.says(PARTICIPANT, "!idea x", sender_language="fr")
    notice = next(e for e in room.effects if isinstance(e, Notice))
    assert notice.languages == ("fr",)


def test_the_coordinator_may_run_facilitator_commands_in_the_coordinator_room() -> None:
    from dataclasses import replace

    room = Meeting()
    room.settings = replace(room.settings, coordinator_room=ROOM,
                            coordinator_users=frozenset({"@kofi:example.org"}))
    answers = room.says("@kofi:example.org", "!startmeeting")
    assert "Meeting started" in answers[0]


def test_a_replay_rebuilds_the_same_meeting_without_asking_for_translations() -> None:
    """Rebuilding a meeting from its record skips the hooks that only say what to do outside
    it (translate, check): what the meeting holds is the same, languages chosen included."""
    from dataclasses import asdict

    from meetbot.core.commands import check, translation

    core = engine()
    live, rebuilt = Meeting(), Meeting()
    events = [
        Message("$r1", ROOM, FACILITATOR, START, body="!startmeeting", sender_power=50),
        Message("$r2", ROOM, PARTICIPANT, START + timedelta(minutes=1),
                body="Podemos compartir notas", sender_language="es"),
        Message("$r3", ROOM, PARTICIPANT, START + timedelta(minutes=2), body="!idea un cuaderno"),
        Edit("$r4", ROOM, PARTICIPANT, START + timedelta(minutes=3), target="$r2",
             body="Podemos compartir las notas"),
        Redaction("$r5", ROOM, PARTICIPANT, START + timedelta(minutes=4), target="$r3"),
    ]
    asked = []
    for event in events:
        asked += core.handle(live.state, live.settings, event).effects
        assert core.replay(rebuilt.state, rebuilt.settings, event) is None
    assert any(isinstance(e, Translate) for e in asked)  # the live meeting asked for them
    assert asdict(rebuilt.state) == asdict(live.state)
    assert rebuilt.state.meeting is not None
    assert rebuilt.state.meeting.chosen_languages == {PARTICIPANT: "es"}
    skipped = core.features.hooks.replaying()
    assert translation.on_message not in skipped.message
    assert translation.remember_language in skipped.message
    assert check.on_message not in skipped.message and skipped.effects_only == ()
