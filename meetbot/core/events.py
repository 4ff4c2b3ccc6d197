"""What can happen in a room, as the core sees it.

The Matrix shell turns nio events into these. Each carries everything the core needs to
decide, including facts about the sender at the time (their power level), so that replaying
the stored events rebuilds exactly the same meeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RoomEvent:
    event_id: str
    room_id: str
    sender: str
    at: datetime
    # False for events that happened while the bot was away: they are recorded, never answered.
    live: bool = field(default=True, kw_only=True)


@dataclass(frozen=True)
class Message(RoomEvent):
    body: str
    display_name: str = ""
    msgtype: str = "m.text"  # m.text | m.emote | m.notice
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None
    thread_root: str | None = None
    sender_power: int = 0
    sender_language: str | None = None  # the language the sender chose with !lang
    # The sender had opted out of the record when this was sent (the shell keeps no text
    # of theirs then, except the consent commands they may still use).
    sender_opted_out: bool = False
    # Set when the text was removed from the store (redaction, opt-out, withdrawal): the
    # event keeps its place so item numbers stay stable, and carries no text.
    withdrawn: bool = False
    created_item: bool = False


@dataclass(frozen=True)
class Edit(RoomEvent):
    target: str
    body: str
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Redaction(RoomEvent):
    target: str
    reason: str | None = None


@dataclass(frozen=True)
class Reaction(RoomEvent):
    target: str
    key: str


@dataclass(frozen=True)
class Membership(RoomEvent):
    """``sender`` is the member whose membership changed (the state key)."""

    membership: str  # join | leave | ban | invite
    display_name: str = ""


@dataclass(frozen=True)
class Tick(RoomEvent):
    """A timer the core asked for has fired. ``event_id`` is derived from the timer key."""

    timer: str = ""


Event = Message | Edit | Redaction | Reaction | Membership | Tick

EVENT_TYPES: dict[str, type[RoomEvent]] = {
    cls.__name__: cls for cls in (Message, Edit, Redaction, Reaction, Membership, Tick)
}
