"""The chat command table, generated from the command registry (the README embeds it)."""

from __future__ import annotations

import meetbot.core.engine  # noqa: F401 - registers the core commands
from meetbot.core.registry import Role, Scope, registry
from meetbot.runtime.features import load_features


def command_table(prefix: str = "!") -> str:
    load_features()
    rows = ["| command | aliases | who | where | does |", "|---|---|---|---|---|"]
    for command in registry.in_order():
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
