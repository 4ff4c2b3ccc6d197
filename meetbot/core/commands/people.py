"""Who is at the meeting: chairs and attendance."""

from __future__ import annotations

from meetbot.core.registry import Call, Role, UsageError, command, user
from meetbot.i18n import Pill, _


@command(
    "chair",
    usage="@user",
    args=user,
    role=Role.FACILITATOR,
    summary=_("Make someone a chair of this meeting."),
)
def do_chair(call: Call, who: str) -> None:
    call.meeting.chairs.add(who)
    call.reply(
        _("{name} is now a chair.", name=Pill(who, call.meeting.name_of(who))), mentions=(who,)
    )


@command(
    "unchair",
    usage="@user",
    args=user,
    role=Role.FACILITATOR,
    summary=_("Remove someone from the chairs of this meeting."),
)
def do_unchair(call: Call, who: str) -> None:
    meeting = call.meeting
    if who not in meeting.chairs:
        raise UsageError(_("{name} is not a chair.", name=meeting.name_of(who)))
    meeting.chairs.discard(who)
    call.reply(_("{name} is no longer a chair.", name=meeting.name_of(who)))


@command("here", summary=_("Mark yourself present."))
def do_here(call: Call) -> None:
    meeting = call.meeting
    meeting.attendance.setdefault(call.event.sender, call.event.at)
    call.reply(_("{name} is present.", name=meeting.name_of(call.event.sender)))
