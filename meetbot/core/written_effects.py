"""What the written-answers feature asks the shells to do (see :mod:`meetbot.core.written`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from meetbot.core.effects import Effect


@dataclass(frozen=True)
class WrittenCandidate:
    """A message that may answer a written prompt: a thread message in a room (``parent``:
    the thread root) or, in a direct chat, a reply (``parent``: the message replied to)."""

    event_id: str
    room_id: str
    sender: str
    display_name: str
    body: str
    at: datetime
    parent: str
    direct: bool
    language: str | None  # the sender's chosen language, if any
    live: bool = True


@dataclass(frozen=True)
class WrittenChanged:
    """A candidate answer was edited (``body``, by ``edit_event``) or redacted (``body``
    None)."""

    event_id: str
    sender: str
    body: str | None
    room_id: str = ""
    edit_event: str = ""
    live: bool = True


@dataclass(frozen=True)
class AsyncChoice:
    """``!async on``/``off``: the prompts go to this direct chat (``room_id``), or no more."""

    user_id: str
    room_id: str | None


@dataclass(frozen=True)
class WrittenDigest:
    """A scheduled meeting opened: tell its room what was written so far, per prompt."""

    meeting_id: str
    room_id: str
    region_id: str
    number: int


def effect(value: WrittenCandidate | WrittenChanged | AsyncChoice | WrittenDigest) -> Effect:
    """These travel in the core's effect list; the written-answers shell keeps them."""
    return cast(Effect, value)
