"""Written answers, the core's side: which messages the shell is handed, !async, the digest
when a scheduled meeting opens, and the digest's words (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from facilitation_room import ANA, BEA, BOT, NAMES, ROOM, START, Room

from meetbot.core.effects import Effect
from meetbot.core.events import Message, Redaction
from meetbot.core.records import SlotKey
from meetbot.core.written import Answered, digest_lines, window
from meetbot.core.written_effects import (
    AsyncChoice,
    WrittenCandidate,
    WrittenChanged,
    WrittenDigest,
)
from meetbot.i18n import render_lines

ROOT = "$prompt-root"


def thread_answer(room: Room, sender: str, body: str, *, thread_root: str | None = ROOT,
                  **more: object) -> list[Effect]:
    return room.feed(Message(f"$w{len(room.events)}", ROOM, sender, room.now, body,
                             display_name=NAMES[sender], thread_root=thread_root, **more))


def candidates(effects: list[Effect]) -> list[WrittenCandidate]:
    return [e for e in effects if isinstance(e, WrittenCandidate)]  # type: ignore[misc]


def test_a_thread_message_between_meetings_is_handed_over_as_a_candidate_answer() -> None:
    room = Room.create()
    found = candidates(thread_answer(room, BEA, "Compartir notas cada semana"))
    assert [(c.sender, c.parent, c.direct, c.body) for c in found] == [
        (BEA, ROOT, False, "Compartir notas cada semana")]


def test_commands_messages_outside_threads_and_opted_out_people_are_not_answers() -> None:
    room = Room.create()
    assert not candidates(thread_answer(room, BEA, "!status"))
    assert not candidates(thread_answer(room, BEA, "no thread", thread_root=None))
    assert not candidates(thread_answer(room, BEA, "kept out", sender_opted_out=True))
    assert not candidates(thread_answer(room, BEA, "   "))


def test_while_the_meeting_runs_its_threads_are_the_live_record() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    assert not candidates(thread_answer(room, BEA, "said during the meeting"))
    assert any(e.body == "said during the meeting" for e in room.meeting.log)


def test_in_a_direct_chat_a_reply_is_the_candidate() -> None:
    room = Room.create()
    room.settings = replace(room.settings, direct=True)
    found = candidates(thread_answer(room, BEA, "no time", thread_root=None,
                                     reply_to="$dm-prompt"))
    assert [(c.parent, c.direct) for c in found] == [("$dm-prompt", True)]
    assert not candidates(thread_answer(room, BEA, "not a reply", thread_root=None))


def test_async_on_works_in_a_direct_chat_and_says_how_anywhere_else() -> None:
    room = Room.create()
    effects = room.feed(Message("$a1", ROOM, BEA, room.now, "!async on", display_name="Bea"))
    assert not [e for e in effects if isinstance(e, AsyncChoice)]
    assert "in a direct chat" in room.last()
    room.settings = replace(room.settings, direct=True)
    on = room.feed(Message("$a2", ROOM, BEA, room.now, "!async on", display_name="Bea"))
    off = room.feed(Message("$a3", ROOM, BEA, room.now, "!async off", display_name="Bea"))
    assert [e for e in on + off if isinstance(e, AsyncChoice)] == [
        AsyncChoice(BEA, ROOM), AsyncChoice(BEA, None)]
    room.feed(Message("$a4", ROOM, BEA, room.now, "!async maybe", display_name="Bea"))
    assert "Say on or off." in room.last() and "!async on|off" in room.last()


def test_edits_and_redactions_are_passed_on() -> None:
    room = Room.create()
    thread_answer(room, BEA, "first words")
    assert WrittenChanged("$w0", "", None) in room.feed(
        Redaction("$r", ROOM, BEA, room.now, target="$w0"))


def test_a_meeting_opened_by_the_calendar_asks_for_the_digest_and_one_started_by_hand_not()\
        -> None:
    room = Room.create()
    key = SlotKey("latam", 2, "open", START, timedelta(minutes=90), "Meeting 2").encode()
    digests = [e for e in room.tick(key) if isinstance(e, WrittenDigest)]
    assert digests == [WrittenDigest(room.meeting.id, ROOM, "latam", 2)]
    other = Room.create()
    assert not [e for e in other.feed(Message("$s", ROOM, ANA, other.now, "!startmeeting",
                                              display_name="Ana"))
                if isinstance(e, WrittenDigest)]


def test_the_window_runs_from_before_the_start_to_after_the_end() -> None:
    ends = START + timedelta(minutes=90)
    assert window(START, ends, timedelta(hours=48)) == (START - timedelta(hours=48),
                                                        ends + timedelta(hours=48))


def test_the_digest_quotes_each_prompt_in_the_readers_language() -> None:
    prompts = [("first", {"en": "First prompt?", "es": "¿Primera?"}),
               ("second", {"en": "Second prompt?", "es": "¿Segunda?"})]
    answers = [
        Answered("second", "Bea", {"es": "Compartir notas", "en": "Share notes"}),
        *[Answered("first", f"P{i}", {"en": f"idea {i}"}) for i in range(5)],
    ]
    lines = digest_lines(prompts, answers)
    english, spanish = render_lines(lines, "en"), render_lines(lines, "es")
    assert "6 answers" in english
    assert english.index("First prompt?") < english.index("Second prompt?")
    assert "• Bea: Share notes" in english and "• Bea: Compartir notas" in spanish
    assert "¿Segunda?" in spanish
    assert "idea 2" in english and "idea 3" not in english and "and 2 more answers" in english
    assert "No written answers" in render_lines(digest_lines(prompts, []), "en")


def test_the_bot_own_thread_messages_are_never_answers() -> None:
    room = Room.create()
    effects = room.feed(Message("$b", ROOM, BOT, room.now, "a notice", thread_root=ROOT))
    assert not candidates(effects)
