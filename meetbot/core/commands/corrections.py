"""Human corrections of machine translations: ``!fix`` and ``!unfix``.

Anyone replies to one of the bot's translation notices with ``!fix TEXT`` (``!fix es TEXT``
when the notice holds several languages); a facilitator takes a correction back with
``!unfix`` (or ``!fix undo``) as a reply to the corrected notice. The core checks what it
can see (a reply, some text, who may undo) and asks the shell to act: only the shell knows
which message a notice translates, and it answers once.
"""

from __future__ import annotations

from meetbot.core.effects import CorrectTranslation
from meetbot.core.model import ItemKind, Meeting
from meetbot.core.registry import (
    Call,
    Role,
    Scope,
    UsageError,
    command,
    facilitators_only,
    is_facilitator,
    optional_text,
    optional_word,
)
from meetbot.i18n import Code, _

UNDO_WORDS = frozenset({"undo", "annuler", "deshacer"})


def translated_text(meeting: Meeting, event_id: str) -> str | None:
    """The text the live translation of ``event_id`` was made from, as the core chose it
    (a message's words, or an item's text for a command such as ``!agreed``)."""
    entry = meeting.log_entry(event_id)
    if entry is None or entry.redacted:
        return None
    if not entry.is_command:
        return entry.current_body
    item = meeting.item_for_event(event_id)
    if item is None or item.kind is ItemKind.PROMPT:
        return None
    return item.text


def _name(call: Call) -> str:
    meeting = call.state.meeting
    if meeting is not None and call.event.sender in meeting.names:
        return meeting.name_of(call.event.sender)
    return call.event.display_name or call.event.sender


def _ask(call: Call, text: str, *, undo: bool) -> None:
    if not call.event.live:
        return  # the bot was away: recorded, never acted on
    call.emit(
        CorrectTranslation(
            room_id=call.event.room_id,
            event_id=call.event.event_id,
            notice_id=call.event.reply_to or "",
            sender=call.event.sender,
            name=_name(call),
            text=text,
            undo=undo,
            reader_language=call.reader_language,
            thread_root=call.event.thread_root,
        )
    )


def _undo(call: Call, lang: str) -> None:
    if not is_facilitator(call.settings, call.state.meeting, call.event):
        call.reply(facilitators_only(call.prefix + "unfix"))
        return
    _ask(call, lang, undo=True)


def _needs_reply(call: Call) -> None:
    if not call.event.reply_to:
        raise UsageError(
            _("Use it as a reply to one of my translation notices: reply to the notice, "
              "then type {example}.", example=Code(f"{call.prefix}fix your translation"))
        )


@command(
    "fix",
    usage="[LANG] TEXT | undo",
    args=optional_text,
    scope=Scope.ROOM,
    group="translation",
    summary=_("Reply to a translation notice with your own translation: the bot corrects "
              "the notice and uses your version for that sentence from then on."),
)
def do_fix(call: Call, text: str) -> None:
    _needs_reply(call)
    first, _sep, rest = text.partition(" ")
    if first.lower() in UNDO_WORDS:
        _undo(call, rest.strip())
        return
    if not text:
        raise UsageError(_("Give your translation after {command}, e.g. {example}.",
                           command=Code(f"{call.prefix}fix"),
                           example=Code(f"{call.prefix}fix es Compartimos nuestras notas")))
    _ask(call, text, undo=False)


@command(
    "unfix",
    usage="[LANG]",
    args=optional_word,
    role=Role.FACILITATOR,
    scope=Scope.ROOM,
    group="translation",
    summary=_("A facilitator takes back a correction: reply to the corrected notice."),
)
def do_unfix(call: Call, lang: str | None) -> None:
    _needs_reply(call)
    _undo(call, lang or "")
