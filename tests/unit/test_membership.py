"""Joining the configured rooms at start: one question for the rooms the bot is in already."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nio import JoinedRoomsResponse, JoinError, JoinResponse
from shell_helpers import COORD, ROOM, config_file, open_bound

from meetbot.matrix.membership import RoomMembership

GONE = "!gone:example.org"


class Client:
    """What the homeserver says: the bot is in ``member_of``; joining ``GONE`` is refused."""

    user_id = "@bot:example.org"

    def __init__(self, member_of: list[str]) -> None:
        self.rooms: dict[str, Any] = {}
        self.member_of = member_of
        self.requests: list[str] = []

    async def joined_rooms(self) -> JoinedRoomsResponse:
        self.requests.append("joined_rooms")
        return JoinedRoomsResponse(self.member_of)

    async def join(self, room_id: str) -> Any:
        self.requests.append(f"join {room_id}")
        if room_id == GONE:
            return JoinError("You are not invited to this room.", "M_FORBIDDEN")
        return JoinResponse(room_id)


async def test_a_restart_joins_only_the_rooms_the_bot_is_not_in(tmp_path: Path) -> None:
    app = await open_bound(config_file(tmp_path, coordinator=True))
    try:
        client = Client(member_of=[ROOM])
        await RoomMembership(app, client).join_configured()  # type: ignore[arg-type]
        assert client.requests == ["joined_rooms", f"join {COORD}"]
        assert app.region_rooms["latam"] == ROOM and app.coordinator_room == COORD
        assert app.unreachable_rooms == {}
    finally:
        await app.store.db.close()


async def test_a_room_the_bot_is_no_longer_in_is_joined_or_marked_unreachable(
    tmp_path: Path,
) -> None:
    region = {"id": "latam", "name": "Latin America", "room": GONE, "timezone": "UTC"}
    app = await open_bound(config_file(tmp_path, regions=[region]))
    try:
        client = Client(member_of=[])
        await RoomMembership(app, client).join_configured()  # type: ignore[arg-type]
        assert client.requests == ["joined_rooms", f"join {GONE}"]
        assert GONE in app.unreachable_rooms
    finally:
        await app.store.db.close()
