"""A direct chat with a person, for what the bot tells them alone (``!check``'s answers).

The direct chat the person opened with the bot, or one the bot opened before, is used again
while they are in it (or invited); otherwise the bot opens one and remembers it, so the next
answer goes to the same chat and the personal commands are answered there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nio import AsyncClient, RoomCreateResponse

from meetbot.app import MeetBotApp

log = logging.getLogger(__name__)

# open_direct(user_id) -> the room id of a direct chat with them (None: none could be opened).
DirectOpener = Callable[[str], Awaitable[str | None]]


def direct_opener(app: MeetBotApp, client: AsyncClient | None) -> DirectOpener:
    opened: dict[str, str] = {}  # chats opened since the start (not synced yet, maybe)

    async def open_direct(user_id: str) -> str | None:
        if client is None:
            return None
        if user_id in opened:
            return opened[user_id]
        for room_id, person in app.direct_rooms.items():
            room = client.rooms.get(room_id)
            if person == user_id and room is not None and (
                user_id in room.users or user_id in room.invited_users
            ):
                return room_id
        response = await client.room_create(is_direct=True, invite=[user_id])
        if not isinstance(response, RoomCreateResponse):
            log.warning("could not open a direct chat with %s: %s", user_id, response)
            return None
        await app.remember_direct_room(response.room_id, user_id)
        opened[user_id] = response.room_id
        return response.room_id

    return open_direct
