"""A small Matrix client for the people of the demo: log in, create or join rooms, send,
and collect every message of the rooms it is in (unencrypted rooms only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    MatrixRoom,
    ProfileSetDisplayNameResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)

SYNC_TIMEOUT_MS = 10_000
# Synapse leaves a gap in a sync holding more than ~10 events of one room: ask for all of them.
SYNC_FILTER = {"room": {"timeline": {"limit": 1000}}}


class DemoClientError(RuntimeError):
    """A Matrix request of a demo person failed."""


@dataclass(frozen=True)
class Message:
    """One ``m.room.message`` as a client saw it."""

    event_id: str
    sender: str
    msgtype: str
    body: str
    reply_to: str | None
    content: dict[str, Any]


def _message(event: dict[str, Any]) -> Message | None:
    if event.get("type") != "m.room.message":
        return None
    content = event.get("content") or {}
    relates = content.get("m.relates_to") or {}
    return Message(
        event_id=str(event.get("event_id", "")),
        sender=str(event.get("sender", "")),
        msgtype=str(content.get("msgtype", "")),
        body=str(content.get("body", "")),
        reply_to=(relates.get("m.in_reply_to") or {}).get("event_id"),
        content=content,
    )


class DemoClient:
    """One person of the demo, logged in with a token from registration."""

    def __init__(self, homeserver: str, user_id: str, device_id: str, access_token: str) -> None:
        config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False)
        self.client = AsyncClient(homeserver, user_id, device_id=device_id, config=config)
        self.client.restore_login(user_id, device_id, access_token)
        self.user_id = user_id
        self._messages: dict[str, list[Message]] = defaultdict(list)
        self._seen: set[str] = set()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._sync_loop(), name=f"demo-sync-{self.user_id}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.client.close()

    async def _sync_loop(self) -> None:
        token: str | None = None
        try:
            while True:
                response = await self.client.sync(
                    timeout=SYNC_TIMEOUT_MS, since=token, sync_filter=SYNC_FILTER
                )
                if not isinstance(response, SyncResponse):
                    await asyncio.sleep(0.5)
                    continue
                token = response.next_batch
                async with self._changed:
                    for room_id, info in response.rooms.join.items():
                        for event in info.timeline.events:
                            self._record(room_id, event.source)
                    self._changed.notify_all()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # surfaced by the next wait
            self._error = exc
            async with self._changed:
                self._changed.notify_all()

    def _record(self, room_id: str, source: dict[str, Any]) -> None:
        message = _message(source)
        if message is None or message.event_id in self._seen:
            return
        self._seen.add(message.event_id)
        self._messages[room_id].append(message)

    # -- reading ----------------------------------------------------------------------
    def messages(self, room_id: str) -> list[Message]:
        return list(self._messages.get(room_id, []))

    async def wait_until(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        def ready() -> Any:
            if self._error is not None:
                raise DemoClientError(f"{self.user_id}: sync failed: {self._error}")
            return check()

        try:
            async with self._changed:
                return await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except asyncio.TimeoutError:
            raise DemoClientError(f"{self.user_id}: waited {timeout:.0f} s for {what}") from None

    async def wait_for_message(
        self,
        room_id: str,
        predicate: Callable[[Message], bool],
        *,
        after: str | None = None,
        timeout: float = 30.0,
        what: str = "a message",
    ) -> Message:
        """The first message in ``room_id`` (after event ``after``) matching ``predicate``."""

        def find() -> Message | None:
            messages = self._messages.get(room_id, [])
            start = 0
            if after is not None:
                ids = [m.event_id for m in messages]
                if after not in ids:
                    return None
                start = ids.index(after) + 1
            return next((m for m in messages[start:] if predicate(m)), None)

        found: Message = await self.wait_until(find, timeout, what)
        return found

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 30.0) -> None:
        def joined() -> bool:
            room: MatrixRoom | None = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users

        await self.wait_until(joined, timeout, f"{user_id} to join {room_id}")

    # -- acting -----------------------------------------------------------------------
    async def set_display_name(self, name: str) -> None:
        response = await self.client.set_displayname(name)
        if not isinstance(response, ProfileSetDisplayNameResponse):
            raise DemoClientError(f"{self.user_id}: cannot set display name: {response}")

    async def create_room(self, name: str, alias: str, invite: Iterable[str]) -> str:
        response = await self.client.room_create(alias=alias, name=name, invite=list(invite))
        if not isinstance(response, RoomCreateResponse):
            raise DemoClientError(f"{self.user_id}: cannot create room {name!r}: {response}")
        return response.room_id

    async def join(self, room: str) -> str:
        response = await self.client.join(room)
        if not isinstance(response, JoinResponse):
            raise DemoClientError(f"{self.user_id}: cannot join {room}: {response}")
        return response.room_id

    async def send(self, room_id: str, body: str, mentions: Iterable[str] = ()) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        mentioned = list(mentions)
        if mentioned:
            content["m.mentions"] = {"user_ids": mentioned}
        response = await self.client.room_send(room_id, "m.room.message", content)
        if not isinstance(response, RoomSendResponse):
            raise DemoClientError(f"{self.user_id}: cannot send to {room_id}: {response}")
        return response.event_id
