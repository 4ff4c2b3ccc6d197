"""What ``!check`` asks the shells to do: read a message back through the machine, and
remember who wants that for every message they write in meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from meetbot.core.effects import Effect


@dataclass(frozen=True)
class CheckMessage:
    """Translate the author's message into the room's other languages and back, score each
    round trip, and tell the author by direct message.

    ``asked_by``: the ``!check`` that asked for it (None: the author's ``!check auto``, which
    the shell carries out only for people who turned it on, and only reports low scores).
    ``keep``: the message is in the meeting's record, so its checks are stored with it.
    """

    room_id: str
    event_id: str  # the message checked
    author: str
    text: str
    languages: tuple[str, ...] = field(default_factory=tuple)
    source_language: str | None = None
    meeting_id: str | None = None
    asked_by: str | None = None
    keep: bool = True


@dataclass(frozen=True)
class SetCheckMode:
    """``!check auto`` (``mode`` "auto") or ``!check off`` ("off") for one person."""

    user_id: str
    mode: str


@dataclass(frozen=True)
class ForgetChecks:
    """The message was redacted: its checks leave the record with it."""

    event_id: str


def effect(value: CheckMessage | SetCheckMode | ForgetChecks) -> Effect:
    """These travel in the core's effect list like the built-in effects; the check shell
    keeps them (``app.persisters``)."""
    return cast(Effect, value)
