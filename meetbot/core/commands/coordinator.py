"""Commands of the coordinator room: the cross-region report on demand."""

from __future__ import annotations

from meetbot.core.privacy_effects import ReportRequested, effect
from meetbot.core.registry import Call, Role, Scope, command
from meetbot.i18n import _


@command(
    "report",
    role=Role.FACILITATOR,
    scope=Scope.COORDINATOR,
    group="coordinator",
    summary=_("Build the report over all meetings held and post it here."),
)
def do_report(call: Call) -> None:
    call.emit(effect(ReportRequested(call.event.room_id, call.event.event_id)))
    call.reply(_("Building the report over all meetings held; it follows in a moment."))
