"""What stays of a command when its author's words must go (redaction, withdrawal).

A meeting is rebuilt by replaying its events, so a removed message keeps its place: its text
goes, and a command that shaped the meeting (``!startmeeting``, ``!next``, ``!prompt ID``,
``!strike N``, ``!endmeeting`` ...) stays without any words the person typed, so the meeting
still starts, its prompts come in the same order and item numbers do not move.
"""

from __future__ import annotations

from meetbot.core.commands import (
    duration,
    number,
    optional_duration,
    optional_text,
    optional_user,
    optional_word,
    registry,
    split_command,
    user,
    word,
)

# Commands that leave nothing structural behind: removed like any message.
NEVER_KEPT = frozenset({"here", "help", "status", "items", "optout", "optin", "withdraw"})
# Argument kinds that hold no words of the person: ids, numbers, durations, user ids.
STRUCTURAL_ARGS = (number, word, optional_word, user, optional_user, duration, optional_duration)


def structural_command(body: str, prefix: str) -> str | None:
    """The part of a command worth keeping once its author's words are gone, if any."""
    parsed = split_command(body, prefix)
    if parsed is None:
        return None
    name, args = parsed
    command = registry.lookup(name)
    if command is None or command.name in NEVER_KEPT:
        return None
    if command.args is None or command.args is optional_text:
        return f"{prefix}{name}"
    if command.args in STRUCTURAL_ARGS:
        return f"{prefix}{name} {args}".rstrip()
    return None
