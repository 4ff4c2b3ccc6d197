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
class Attachment:
    """A file, image, sound, video or sticker shared in the room. The record keeps where it
    is (its ``mxc://`` address), never its bytes, nor the key of an encrypted one."""

    kind: str  # m.image | m.file | m.audio | m.video | m.sticker
    name: str  # the file name (a sticker's description)
    url: str  # mxc:// URI; "" when the event gave none
    mimetype: str | None = None
    size: int | None = None  # bytes, as the sender's client declared it
    encrypted: bool = False  # shared in an encrypted room: the file is ciphertext


@dataclass(frozen=True)
class Message(RoomEvent):
    # What the person wrote: never the quoted text of a reply's fallback. For an attachment,
    # its caption ("" when the client sent only the file name).
    body: str
    display_name: str = ""
    # m.text | m.emote | m.notice, an attachment's (m.image, m.file, m.audio, m.video,
    # m.sticker), or m.poll / m.location for the text of a poll or a location.
    msgtype: str = "m.text"
    mentions: tuple[str, ...] = ()
    reply_to: str | None = None  # the event this one answers (a real reply, not a thread's)
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
    attachment: Attachment | None = None


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
