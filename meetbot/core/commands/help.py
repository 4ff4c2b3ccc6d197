"""``!help``: the command list and each command's usage, from the registry."""

from __future__ import annotations

from meetbot.core.registry import Call, Command, Role, Scope, UsageError, command, optional_word
from meetbot.i18n import Code, Msg, _


@command(
    "help",
    usage="[COMMAND]",
    args=optional_word,
    scope=Scope.ROOM,
    direct=True,
    summary=_("List the commands, or explain one."),
)
def do_help(call: Call, name: str | None) -> None:
    prefix = call.prefix
    if name:
        command = call.features.commands.lookup(name.lstrip(prefix))
        if command is None:
            raise UsageError(_("There is no command {command}.", command=Code(prefix + name)))
        call.reply(*describe(command, prefix))
        return
    if call.settings.direct:
        lines: list[Msg | str] = [_("**In a direct chat** I answer these commands:")]
        commands = call.features.commands.direct()
    else:
        lines = [_("**meetbot commands** (f = facilitators and chairs only):")]
        commands = call.features.commands.in_order()
    for command in commands:
        marker = " (f)" if command.role is Role.FACILITATOR else ""
        lines.append(
            _(
                "{usage}{marker} — {summary}",
                usage=Code(command.usage_line(prefix)),
                marker=marker,
                summary=command.summary,
            )
        )
    call.reply(*lines)


def describe(command: Command, prefix: str) -> list[Msg | str]:
    lines: list[Msg | str] = [
        _("{usage} — {summary}", usage=Code(command.usage_line(prefix)), summary=command.summary)
    ]
    if command.aliases:
        names = tuple(Code(prefix + a) for a in command.aliases)
        lines.append(_("Also: {names}", names=names))
    if command.role is Role.FACILITATOR:
        lines.append(_("For facilitators and chairs."))
    return lines
