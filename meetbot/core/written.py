"""Written answers around a scheduled meeting, as the core sees them.

A region with ``async_window`` opens its scheduled meetings' prompts for written answers
that long before the start and after the end: the window shell (``runtime/written.py``)
posts each prompt as a thread root in the region's room, and by direct message to people
who asked with ``!async on``. Which message is a prompt's thread root is known only once
the outbox has sent it, so the core cannot tell an answer from any other thread message:
it hands every candidate to the shell (:class:`WrittenCandidate`), which records it when
it answers an open prompt. While a meeting runs in the room its threads are part of the
live record and nothing is handed over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from meetbot.core.effects import Effect
from meetbot.core.events import Edit, Event, Message, Redaction
from meetbot.core.hooks import Hooks
from meetbot.core.model import Meeting, RoomSettings, RoomState
from meetbot.core.records import SlotKey
from meetbot.core.registry import Call, Scope, UsageError, command, split_command
from meetbot.core.written_effects import (
    AsyncChoice,
    WrittenCandidate,
    WrittenChanged,
    WrittenDigest,
    effect,
)
from meetbot.i18n import Code, Localized, Msg, _, ngettext

ON_WORDS = frozenset({"on", "oui", "sí", "si", "yes"})
OFF_WORDS = frozenset({"off", "non", "no"})


def on_or_off(raw: str, event: Message) -> bool:
    word = raw.strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise UsageError(_("Say on or off."))


@command(
    "async",
    usage="on|off",
    args=on_or_off,
    scope=Scope.ROOM,
    direct=True,
    group="written",
    summary=_("Receive the prompts of scheduled meetings by direct message, to answer in "
              "writing (in a direct chat with the bot)."),
)
def do_async(call: Call, on: bool) -> None:
    event, prefix = call.event, call.prefix
    if not call.settings.direct:
        word = "on" if on else "off"
        call.reply(_("Send {command} to me in a direct chat: the prompts come there, and you "
                     "answer them by replying.", command=Code(f"{prefix}async {word}")))
        return
    call.emit(effect(AsyncChoice(event.sender, event.room_id if on else None)))
    if on:
        call.reply(_("Done: when a scheduled meeting opens for written answers, I send you its "
                     "prompts here. Reply to a prompt to answer it. {off} stops this.",
                     off=Code(f"{prefix}async off")))
    else:
        call.reply(_("Done: I send you no more prompts. {on} starts again.",
                     on=Code(f"{prefix}async on")))


def on_message(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    if not isinstance(event, Message) or event.sender == settings.bot_user_id:
        return []
    if state.meeting is not None and not settings.direct:
        return []  # the meeting runs: its threads are the live record
    if event.withdrawn or event.sender_opted_out or not event.body.strip():
        return []
    if event.attachment is not None or event.msgtype not in ("m.text", "m.emote"):
        return []
    if split_command(event.body, settings.command_prefix) is not None:
        return []
    parent = event.reply_to if settings.direct else event.thread_root
    if parent is None:
        return []
    return [effect(WrittenCandidate(
        event_id=event.event_id, room_id=event.room_id, sender=event.sender,
        display_name=event.display_name, body=event.body, at=event.at, parent=parent,
        direct=settings.direct, language=event.sender_language, live=event.live,
    ))]


def on_edit(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    if not isinstance(event, Edit) or (state.meeting is not None and not settings.direct):
        return []
    return [effect(WrittenChanged(event.target, event.sender, event.body, event.room_id,
                                  event.event_id, event.live))]


def on_redaction(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    if not isinstance(event, Redaction):
        return []
    return [effect(WrittenChanged(event.target, "", None))]


def on_meeting_started(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: Event
) -> list[Effect]:
    """Opened by the calendar (the bot's call carries the tick's id): a digest follows."""
    key = SlotKey.parse(event.event_id.removeprefix("tick:"))
    if key is None or key.what != "open" or key.region != settings.region.id:
        return []
    return [effect(WrittenDigest(meeting.id, meeting.room_id, key.region, key.number))]


# -- the window and the digest (pure: the shell hands in what it read) --------------------


def window(starts: datetime, ends: datetime, around: timedelta) -> tuple[datetime, datetime]:
    """When a planned meeting's prompts take written answers: ``around`` before its start
    until ``around`` after its end."""
    return starts - around, ends + around


@dataclass(frozen=True)
class Answered:
    """One written answer as the digest shows it: its texts by language (the original and
    its translations from the record)."""

    prompt_id: str
    name: str
    texts: Mapping[str, str]


DIGEST_QUOTES = 3  # answers quoted per prompt; the others are counted


def digest_lines(
    prompts: Sequence[tuple[str, Mapping[str, str]]], answers: Sequence[Answered]
) -> list[Msg | str]:
    """The digest of the written answers so far, per prompt (agenda order), each answer in
    the reader's language when the record has it. Rendered once per room language."""
    if not answers:
        return [_("✍ No written answers came in before the meeting.")]
    lines: list[Msg | str] = [ngettext(
        "✍ **Written answers before the meeting:** {count} answer.",
        "✍ **Written answers before the meeting:** {count} answers.", len(answers))]
    for prompt_id, texts in prompts:
        mine = [a for a in answers if a.prompt_id == prompt_id]
        if not mine:
            continue
        lines.append(ngettext("**{prompt}** — {count} answer:",
                              "**{prompt}** — {count} answers:", len(mine),
                              prompt=Localized(texts)))
        for answer in mine[:DIGEST_QUOTES]:
            lines.append(_("• {name}: {text}", name=answer.name, text=Localized(answer.texts)))
        if len(mine) > DIGEST_QUOTES:
            lines.append(ngettext("• and {count} more answer", "• and {count} more answers",
                                  len(mine) - DIGEST_QUOTES))
    return lines


HOOKS = Hooks(
    message=(on_message,),
    edit=(on_edit,),
    redaction=(on_redaction,),
    meeting_started=(on_meeting_started,),
)
