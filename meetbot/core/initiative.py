"""The bot acting on its own initiative: when a timer fires, or on behalf of a reaction.

Meeting commands are written for a :class:`Call` (a person's message). A timer that opens a
meeting or moves to the next prompt reuses them through a call whose "message" is the bot's
own, carrying the tick's id and time, so replaying the tick gives the same record.
"""

from __future__ import annotations

from meetbot.core.effects import Notice
from meetbot.core.events import Message, RoomEvent
from meetbot.core.model import RoomSettings, RoomState
from meetbot.core.registry import Call, active_features
from meetbot.i18n import Msg


def bot_call(state: RoomState, settings: RoomSettings, event: RoomEvent, command: str) -> Call:
    """A call of ``command`` made by the bot itself, at ``event``'s time and identity."""
    found = active_features().commands.lookup(command)
    assert found is not None, f"{command} is not registered"
    message = Message(
        event_id=event.event_id,
        room_id=event.room_id,
        sender=settings.bot_user_id,
        at=event.at,
        body="",
        live=event.live,
    )
    return Call(found, message, state, settings)


def announce(
    settings: RoomSettings,
    room_id: str,
    key: str,
    *lines: Msg | str,
    mentions: tuple[str, ...] = (),
    languages: tuple[str, ...] | None = None,
) -> Notice:
    """A notice the meeting produces (always posted), in the room's languages."""
    return Notice(
        room_id=room_id,
        lines=lines,
        languages=languages or settings.languages,
        mentions=mentions,
        kind="announce",
        key=key,
    )


def reply_to(
    settings: RoomSettings, event: RoomEvent, key: str, *lines: Msg | str,
    mentions: tuple[str, ...] = (),
) -> Notice:
    """An answer to one person's event (dropped when the event is history)."""
    return Notice(
        room_id=event.room_id,
        lines=lines,
        languages=settings.languages,
        reply_to=event.event_id,
        mentions=mentions,
        kind="reply",
        key=key,
    )
