"""The Matrix shell: syncs, turns events into core events, sends what the outbox holds.

It keeps its own sync token and stores it only after every event of a sync has been handled
(nio would store it before), pages the gap after downtime, and sends through an outbox whose
transaction ids make every resend idempotent.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import sqlite3
import time
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomMessagesResponse,
    RoomRedactResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncError,
    SyncResponse,
)
from nio import Event as NioEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from meetbot.app import MeetBotApp
from meetbot.matrix.convert import convert
from meetbot.storage.store import OutboxMessage
from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
MAX_GAP_PAGES = 100
UNDECRYPTED_GRACE_S = 600
SEND_GIVE_UP_AFTER = 5
TOKEN_KEY = "next_batch"
LAST_SYNC_KEY = "last_sync_ms"


class DanglingReference(Exception):
    pass


class Sent(enum.Enum):
    DONE = "done"
    WAIT = "wait"
    RETRY = "retry"


class StoreUnavailable(Exception):
    """The database refused a write: the sync is handled again later, nothing is skipped."""


class MatrixBot:
    def __init__(self, app: MeetBotApp, client: AsyncClient) -> None:
        self.app = app
        self.client = client
        self.store = app.store
        self.config = app.config
        self.started_at_ms = int(time.time() * 1000)
        self.synced = asyncio.Event()  # set after each handled sync (tests and demo wait on it)
        self.ready = asyncio.Event()  # rooms joined and meetings restored
        self._stop = asyncio.Event()
        # (room id, event, first seen (epoch s), history): kept in the database too.
        self._undecrypted: list[tuple[str, MegolmEvent, float, bool]] = []
        self._key_requests: set[str] = set()
        # The newest homeserver timestamp handled: gap paging compares server times only.
        self._newest_ts = 0

    # -- life cycle -------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self.app.outbox_ready.set()

    async def run(self) -> None:
        """Sync until stopped. The caller closes the client (never logs out)."""
        await self._maintain_keys()
        token = await self.store.get_value(TOKEN_KEY)
        if token is None:
            token = await self._first_sync()
        await self.join_configured_rooms()
        await self.app.restore()
        await self._load_undecrypted()
        self.ready.set()
        sender = asyncio.create_task(self._outbox_loop(), name="meetbot-outbox")
        try:
            await self._sync_loop(token)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _first_sync(self) -> str:
        """The very first start: learn the rooms, answer nothing from history."""
        while not self._stop.is_set():
            response = await self.client.sync(timeout=0, full_state=True)
            if isinstance(response, SyncResponse):
                await self._handle_invites(response)
                async with self.store.db.transaction():
                    await self.store.set_value(TOKEN_KEY, response.next_batch)
                    await self.store.set_value(LAST_SYNC_KEY, str(self.started_at_ms))
                return response.next_batch
            log.warning("first sync failed: %s; retrying", response)
            await self._sleep(5)
        raise asyncio.CancelledError

    async def join_configured_rooms(self) -> None:
        wanted: list[tuple[str | None, str]] = [(r.id, r.room) for r in self.config.regions]
        if self.config.coordinator:
            wanted.append((None, self.config.coordinator.room))
        for region_id, room in wanted:
            room_id = await self._join(room)
            if room_id is None:
                continue  # the binding remembered from an earlier start (if any) stays
            await self.app.remember_binding(region_id, room_id)

    async def _join(self, room: str) -> str | None:
        room_id = room
        if room.startswith("#"):
            resolved = await self.client.room_resolve_alias(room)
            if not isinstance(resolved, RoomResolveAliasResponse):
                log.warning("cannot resolve %s: %s", room, resolved)
                return None
            room_id = resolved.room_id
        if room_id in self.client.rooms:
            return room_id
        joined = await self.client.join(room_id)
        if isinstance(joined, JoinResponse):
            return joined.room_id
        log.warning("cannot join %s (invite the bot, then it joins by itself): %s", room, joined)
        return room_id

    # -- syncing ----------------------------------------------------------------------
    async def _sync_loop(self, token: str) -> None:
        full_state = True
        delay = 1.0
        while not self._stop.is_set():
            sync = asyncio.ensure_future(
                self.client.sync(timeout=SYNC_TIMEOUT_MS, since=token, full_state=full_state)
            )
            stopper = asyncio.ensure_future(self._stop.wait())
            done, _pending = await asyncio.wait(
                {sync, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            if sync not in done:
                sync.cancel()
                await asyncio.gather(sync, return_exceptions=True)
                break
            stopper.cancel()
            try:
                response = sync.result()
            except Exception as exc:  # network trouble nio did not absorb
                log.warning("sync failed: %s; retrying in %.0fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60)
                continue
            if isinstance(response, SyncError):
                log.warning("sync error: %s; retrying in %.0fs", response, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60)
                continue
            delay = 1.0
            full_state_sent, full_state = full_state, False
            try:
                await self._handle_sync(response, catch_up=full_state_sent)
            except StoreUnavailable as exc:
                # Handle the same sync again (events already stored are skipped by id).
                log.warning("database unavailable (%s); retrying in %.0fs", exc, delay)
                full_state = full_state_sent
                await self._sleep(delay)
                delay = min(delay * 2, 60)
                continue
            token = response.next_batch
            async with self.store.db.transaction():
                await self.store.set_value(TOKEN_KEY, token)
                if self._newest_ts:
                    await self.store.set_value(LAST_SYNC_KEY, str(self._newest_ts))
            await self._maintain_keys()
            self.synced.set()
            self.synced.clear()

    async def _handle_sync(self, response: SyncResponse, *, catch_up: bool) -> None:
        """Handle one sync. ``catch_up``: the first after start, holding what was missed."""
        await self._handle_invites(response)
        last_sync = int(await self.store.get_value(LAST_SYNC_KEY) or 0)
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events: list[Any] = list(info.timeline.events)
            gap: list[Any] = []
            if info.timeline.limited and info.timeline.prev_batch:
                gap = await self._fill_gap(room, info.timeline.prev_batch, last_sync)
            for event in gap:
                await self._handle_event(room, event, history=True)
            for event in events:
                await self._handle_event(room, event, history=catch_up)
        await self._retry_undecrypted()

    async def _fill_gap(self, room: MatrixRoom, prev_batch: str, since_ms: int) -> list[Any]:
        """Events a limited sync left out, oldest first (paged back with /messages)."""
        collected: list[Any] = []
        start = prev_batch
        for _page in range(MAX_GAP_PAGES):
            response = await self.client.room_messages(
                room.room_id, start=start, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            reached_known = False
            for event in response.chunk:
                ts = getattr(event, "server_timestamp", 0) or 0
                if ts and ts < since_ms - 60_000:
                    reached_known = True
                    break
                if await self.store.has_event(event.event_id):
                    reached_known = True
                    break
                collected.append(event)
            if reached_known or not response.end:
                break
            start = response.end
        collected.reverse()
        if collected:
            log.info("paged %d missed events in %s", len(collected), room.room_id)
        return collected

    async def _handle_event(self, room: MatrixRoom, event: NioEvent, history: bool = False) -> None:
        """Hand one event to the app. History (missed while away) is recorded, not answered."""
        if isinstance(event, MegolmEvent):
            await self._wait_for_key(room.room_id, event, time.time(), history)
            return
        if event.sender == self.client.user_id:
            return
        sent_at = getattr(event, "server_timestamp", 0) or 0
        self._newest_ts = max(self._newest_ts, sent_at)
        live = not history or sent_at >= self.started_at_ms
        core_event = convert(
            room,
            event,
            live=live,
            language_of=self.app.user_languages,
            opted_out=self.app.opted_out,
            command_prefix=self.config.command_prefix,
        )
        if core_event is None:
            return
        try:
            await self.app.ingest(core_event)
        except sqlite3.Error as exc:
            # The database is busy or full: stop here, keep the sync token, try again.
            raise StoreUnavailable(str(exc)) from exc
        except Exception:
            # A bug in handling this one event: never let it stop the room (logged in full).
            log.exception("event %s in %s was not handled", event.event_id, room.room_id)

    async def _handle_invites(self, response: SyncResponse) -> None:
        allowed = set(self.config.facilitators)
        if self.config.coordinator:
            allowed.update(self.config.coordinator.users)
        for room_id, info in response.rooms.invite.items():
            inviter = None
            for event in info.invite_state:
                if (
                    isinstance(event, InviteMemberEvent)
                    and event.state_key == self.client.user_id
                    and event.membership == "invite"
                ):
                    inviter = event.sender
            if inviter is None:
                continue
            if inviter in allowed or room_id in self._configured_room_ids():
                log.info("accepting the invite of %s to %s", inviter, room_id)
                await self.client.join(room_id)
            else:
                log.info("declining the invite of %s to %s (not a facilitator)", inviter, room_id)
                await self.client.room_leave(room_id)

    def _configured_room_ids(self) -> set[str]:
        rooms = set(self.app.region_rooms.values())
        rooms.update(r.room for r in self.config.regions)
        if self.app.coordinator_room:
            rooms.add(self.app.coordinator_room)
        return rooms

    # -- encryption -------------------------------------------------------------------
    async def _maintain_keys(self) -> None:
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

    async def _request_key(self, event: MegolmEvent) -> None:
        if event.session_id in self._key_requests:
            return
        self._key_requests.add(event.session_id)
        try:
            await self.client.request_room_key(event)
        except (LocalProtocolError, EncryptionError) as exc:
            log.debug("key request for %s: %s", event.event_id, exc)

    async def _wait_for_key(
        self, room_id: str, event: MegolmEvent, first_seen: float, history: bool
    ) -> None:
        """Keep an event that cannot be decrypted yet (in the database: the sync token moves
        on, so a restart would not see it again) and ask for its key."""
        self._undecrypted.append((room_id, event, first_seen, history))
        async with self.store.db.transaction():
            await self.store.keep_undecrypted(
                event.event_id, room_id, {**event.source, "room_id": room_id}, first_seen
            )
        await self._request_key(event)

    async def _load_undecrypted(self) -> None:
        for room_id, source, first_seen in await self.store.undecrypted():
            event = MegolmEvent.from_dict(source)
            if isinstance(event, MegolmEvent):
                event.room_id = room_id
                self._undecrypted.append((room_id, event, first_seen, True))
                await self._request_key(event)

    async def _retry_undecrypted(self) -> None:
        """Keys can arrive after the message: try again for a grace period."""
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
                await self._handle_event(room, decrypted, history=history)
            elif now - first_seen < UNDECRYPTED_GRACE_S:
                self._undecrypted.append((room_id, event, first_seen, history))
                done = False
            else:
                log.warning("gave up decrypting %s in %s", event.event_id, room_id)
            if done:
                async with self.store.db.transaction():
                    await self.store.forget_undecrypted(event.event_id)

    # -- sending ----------------------------------------------------------------------
    async def _outbox_loop(self) -> None:
        while not self._stop.is_set():
            self.app.outbox_ready.clear()
            pending = await self.store.pending_outbox()
            progressed = False
            for message in pending:
                if self._stop.is_set():
                    return
                outcome = await self._send(message)
                if outcome is Sent.RETRY:
                    await self._sleep(min(2**message.attempts, 30))
                    break
                progressed = progressed or outcome is Sent.DONE
            if not progressed:
                # Nothing could go (empty, or only rows waiting for another row): wait.
                await wait_or_timeout(self.app.outbox_ready, 5 if not pending else 0.5)

    async def _send(self, message: OutboxMessage) -> Sent:
        """Send one message: DONE (sent or given up), WAIT (it refers to a row not sent yet:
        the rows after it may go first) or RETRY (a transient failure: try again, in order)."""
        try:
            content = await self._resolve_placeholders(message.content)
        except DanglingReference as exc:
            # What it points at was never sent (nothing to edit or redact): drop it.
            async with self.store.db.transaction():
                await self.store.mark_attempt(message.id, str(exc), give_up=True)
            return Sent.DONE
        if content is None:
            return Sent.WAIT
        try:
            if message.event_type == "m.room.redaction":
                response = await self.client.room_redact(
                    message.room_id,
                    str(content["redacts"]),
                    content.get("reason"),
                    tx_id=message.txn_id,
                )
            else:
                response = await self.client.room_send(
                    message.room_id,
                    message.event_type,
                    content,
                    tx_id=message.txn_id,
                    ignore_unverified_devices=True,
                )
        except (LocalProtocolError, EncryptionError, OSError, asyncio.TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            give_up = message.attempts + 1 >= SEND_GIVE_UP_AFTER
            async with self.store.db.transaction():
                await self.store.mark_attempt(message.id, error, give_up)
            log.warning("sending to %s failed: %s", message.room_id, error)
            return Sent.DONE if give_up else Sent.RETRY
        if isinstance(response, (RoomSendResponse, RoomRedactResponse)):
            async with self.store.db.transaction():
                await self.store.mark_sent(message.id, response.event_id)
            return Sent.DONE
        status = getattr(response, "status_code", None) or ""
        transient = status in ("M_LIMIT_EXCEEDED", "M_UNKNOWN") or not status.startswith("M_")
        give_up = not transient and message.attempts + 1 >= SEND_GIVE_UP_AFTER
        async with self.store.db.transaction():
            await self.store.mark_attempt(message.id, str(response), give_up)
        log.warning("sending to %s failed: %s", message.room_id, response)
        if status == "M_LIMIT_EXCEEDED":
            retry = getattr(response, "retry_after_ms", None) or 1000
            await self._sleep(retry / 1000)
        return Sent.DONE if give_up else Sent.RETRY

    async def _resolve_placeholders(self, content: dict[str, Any]) -> dict[str, Any] | None:
        """Outbox rows may point at another row's event as ``txn:ID`` (edits, redactions).

        None while that row is not sent yet (rows go in order, so it is usually sent).
        """
        redacts = content.get("redacts")
        if isinstance(redacts, str) and redacts.startswith("txn:"):
            event_id = await self._sent(redacts[4:])
            return None if event_id is None else {**content, "redacts": event_id}
        relates = content.get("m.relates_to")
        if not isinstance(relates, dict):
            return content
        target = relates.get("event_id")
        if isinstance(target, str) and target.startswith("txn:"):
            event_id = await self._sent(target[4:])
            if event_id is None:
                return None
            content = {**content, "m.relates_to": {**relates, "event_id": event_id}}
        return content

    async def _sent(self, txn_id: str) -> str | None:
        state = await self.store.outbox_state(txn_id)
        if state is None or state[0] == "failed":
            raise DanglingReference(f"refers to {txn_id}, which was never sent")
        return state[1]

    async def _sleep(self, seconds: float) -> None:
        await wait_or_timeout(self._stop, seconds)
