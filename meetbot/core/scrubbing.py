"""What stays of a command when its author's words must go (redaction, withdrawal).

A meeting is rebuilt by replaying its events, so a removed message keeps its place: its text
goes, and a command that shaped the meeting (``!startmeeting``, ``!next``, ``!prompt ID``,
``!strike N``, ``!endmeeting`` ...) stays without any words the person typed, so the meeting
still starts, its prompts come in the same order and item numbers do not move.

What "its words" are is decided here, once, for every store that rewrites stored events
(redaction, opt-out, withdrawal): the text, the name the person went by, whom they named and
the file they shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meetbot.core.registry import (
    CommandRegistry,
    duration,
    number,
    optional_duration,
    optional_text,
    optional_user,
    optional_word,
    split_command,
    user,
    word,
)

# Commands that leave nothing structural behind: removed like any message.
NEVER_KEPT = frozenset({"here", "help", "status", "items", "optout", "optin", "withdraw"})
# Argument kinds that hold no words of the person: ids, numbers, durations, user ids.
STRUCTURAL_ARGS = (number, word, optional_word, user, optional_user, duration, optional_duration)


def structural_command(body: str, prefix: str, commands: CommandRegistry) -> str | None:
    """The part of a command worth keeping once its author's words are gone, if any."""
    parsed = split_command(body, prefix)
    if parsed is None:
        return None
    name, args = parsed
    command = commands.lookup(name)
    if command is None or command.name in NEVER_KEPT:
        return None
    if command.args is None or command.args is optional_text:
        return f"{prefix}{name}"
    if command.args in STRUCTURAL_ARGS:
        return f"{prefix}{name} {args}".rstrip()
    return None


def message_without_words(
    fields: Mapping[str, Any], kept: str | None, *, created_item: bool
) -> dict[str, Any]:
    """A stored message's fields (as the event store keeps them) once its author's words are
    gone. ``kept``: the structural command that stays (:func:`structural_command`), if any.

    A kept command keeps the people it named: they are part of its structure (``!chair``,
    ``!call`` name a person by a pill, which only ``mentions`` holds), so replaying it gives
    the same meeting. Anything else becomes a withdrawn placeholder that says nothing, not
    even what it answered.
    """
    data = dict(fields)
    data.update(body="", display_name="", attachment=None)
    if kept is not None:
        data["body"] = kept
    else:
        data.update(mentions=[], reply_to=None, withdrawn=True, created_item=created_item)
    return data


def edit_without_words(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A stored edit's fields once its author's words are gone."""
    return {**fields, "body": "", "mentions": []}
