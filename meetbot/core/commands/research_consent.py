"""Consent: opting out of the record, back in, and withdrawing what one said.

The shell tells the core who has opted out (``Message.sender_opted_out``) and keeps no text of
theirs; the commands here only announce and ask the shells to act (store the choice, remove
the text), so replaying a meeting never repeats a withdrawal by itself.
"""

from __future__ import annotations

from meetbot.core.privacy_effects import ConsentChanged, WithdrawalRequested, effect
from meetbot.core.registry import USER_ID, Call, Scope, command, optional_text, split_command
from meetbot.i18n import Code, _

# The commands an opted-out person can still use; everything else they type is not recorded.
CONSENT_COMMANDS = frozenset({"optout", "optin", "withdraw", "help"})
CONFIRM_WORDS = frozenset({"confirm", "confirmer", "confirmar"})


def kept_when_opted_out(body: str, prefix: str) -> bool:
    """Whether the shell keeps the text of an opted-out person's message (a consent command)."""
    parsed = split_command(body, prefix)
    return parsed is not None and parsed[0] in CONSENT_COMMANDS


@command(
    "optout",
    scope=Scope.ROOM,
    direct=True,
    group="consent",
    summary=_("Keep your messages out of the record from now on (this meeting's are removed)."),
)
def do_optout(call: Call) -> None:
    event = call.event
    if event.sender_opted_out:
        call.reply(_("You have already opted out. Type {optin} to be recorded again.",
                     optin=Code(f"{call.prefix}optin")))
        return
    meeting = call.state.meeting
    meeting_id = meeting.id if meeting else None
    call.emit(effect(ConsentChanged(event.sender, True, event.room_id, meeting_id, event.at)))
    if call.settings.direct:
        call.reply(_("Done: from now on your messages in meetings are not kept. Type {optin} "
                     "to be recorded again, or {withdraw} to delete what you said before.",
                     optin=Code(f"{call.prefix}optin"), withdraw=Code(f"{call.prefix}withdraw")))
        return
    # Announced, never answered: the notice names nobody and points at no message.
    call.announce(_("Someone opted out of the record: from now on their messages are not kept, "
                    "and what they said in this meeting has been removed."))


@command(
    "optin",
    scope=Scope.ROOM,
    direct=True,
    group="consent",
    summary=_("Be recorded again after opting out."),
)
def do_optin(call: Call) -> None:
    event = call.event
    if not event.sender_opted_out:
        call.reply(_("You have not opted out: your messages in meetings are recorded."))
        return
    meeting = call.state.meeting
    meeting_id = meeting.id if meeting else None
    call.emit(effect(ConsentChanged(event.sender, False, event.room_id, meeting_id, event.at)))
    call.reply(_("Welcome back: your messages are recorded again from now on."))


@command(
    "withdraw",
    usage="[confirm]",
    args=optional_text,
    scope=Scope.ROOM,
    direct=True,
    group="consent",
    summary=_("Delete everything you said from the research record, in every meeting."),
)
def do_withdraw(call: Call, arg: str) -> None:
    event = call.event
    words = {w.lower() for w in arg.split()}
    named = [u.rstrip(".,;:!?") for u in USER_ID.findall(arg)]
    if words - CONFIRM_WORDS:  # a pill shows a name in the body and the user in the mentions
        named += list(event.mentions)
    if any(user != event.sender for user in named):
        call.reply(_("Nobody can withdraw someone else's contributions: each person types "
                     "{withdraw} for themselves.", withdraw=Code(f"{call.prefix}withdraw")))
        return
    if not words & CONFIRM_WORDS:
        call.reply(
            _("This deletes everything you said in every meeting from the research record "
              "(messages, ideas, actions, their translations) and cannot be undone. The minutes "
              "and reports are written again without it. To go ahead, type {confirm}.",
              confirm=Code(f"{call.prefix}withdraw confirm"))
        )
        return
    call.emit(effect(WithdrawalRequested(event.sender, event.room_id, event.event_id, event.at)))
    call.reply(_("Your withdrawal is under way. You will get a direct message when it is done."))
