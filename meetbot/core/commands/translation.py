"""Live translation, as the core sees it: which text goes to which languages, and when.

The core decides *what* to translate (a participant's message, an item's text, an edit)
and into which languages (the room's, plus those chosen by people present); the
live-translation shell does the slow work off the event loop and posts the notices.
"""

from __future__ import annotations

import re
from dataclasses import replace

from meetbot.core.effects import (
    Effect,
    RetractTranslation,
    SetRoomTranslation,
    SetUserLanguage,
    Translate,
)
from meetbot.core.events import Edit, Message, Redaction
from meetbot.core.hooks import Hooks
from meetbot.core.mentions import names_in
from meetbot.core.model import ItemKind, Meeting, RoomSettings, RoomState
from meetbot.core.registry import (
    Call,
    Scope,
    UsageError,
    command,
    facilitators_only,
    is_facilitator,
    optional_text,
    optional_word,
)
from meetbot.i18n import SUPPORTED_LANGUAGES, Code, _

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
# The bot's own languages, named in the reader's language.
LANGUAGE_NAMES = {"en": _("English"), "fr": _("French"), "es": _("Spanish")}


def target_languages(settings: RoomSettings, meeting: Meeting | None) -> tuple[str, ...]:
    """The room's languages, then any language a person present has chosen."""
    languages = list(settings.languages)
    if meeting is not None and meeting.chosen_languages:  # most meetings: nobody chose one
        present = set(meeting.present())
        for user, lang in meeting.chosen_languages.items():
            if user in present and lang not in languages:
                languages.append(lang)
    return tuple(languages)


def _translatable(event: Message) -> bool:
    return (
        event.msgtype in ("m.text", "m.emote")
        and not event.withdrawn
        and not getattr(event, "sender_opted_out", False)
        and bool(event.body.strip())
    )


def remember_language(state: RoomState, settings: RoomSettings, event: Message) -> list[Effect]:
    """A message says the language its author chose (with !lang, or their client): the
    meeting reads their words in it from then on."""
    meeting = state.meeting
    if meeting is not None and event.sender_language:
        meeting.chosen_languages[event.sender] = event.sender_language
    return []


def on_message(state: RoomState, settings: RoomSettings, event: Message) -> list[Effect]:
    meeting = state.meeting
    if not _translatable(event):
        return []
    if meeting is None:
        if not settings.translate_always or event.body.startswith(settings.command_prefix):
            return []
        return [_translate(settings, None, event.event_id, event.body, event, None)]
    entry = meeting.log_entry(event.event_id)
    if entry is None:
        return []
    if not entry.is_command:
        return [_translate(settings, meeting, event.event_id, event.body, event, None)]
    item = meeting.item_for_event(event.event_id)
    if item is not None and item.kind is not ItemKind.PROMPT and item.text:
        return [_translate(settings, meeting, event.event_id, item.text, event, None)]
    return []


def _translate(
    settings: RoomSettings,
    meeting: Meeting | None,
    key_event: str,
    text: str,
    event: Message | Edit,
    edit_of: str | None,
) -> Translate:
    thread_root = event.thread_root if isinstance(event, Message) else None
    source = event.sender_language if isinstance(event, Message) else None
    if source is None and meeting is not None:
        source = meeting.chosen_languages.get(event.sender)
    return Translate(
        room_id=event.room_id,
        event_id=key_event,
        meeting_id=meeting.id if meeting else None,
        text=text,
        sender=event.sender,
        languages=target_languages(settings, meeting),
        source_language=source,
        edit_of=edit_of,
        thread_root=thread_root,
        names=names_in([text], meeting.names) if meeting is not None else {},
    )


def on_edit(state: RoomState, settings: RoomSettings, event: Edit) -> list[Effect]:
    meeting = state.meeting
    if meeting is None:
        return []
    entry = meeting.log_entry(event.target)
    if entry is None or entry.redacted or not entry.edits or entry.edits[-1][1] != event.body:
        return []  # the core did not accept this edit
    if not entry.is_command:
        text = event.body
    else:
        item = meeting.item_for_event(event.target)
        if item is None or item.struck or item.kind is ItemKind.PROMPT:
            return []
        text = item.text
    return [
        replace(
            _translate(settings, meeting, event.target, text, event, event.target),
            edit_event=event.event_id,
        )
    ]


def on_redaction(state: RoomState, settings: RoomSettings, event: Redaction) -> list[Effect]:
    meeting = state.meeting
    if meeting is None or meeting.log_entry(event.target) is None:
        return []
    return [RetractTranslation(event.room_id, event.target)]


HOOKS = Hooks(message=(remember_language, on_message), edit=(on_edit,),
              redaction=(on_redaction,), effects_only=(on_message, on_edit, on_redaction))


@command(
    "lang",
    usage="[en|fr|es]",
    args=optional_word,
    scope=Scope.ROOM,
    direct=True,
    group="translation",
    summary=_("Show or choose the language you write and read in."),
)
def do_lang(call: Call, code: str | None) -> None:
    current = call.event.sender_language
    if code is None:
        if current:
            call.reply(_("You write and read in {lang}. Change it with {usage}.",
                         lang=Code(current), usage=Code(f"{call.prefix}lang fr")))
        else:
            call.reply(_("You have not chosen a language; the bot guesses it from each message. "
                         "Choose one with {usage}.", usage=Code(f"{call.prefix}lang es")))
        return
    code = code.lower()
    if code in ("auto", "none", "off"):
        call.emit(SetUserLanguage(call.event.sender, None))
        call.reply(_("The bot will guess the language of your messages again."))
        return
    if not LANGUAGE_CODE.match(code):
        raise UsageError(_("{code} is not a language code such as en, fr or es.", code=code))
    call.emit(SetUserLanguage(call.event.sender, code))
    meeting = call.state.meeting
    if meeting is not None:
        meeting.chosen_languages[call.event.sender] = code
    if code in SUPPORTED_LANGUAGES:
        call.reply(_("Your language is now {name} ({lang}).", name=LANGUAGE_NAMES[code],
                     lang=Code(code)), language=code)
    else:
        call.reply(_("Your language is now {lang} (the bot's own messages stay in English).",
                     lang=Code(code)))


@command(
    "translate",
    usage="on|off|TEXT",
    args=optional_text,
    scope=Scope.ROOM,
    group="translation",
    summary=_("Translate a text, or the message you reply to; a facilitator turns live "
              "translation on or off for the room."),
)
def do_translate(call: Call, text: str) -> None:
    word = text.lower()
    if word in ("on", "off"):
        if not is_facilitator(call.settings, call.state.meeting, call.event):
            call.reply(facilitators_only(f"{call.prefix}translate {word}"))
            return
        call.emit(SetRoomTranslation(call.event.room_id, word == "on"))
        if word == "on":
            call.announce(_("Live translation is on in this room."))
        else:
            call.announce(_("Live translation is off in this room; messages are still recorded."))
        return
    source_event = call.event.event_id
    if not text and call.event.reply_to:
        # Translate the message replied to; when the record does not hold it (no meeting),
        # the shell fetches it from the homeserver (empty text here).
        source_event = call.event.reply_to
        meeting = call.state.meeting
        entry = meeting.log_entry(source_event) if meeting else None
        text = entry.current_body if entry else ""
    elif not text:
        raise UsageError(_("Give a text, or reply to a message with this command."))
    call.emit(
        Translate(
            room_id=call.event.room_id,
            event_id=source_event,
            meeting_id=None,  # on demand: answered, never stored
            text=text,
            sender=call.event.sender,
            languages=target_languages(call.settings, call.state.meeting),
            reply_to=call.event.event_id,
            names=names_in([text], call.state.meeting.names) if call.state.meeting else {},
        )
    )

