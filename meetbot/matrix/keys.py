"""End-to-end encryption: the bot's own keys, and the events that wait for a room key.

The device's keys are uploaded, queried and claimed after every sync. A message that cannot
be decrypted yet is kept (in the database too: the sync token moves on, so a restart would
not see it again), its key is asked for (once per Megolm session), and decrypting it is
tried again after each sync for ``UNDECRYPTED_GRACE_S``; then the bot gives up on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from nio import AsyncClient, MatrixRoom, MegolmEvent
from nio import Event as NioEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from meetbot.storage.store import Store

log = logging.getLogger(__name__)

UNDECRYPTED_GRACE_S = 600

# Handles a decrypted event: (room, event, history).
EventHandler = Callable[[MatrixRoom, NioEvent, bool], Awaitable[None]]


class KeyKeeper:
    """The device's keys, and the encrypted events waiting for theirs."""

    def __init__(self, client: AsyncClient, store: Store) -> None:
        self.client = client
        self.store = store
        # (room id, event, first seen (epoch s), history): kept in the database too.
        self._undecrypted: list[tuple[str, MegolmEvent, float, bool]] = []
        self._key_requests: set[str] = set()

    async def maintain(self) -> None:
        """Upload, query and claim keys as the client asks; send queued to-device messages."""
        client = self.client
        if not client.olm:
            return
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except (LocalProtocolError, EncryptionError) as exc:
            log.warning("key maintenance: %s", exc)

    async def hold(self, room_id: str, event: MegolmEvent, *, history: bool) -> None:
        """Keep an event that cannot be decrypted yet (in the database: the sync token moves
        on, so a restart would not see it again) and ask for its key."""
        first_seen = time.time()
        self._undecrypted.append((room_id, event, first_seen, history))
        async with self.store.db.transaction():
            await self.store.keep_undecrypted(
                event.event_id, room_id, {**event.source, "room_id": room_id}, first_seen
            )
        await self._request_key(event)

    async def load(self) -> None:
        """The events still waiting when the bot last stopped (handled as history)."""
        for room_id, source, first_seen in await self.store.undecrypted():
            event = MegolmEvent.from_dict(source)
            if isinstance(event, MegolmEvent):
                event.room_id = room_id
                self._undecrypted.append((room_id, event, first_seen, True))
                await self._request_key(event)

    async def retry(self, handle: EventHandler) -> None:
        """Keys can arrive after the message: try again for a grace period; what decrypts
        goes to ``handle``."""
        if not self._undecrypted:
            return
        waiting, self._undecrypted = self._undecrypted, []
        now = time.time()
        for room_id, event, first_seen, history in waiting:
            room = self.client.rooms.get(room_id)
            try:
                decrypted = self.client.decrypt_event(event)
            except (EncryptionError, LocalProtocolError):
                decrypted = None
            done = True
            if (
                decrypted is not None
                and room is not None
                and not isinstance(decrypted, MegolmEvent)
            ):
                await handle(room, decrypted, history)
            elif now - first_seen < UNDECRYPTED_GRACE_S:
                self._undecrypted.append((room_id, event, first_seen, history))
                done = False
            else:
                log.warning("gave up decrypting %s in %s", event.event_id, room_id)
            if done:
                async with self.store.db.transaction():
                    await self.store.forget_undecrypted(event.event_id)

    async def _request_key(self, event: MegolmEvent) -> None:
        if event.session_id in self._key_requests:
            return
        self._key_requests.add(event.session_id)
        try:
            await self.client.request_room_key(event)
        except (LocalProtocolError, EncryptionError) as exc:
            log.debug("key request for %s: %s", event.event_id, exc)
