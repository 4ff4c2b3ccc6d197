"""What stays of an event when its author's words must go (redaction, opt-out, withdrawal).

A meeting is rebuilt by replaying its events, so a removed message keeps its place: its text
goes, and a command that shaped the meeting (``!startmeeting``, ``!next``, ``!prompt ID``,
``!strike N``, ``!endmeeting`` ...) stays without any words the person typed, so the meeting
still starts, its prompts come in the same order and item numbers do not move.

What "its words" are is decided here, once, over the core's events, for every store that
rewrites stored events (:mod:`meetbot.storage.store` for a redaction,
:mod:`meetbot.research.removal` for an opt-out or a withdrawal): the text, the name the person
went by, whom they named, the file they shared, their reaction and their reason. The stores
decode a stored event, ask :func:`without_words` what is kept of it, and store that.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from meetbot.core.events import Edit, Event, Membership, Message, Reaction, Redaction, Tick
from meetbot.core.registry import (
    Command,
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


class Commands(Protocol):
    """The commands a prefix can name (a command registry)."""

    def lookup(self, name: str) -> Command | None: ...


# Commands that leave nothing structural behind: removed like any message.
NEVER_KEPT = frozenset({"here", "help", "status", "items", "optout", "optin", "withdraw"})
# Argument kinds that hold no words of the person: ids, numbers, durations, user ids.
STRUCTURAL_ARGS = (number, word, optional_word, user, optional_user, duration, optional_duration)


def structural_command(body: str, prefix: str, commands: Commands) -> str | None:
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


def without_words(
    event: Event, prefix: str, commands: Commands, *, created_item: bool = False
) -> Event:
    """``event`` as the record keeps it once its author's words are gone.

    - A message loses its text, the name its author went by and the file it shared. A
      structural command (:func:`structural_command`) stays as that command, with the people
      it named: they are part of its structure (``!chair``, ``!call`` name a person by a pill,
      which only ``mentions`` holds), so replaying it gives the same meeting. Anything else
      becomes a withdrawn placeholder that says nothing, not even what it answered;
      ``created_item``: it had created an item, whose number the placeholder keeps.
    - An edit loses its text, whom it named and what it edited: it changes nothing on replay.
    - A reaction loses its key (the emoji is what the person said): no response is left.
    - A membership change loses the display name it set; the membership itself stays (who
      was there is part of the meeting: attendance, the queue).
    - A redaction loses its reason; what it removed stays removed.
    - A tick is the bot's timer firing: it holds nobody's words and stays as it is.

    The sender stays: a withdrawal writes a stand-in over it (:func:`under_stand_in`).
    """
    if isinstance(event, Message):
        kept = structural_command(event.body, prefix, commands)
        if kept is not None:
            return replace(event, body=kept, display_name="", attachment=None)
        return replace(
            event, body="", display_name="", attachment=None, mentions=(), reply_to=None,
            withdrawn=True, created_item=created_item,
        )
    if isinstance(event, Edit):
        return replace(event, body="", mentions=(), target="")
    if isinstance(event, Reaction):
        return replace(event, key="")
    if isinstance(event, Membership):
        return replace(event, display_name="")
    if isinstance(event, Redaction):
        return replace(event, reason=None)
    if isinstance(event, Tick):
        return event
    raise TypeError(f"no scrub rule for {type(event).__name__}")  # pragma: no cover


def redaction_removes_words(event: Event) -> bool:
    """Whether redacting ``event`` (or the message it edits) rewrites it by
    :func:`without_words`: a message or an edit, yes.

    A reaction, a membership change, a redaction or a tick stays as it was recorded: the
    redaction that follows it in the record already undoes what the meeting lets it undo (a
    response withdrawn while its proposal is open); rewriting a reaction would take its
    response out of a proposal that had closed before, changing the proposal on replay.
    Opting out and withdrawing rewrite every kind (:mod:`meetbot.research.removal`).
    """
    return isinstance(event, (Message, Edit))


def under_stand_in(event: Event, stand_in: str, *, facilitator_power: int | None) -> Event:
    """A withdrawn person's event (already :func:`without_words`) under the stand-in that
    replaces their id. A kept command keeps the authority its author had
    (``facilitator_power``: they were a facilitator by the configuration, which does not know
    the stand-in), so it still runs on replay."""
    if isinstance(event, Message) and not event.withdrawn and facilitator_power is not None:
        # Every message without_words keeps and does not withdraw is a structural command.
        return replace(
            event, sender=stand_in, sender_power=max(event.sender_power, facilitator_power)
        )
    return replace(event, sender=stand_in)


def words_of(event: Event, prefix: str) -> set[str]:
    """The texts of the person's that ``event`` holds, to find the bot's copies of them
    (notices and tasks quoting them): a message's text, its shared file's name and a
    command's arguments (as the summaries quote an item), an edit's text, a redaction's
    reason. Empty texts are left out."""
    texts: set[str] = set()
    if isinstance(event, Message):
        texts.add(event.body)
        if event.attachment is not None:
            texts.add(event.attachment.name)
        parsed = split_command(event.body, prefix)
        if parsed is not None:
            texts.add(parsed[1])  # the item's text, as the summaries quote it
    elif isinstance(event, Edit):
        texts.add(event.body)
    elif isinstance(event, Redaction):
        texts.add(event.reason or "")
    return {t for t in texts if t}
