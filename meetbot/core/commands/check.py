"""A check for authors: how my message reads in the room's other languages.

``!check`` as a reply to one's own message asks the bot to translate it into each of the
room's languages and back, and to say by direct message how close the round trip came
(chrF). ``!check auto`` asks for it on every message one writes in meetings (only low scores
are sent); ``!check off`` stops it. The core only decides what to check; the check shell
(:mod:`meetbot.translation.checks`) does the translating, scoring and telling.
"""

from __future__ import annotations

from meetbot.core.check_effects import CheckMessage, ForgetChecks, SetCheckMode, effect
from meetbot.core.commands.translation import target_languages
from meetbot.core.effects import Effect
from meetbot.core.events import Message, Redaction
from meetbot.core.hooks import Hooks
from meetbot.core.model import ItemKind, RoomSettings, RoomState
from meetbot.core.registry import Call, Scope, UsageError, command, optional_word
from meetbot.i18n import Code, _

MODES = {"auto": "auto", "on": "auto", "off": "off"}


def _source_language(state: RoomState, event: Message) -> str | None:
    if event.sender_language:
        return event.sender_language
    meeting = state.meeting
    return meeting.chosen_languages.get(event.sender) if meeting is not None else None


def on_message(state: RoomState, settings: RoomSettings, event: Message) -> list[Effect]:
    """Every message a person writes in a meeting may be checked for them: the shell checks
    it only if they turned ``!check auto`` on (it knows who did, the record does not)."""
    meeting = state.meeting
    if (
        meeting is None
        or not event.live  # said while the bot was away long ago: recorded, not checked
        or settings.direct
        or event.msgtype not in ("m.text", "m.emote")
        or event.withdrawn
        or event.sender_opted_out
        or not event.body.strip()
    ):
        return []
    entry = meeting.log_entry(event.event_id)
    if entry is None or entry.is_command:
        return []
    languages = target_languages(settings, meeting)
    if len(languages) < 2 and not event.sender_language:
        return []
    return [effect(CheckMessage(
        room_id=event.room_id, event_id=event.event_id, author=event.sender, text=event.body,
        languages=languages, source_language=_source_language(state, event),
        meeting_id=meeting.id,
    ))]


def on_redaction(state: RoomState, settings: RoomSettings, event: Redaction) -> list[Effect]:
    """A redacted message's checks go with it, whichever meeting it was in."""
    return [effect(ForgetChecks(event.target))]


HOOKS = Hooks(message=(on_message,), redaction=(on_redaction,),
              effects_only=(on_message, on_redaction))


@command(
    "check",
    usage="[auto|off]",
    args=optional_word,
    scope=Scope.ROOM,
    direct=True,
    group="translation",
    summary=_("Reply to your own message to see how it reads in the room's other languages "
              "and back (by direct message); auto checks all yours, off stops."),
)
def do_check(call: Call, word: str | None) -> None:
    event = call.event
    if not event.live and word is None:
        return  # asked long before the bot came back: its answer would come out of the blue
    if word is not None:
        mode = MODES.get(word.lower())
        if mode is None:
            raise UsageError(_("{word} is not auto or off.", word=word))
        call.emit(effect(SetCheckMode(event.sender, mode)))
        if mode == "auto":
            call.reply(_("From now on the bot checks every message you write in meetings and "
                         "tells you by direct message when one may read poorly in another "
                         "language. {off} stops it.", off=Code(f"{call.prefix}check off")))
        else:
            call.reply(_("The bot no longer checks your messages by itself. Reply to one of "
                         "them with {check} to check it.", check=Code(f"{call.prefix}check")))
        return
    if call.settings.direct:
        call.reply(_("In a direct chat, {check} takes auto or off. To check a message, reply "
                     "to it with {check} in its meeting room.", check=Code(f"{call.prefix}check")))
        return
    target = event.reply_to
    if target is None:
        raise UsageError(_("Reply to one of your own messages with this command."))
    meeting = call.state.meeting
    entry = meeting.log_entry(target) if meeting is not None else None
    if meeting is None or entry is None:
        call.reply(_("I can only check a message of the meeting running in this room: reply "
                     "with {check} to one you wrote in it.", check=Code(f"{call.prefix}check")))
        return
    if entry.sender != event.sender:
        call.reply(_("You can only check your own messages: reply with {check} to one you "
                     "wrote.", check=Code(f"{call.prefix}check")))
        return
    text = entry.current_body
    if entry.is_command:
        item = meeting.item_for_event(target)
        text = item.text if item is not None and item.kind is not ItemKind.PROMPT \
            and not item.struck else ""
    if not text.strip():
        call.reply(_("That message has no text left to check."))
        return
    call.emit(effect(CheckMessage(
        room_id=event.room_id, event_id=target, author=event.sender, text=text,
        languages=target_languages(call.settings, meeting),
        source_language=_source_language(call.state, event), meeting_id=meeting.id,
        asked_by=event.event_id, keep=not event.sender_opted_out,
    )))  # answered by direct message only: the room's conversation is not interrupted
