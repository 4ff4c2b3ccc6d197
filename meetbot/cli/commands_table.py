"""The chat command table, generated from the command registry (the README embeds it)."""

from __future__ import annotations

from meetbot.core.registry import Role, Scope
from meetbot.runtime.features import features


def command_table(prefix: str = "!") -> str:
    rows = ["| command | aliases | who | where | does |", "|---|---|---|---|---|"]
    for command in features().commands.in_order():
        who = "facilitator" if command.role is Role.FACILITATOR else "anyone"
        where = {
            Scope.MEETING: "in a meeting",
            Scope.ROOM: "any room",
            Scope.COORDINATOR: "coordinator room",
        }[command.scope]
        if command.direct:
            where += ", direct chat"
        aliases = ", ".join(f"`{prefix}{a}`" for a in command.aliases)
        summary = _cell(command.summary.render("en"))
        usage = _cell(command.usage_line(prefix))
        rows.append(f"| `{usage}` | {aliases} | {who} | {where} | {summary} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    """A table cell: a pipe would end it (GitHub honours ``\\|`` even inside code)."""
    return text.replace("|", "\\|")
