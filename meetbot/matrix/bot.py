"""The Matrix shell: syncs, turns events into core events, sends what the outbox holds.

It keeps its own sync token and stores it only after every event of a sync has been handled
(nio would store it before), pages the gap after downtime, and sends through an outbox whose
transaction ids make every resend idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from nio import (
    AsyncClient,
    InviteAliasEvent,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomMessage,
    RoomMessagesResponse,
    RoomResolveAliasResponse,
    SyncError,
    SyncResponse,
)
from nio import Event as NioEvent
from nio.exceptions import EncryptionError, LocalProtocolError

from meetbot.app import MeetBotApp
from meetbot.core.durations import format_duration
from meetbot.core.effects import Notice
from meetbot.i18n import Msg, _, ngettext
from meetbot.matrix.convert import convert
from meetbot.matrix.outbox import OutboxSender
from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
MAX_GAP_PAGES = 100
UNDECRYPTED_GRACE_S = 600
TOKEN_KEY = "next_batch"
LAST_SYNC_KEY = "last_sync_ms"


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
        self.outbox = OutboxSender(app, client)
        self._stop = asyncio.Event()
        # (room id, event, first seen (epoch s), history): kept in the database too.
        self._undecrypted: list[tuple[str, MegolmEvent, float, bool]] = []
        self._key_requests: set[str] = set()
        # The newest homeserver timestamp handled: gap paging compares server times only.
        self._newest_ts = 0
        # Aliases of the configured rooms, resolved (alias -> room id), for invites.
        self._aliases: dict[str, str] = {}
        app.is_member = self._is_member

    # -- life cycle -------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self.outbox.stop()

    async def run(self) -> None:
        """Sync until stopped. The caller closes the client (never logs out)."""
        await self._maintain_keys()
        await self._resolve_configured_aliases()
        token = await self.store.get_value(TOKEN_KEY)
        if token is None:
            token = await self._first_sync()
        await self.join_configured_rooms()
        await self.app.restore()
        await self._load_undecrypted()
        self.ready.set()
        sender = asyncio.create_task(self.outbox.run(), name="meetbot-outbox")
        try:
            await self._sync_loop(token)
        finally:
            self.outbox.stop()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _first_sync(self) -> str:
        """The very first start: learn the rooms, answer nothing from history."""
        delay = 1.0
        while not self._stop.is_set():
            response = await self.client.sync(timeout=0, full_state=True)
            if isinstance(response, SyncResponse):
                await self._handle_invites(response)
                async with self.store.db.transaction():
                    await self.store.set_value(TOKEN_KEY, response.next_batch)
                    await self.store.set_value(LAST_SYNC_KEY, str(self.started_at_ms))
                return response.next_batch
            log.warning("first sync failed: %s; retrying in %.0fs", response, delay)
            await self._sleep(delay)
            delay = min(delay * 2, 30)
        raise asyncio.CancelledError

    def _is_member(self, user_id: str, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users

    def _configured(self) -> list[tuple[str | None, str]]:
        """(region id, or None for the coordinator; room id or alias) of every room named in
        the config."""
        wanted: list[tuple[str | None, str]] = [(r.id, r.room) for r in self.config.regions]
        if self.config.coordinator:
            wanted.append((None, self.config.coordinator.room))
        return wanted

    async def _resolve_configured_aliases(self) -> None:
        for _region, room in self._configured():
            if room.startswith("#") and room not in self._aliases:
                resolved = await self.client.room_resolve_alias(room)
                if isinstance(resolved, RoomResolveAliasResponse):
                    self._aliases[room] = resolved.room_id

    async def join_configured_rooms(self) -> None:
        for region_id, room in self._configured():
            room_id = await self._join(room)
            if room_id is None:
                continue  # the binding remembered from an earlier start (if any) stays
            await self.app.remember_binding(region_id, room_id)
        await self._tell_unreachable()

    async def _join(self, room: str) -> str | None:
        """Join a configured room; None (and the room marked unreachable) if that fails."""
        room_id = self._aliases.get(room, room)
        if room.startswith("#") and room not in self._aliases:
            resolved = await self.client.room_resolve_alias(room)
            if not isinstance(resolved, RoomResolveAliasResponse):
                self._unreachable(room, room, f"the alias does not resolve ({resolved})")
                return None
            room_id = self._aliases[room] = resolved.room_id
        if room_id in self.client.rooms:
            self.app.mark_reachable(room_id)
            return room_id
        joined = await self.client.join(room_id)
        if isinstance(joined, JoinResponse):
            self.app.mark_reachable(joined.room_id)
            return joined.room_id
        self._unreachable(room, room_id, str(joined))
        return room_id

    def _unreachable(self, room: str, room_id: str, why: str) -> None:
        log.error(
            "cannot join the configured room %s: %s. Invite %s to it (anyone in the room "
            "can), or correct the room in the config; the bot joins by itself once invited.",
            room,
            why,
            self.client.user_id,
        )
        self.app.mark_unreachable(room_id, why)

    async def _tell_unreachable(self) -> None:
        """Tell the coordinator room (once a day while it lasts) which rooms cannot be
        reached, once the coordinator room itself is reachable."""
        coordinator = self.app.coordinator_room
        missing = [r for r in self.app.unreachable_rooms if r != coordinator]
        if not missing or coordinator is None or coordinator in self.app.unreachable_rooms:
            return
        day = time.strftime("%Y-%m-%d", time.gmtime())
        labels = [self.app.room_label(r) for r in missing]
        await self.app.post_notice(
            Notice(
                room_id=coordinator,
                lines=tuple(
                    _("I cannot reach {room}: invite me there (or check the room in the "
                      "config).", room=label)
                    for label in labels
                ),
                languages=self.app.coordinator_languages(),
                kind="announce",
                key=f"unreachable:{coordinator}:{day}:{','.join(sorted(missing))}",
            )
        )

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
                await self._handle_sync(response, catch_up=full_state_sent, since=token)
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

    async def _handle_sync(
        self, response: SyncResponse, *, catch_up: bool, since: str = ""
    ) -> None:
        """Handle one sync. ``catch_up``: the first after start, holding what was missed."""
        await self._handle_invites(response)
        for room_id in response.rooms.leave:
            if self._configured_room(room_id, set()) is not None:
                # Kicked, banned or left: !status says so at once (the outbox tells the
                # coordinator if something was still owed to the room).
                log.error("the bot is no longer in the configured room %s", room_id)
                self.app.mark_unreachable(room_id, "the bot was removed from the room")
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
            if catch_up:
                await self._tell_caught_up(room_id, [*gap, *events], since)
        await self._retry_undecrypted()

    def _catch_up_from_ms(self) -> int:
        """Events sent after this (server time, ms) are answered when the bot comes back."""
        window = self.config.catch_up_window.total_seconds()
        return self.started_at_ms - int(window * 1000)

    async def _tell_caught_up(self, room_id: str, events: list[Any], since: str) -> None:
        """After downtime, one notice in a room with a running meeting: how many messages
        came in while the bot was away (its key makes it once-only across crashes)."""
        if self.app.meeting_in(room_id) is None or room_id in self.app.direct_rooms:
            return
        missed = [
            e for e in events
            if isinstance(e, (RoomMessage, MegolmEvent))
            and e.sender != self.client.user_id
            and (getattr(e, "server_timestamp", 0) or 0) < self.started_at_ms
        ]
        if not missed:
            return
        answered_from = self._catch_up_from_ms()
        older = sum(1 for e in missed if e.server_timestamp < answered_from)
        lines: list[Msg] = [ngettext(
            "I was away for a moment. {count} message came in meanwhile; I have caught up "
            "with it.", "I was away for a moment. {count} messages came in meanwhile; I have "
            "caught up with them.", len(missed))]
        if older:
            lines.append(ngettext(
                "{count} of them was older than {window}: it is in the record, but I did not "
                "answer or translate it.", "{count} of them were older than {window}: they are "
                "in the record, but I did not answer or translate them.", older,
                window=format_duration(self.config.catch_up_window)))
        await self.app.post_notice(
            Notice(
                room_id=room_id,
                lines=tuple(lines),
                languages=self.app.settings_for(room_id).languages,
                kind="announce",
                key=f"caught-up:{room_id}:{since}",
            )
        )

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
        # Missed while away: answered (and translated) if it is recent enough.
        live = not history or sent_at >= self._catch_up_from_ms()
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
        """Who may bring the bot into a room.

        - a room named in the config (a region's or the coordinator's): anyone in it;
        - another room: a facilitator or a coordinator user (an ad-hoc meeting);
        - a direct chat: anyone who shares a configured room with the bot (so people can
          opt out, withdraw or ask for help in private).
        """
        allowed = set(self.config.facilitators)
        if self.config.coordinator:
            allowed.update(self.config.coordinator.users)
        for room_id, info in response.rooms.invite.items():
            inviter, direct, aliases = None, False, set()
            for event in info.invite_state:
                if (
                    isinstance(event, InviteMemberEvent)
                    and event.state_key == self.client.user_id
                    and event.membership == "invite"
                ):
                    inviter = event.sender
                    direct = bool((event.content or {}).get("is_direct"))
                elif isinstance(event, InviteAliasEvent) and event.canonical_alias:
                    aliases.add(event.canonical_alias)
            if inviter is None:
                continue
            configured = self._configured_room(room_id, aliases)
            if configured is not None:
                log.info("accepting the invite of %s to the configured room %s",
                         inviter, configured[1])
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinResponse):
                    self.app.mark_reachable(room_id)
                    await self.app.remember_binding(configured[0], room_id)
                else:
                    self._unreachable(configured[1], room_id, str(joined))
            elif inviter in allowed and not direct:
                log.info("accepting the invite of %s to %s", inviter, room_id)
                await self.client.join(room_id)
            elif direct and self._shares_configured_room(inviter):
                log.info("accepting a direct chat with %s (%s)", inviter, room_id)
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinResponse):
                    await self.app.remember_direct_room(room_id, inviter)
            else:
                why = "a direct chat with someone in none of the configured rooms" if direct \
                    else "not a facilitator, and not a configured room"
                log.info("declining the invite of %s to %s (%s)", inviter, room_id, why)
                await self.client.room_leave(room_id)

    def _configured_room(self, room_id: str, aliases: set[str]) -> tuple[str | None, str] | None:
        """(region id or None for the coordinator, configured room) if the config names it."""
        for region_id, room in self._configured():
            if room in (room_id, *aliases) or self._aliases.get(room) == room_id:
                return region_id, room
            bound = (
                self.app.coordinator_room if region_id is None
                else self.app.region_rooms.get(region_id)
            )
            if bound == room_id:
                return region_id, room
        return None

    def _shares_configured_room(self, user_id: str) -> bool:
        rooms = set(self.app.region_rooms.values())
        if self.app.coordinator_room:
            rooms.add(self.app.coordinator_room)
        return any(self._is_member(user_id, room) for room in rooms)

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

    async def _sleep(self, seconds: float) -> None:
        await wait_or_timeout(self._stop, seconds)
