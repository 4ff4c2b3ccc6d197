"""What the core asks the shells to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from meetbot.i18n import Msg


@dataclass(frozen=True)
class Notice:
    """Post an ``m.notice`` to a room, in the given languages (one block per language).

    ``kind`` is ``reply`` for answers to a person (acknowledgements, errors, help), which are
    dropped for events that happened while the bot was away, and ``announce`` for what the
    meeting itself produces (prompts, results), which is always posted.
    """

    room_id: str
    lines: tuple[Msg | str, ...]
    languages: tuple[str, ...] = ("en",)
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    kind: str = "reply"
    key: str = ""  # stable identity used to make sending idempotent


@dataclass(frozen=True)
class MeetingStarted:
    meeting_id: str
    room_id: str


@dataclass(frozen=True)
class MeetingEnded:
    """Write the minutes and deliver them to the room and the coordinator."""

    meeting_id: str
    room_id: str


@dataclass(frozen=True)
class StartTimer:
    key: str
    room_id: str
    at: datetime


@dataclass(frozen=True)
class CancelTimer:
    key: str


@dataclass(frozen=True)
class Translate:
    """Translate a recorded message for the room (handled by the translation shell)."""

    room_id: str
    event_id: str
    meeting_id: str | None
    text: str
    sender: str
    languages: tuple[str, ...] = field(default_factory=tuple)


Effect = Notice | MeetingStarted | MeetingEnded | StartTimer | CancelTimer | Translate
