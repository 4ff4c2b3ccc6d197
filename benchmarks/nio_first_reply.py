"""Baseline process of ``bot_bench.py --only startup``: the least a Matrix bot can do to answer.

It logs in with a password, syncs, answers the first ``!status`` sent in the room after
``START_MS`` (server time) with an m.notice replying to it, and exits. No database, no
end-to-end encryption, no configuration: what is left is Python, matrix-nio and the network.

    python benchmarks/nio_first_reply.py URL USER_ID PASSWORD ROOM_ID START_MS
"""

from __future__ import annotations

import asyncio
import sys

from nio import AsyncClient, LoginResponse, MatrixRoom, RoomMessageText


async def main(url: str, user_id: str, password: str, room_id: str, start_ms: int) -> None:
    client = AsyncClient(url, user_id)
    login = await client.login(password, device_name="bench-baseline")
    if not isinstance(login, LoginResponse):
        raise SystemExit(f"login failed: {login}")
    print(f"logged in as {user_id}", flush=True)
    answered = asyncio.Event()

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if answered.is_set() or room.room_id != room_id or event.sender == client.user_id:
            return
        if event.server_timestamp < start_ms or event.body.strip() != "!status":
            return
        answered.set()
        print(f"answering {event.event_id}", flush=True)
        await client.room_send(
            room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": "status: running",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            },
        )

    client.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
    try:
        while not answered.is_set():
            await client.sync(timeout=30_000)
    finally:
        await client.close()


if __name__ == "__main__":
    url, user, password, room, start = sys.argv[1:6]
    asyncio.run(main(url, user, password, room, int(start)))
