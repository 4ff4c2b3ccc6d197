"""The Matrix shell: syncs, turns events into core events, sends what the outbox holds.

It keeps its own sync token and stores it only after every event of a sync has been handled
(nio would store it before), pages the gap after downtime, and sends through an outbox whose
transaction ids make every resend idempotent.

:class:`MatrixBot` is the sync loop; it drives the pieces that live apart:

- :mod:`meetbot.matrix.membership`: the configured rooms, invites, rooms the bot loses;
- :mod:`meetbot.matrix.gaps`: what a limited sync left out, and the catch-up window;
- :mod:`meetbot.matrix.keys`: encryption keys, and the events waiting for one;
- :mod:`meetbot.matrix.outbox`: sending, each message once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from nio import AsyncClient, MatrixRoom, MegolmEvent, SyncError, SyncResponse
from nio import Event as NioEvent

from meetbot.app import MeetBotApp, Pending
from meetbot.core.events import Event
from meetbot.matrix.convert import convert
from meetbot.matrix.gaps import CatchUp, GapPager
from meetbot.matrix.keys import KeyKeeper
from meetbot.matrix.membership import RoomMembership
from meetbot.matrix.outbox import OutboxSender
from meetbot.metrics import Metrics
from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
TOKEN_KEY = "next_batch"
LAST_SYNC_KEY = "last_sync_ms"


class StoreUnavailable(Exception):
    """The database refused a write: the sync is handled again later, nothing is skipped."""


class MatrixBot:
    def __init__(
        self, app: MeetBotApp, client: AsyncClient, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics if metrics is not None else Metrics()
        self.client = client
        self.store = app.store
        self.config = app.config
        self.started_at_ms = int(time.time() * 1000)
        self.synced = asyncio.Event()  # set after each handled sync (tests and demo wait on it)
        self.ready = asyncio.Event()  # rooms joined and meetings restored
        self.outbox = OutboxSender(app, client, self.metrics)
        self.membership = RoomMembership(app, client)
        self.gaps = GapPager(client, app.store)
        self.catch_up = CatchUp(app, client, self.started_at_ms)
        self.keys = KeyKeeper(client, app.store)
        self._stop = asyncio.Event()
        self._rooms_known = asyncio.Event()  # a sync has come back since the start
        # The newest homeserver timestamp handled: gap paging compares server times only.
        self._newest_ts = 0
        app.is_member = self.membership.is_member

    # -- life cycle -------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self.outbox.stop()

    async def run(self) -> None:
        """Sync until stopped. The caller closes the client (never logs out)."""
        await self.keys.maintain()
        await self.membership.resolve_aliases()
        token = await self.store.get_value(TOKEN_KEY)
        if token is None:
            token = await self._first_sync()
        await self.join_configured_rooms()
        await self.app.restore()
        await self.keys.load()
        self.ready.set()
        sender = asyncio.create_task(self._send_once_synced(), name="meetbot-outbox")
        try:
            await self._sync_loop(token)
        finally:
            self.outbox.stop()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send_once_synced(self) -> None:
        """The outbox starts once a sync has shown the rooms: nio sends only to rooms it
        knows, and a send before would fail, join again and wait."""
        await self._rooms_known.wait()
        await self.outbox.run()

    async def _first_sync(self) -> str:
        """The very first start: learn the rooms, answer nothing from history."""
        delay = 1.0
        while not self._stop.is_set():
            response = await self.client.sync(timeout=0, full_state=True)
            if isinstance(response, SyncResponse):
                await self.membership.answer_invites(response.rooms.invite)
                async with self.store.db.transaction():
                    await self.store.set_value(TOKEN_KEY, response.next_batch)
                    await self.store.set_value(LAST_SYNC_KEY, str(self.started_at_ms))
                self.metrics.synced()
                return response.next_batch
            self.metrics.sync_failed()
            log.warning("first sync failed: %s; retrying in %.0fs", response, delay)
            await self._sleep(delay)
            delay = min(delay * 2, 30)
        raise asyncio.CancelledError

    async def join_configured_rooms(self) -> None:
        await self.membership.join_configured()

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
                self.metrics.sync_failed()
                log.warning("sync failed: %s; retrying in %.0fs", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60)
                continue
            if isinstance(response, SyncError):
                self.metrics.sync_failed()
                log.warning("sync error: %s; retrying in %.0fs", response, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60)
                continue
            delay = 1.0
            self._rooms_known.set()  # nio has taken in the rooms: the outbox may send
            full_state_sent, full_state = full_state, False
            try:
                await self.handle_sync(response, catch_up=full_state_sent, since=token)
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
            self.metrics.synced()
            await self.keys.maintain()
            self.synced.set()
            self.synced.clear()

    async def handle_sync(
        self, response: SyncResponse, *, catch_up: bool, since: str = ""
    ) -> None:
        """Handle one sync. ``catch_up``: the first after start, holding what was missed.

        What a limited timeline left out is paged first and handled as history, then the
        timeline itself. :class:`StoreUnavailable` if the database refused an event.

        Every room's events go in one :meth:`MeetBotApp.ingest_many` (a room's in order):
        one transaction for the whole sync, not one per room, so a command in the last of
        several busy rooms does not wait for the others' commits to be answered.
        """
        await self.membership.answer_invites(response.rooms.invite)
        self.membership.note_left(response.rooms.leave)
        last_sync = int(await self.store.get_value(LAST_SYNC_KEY) or 0)
        pending: list[Pending | None] = []
        seen: list[tuple[str, list[Any]]] = []  # each room's gap and timeline, for catch-up
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events: list[Any] = list(info.timeline.events)
            gap: list[Any] = []
            if info.timeline.limited and info.timeline.prev_batch:
                gap = await self.gaps.missed(room_id, info.timeline.prev_batch, last_sync)
            pending += [await self._prepare(room, event, history=True) for event in gap]
            pending += [await self._prepare(room, event, history=catch_up) for event in events]
            seen.append((room_id, [*gap, *events]))
        await self._ingest([p for p in pending if p is not None])
        if catch_up:
            for room_id, room_events in seen:
                await self.catch_up.tell_caught_up(room_id, room_events, since)
        await self.keys.retry(self._handle_event)

    async def _handle_event(self, room: MatrixRoom, event: NioEvent, history: bool = False) -> None:
        """Hand one event to the app (one decrypted late)."""
        pending = await self._prepare(room, event, history=history)
        if pending is not None:
            await self._ingest([pending])

    async def _prepare(self, room: MatrixRoom, event: NioEvent, *, history: bool) -> Pending | None:
        """The event for the app, converted when its turn comes (it reads who chose which
        language and who opted out, which the events before it can change). History (missed
        while away) is recorded, not answered. None: nothing for the app now (the bot's own,
        or encrypted and waiting for its key)."""
        if isinstance(event, MegolmEvent):
            await self.keys.hold(room.room_id, event, history=history)
            return None
        if event.sender == self.client.user_id:
            return None
        sent_at = getattr(event, "server_timestamp", 0) or 0
        self._newest_ts = max(self._newest_ts, sent_at)
        # Missed while away: answered (and translated) if it is recent enough.
        live = self.catch_up.is_live(sent_at, history=history)

        def make() -> Event | None:
            if live:
                self.metrics.live_event(sent_at)
            return convert(
                room,
                event,
                live=live,
                language_of=self.app.user_languages,
                opted_out=self.app.opted_out,
                command_prefix=self.config.command_prefix,
            )

        return Pending(event.event_id, make)

    async def _ingest(self, pending: list[Pending]) -> None:
        """Record events in order, a batch per transaction; an event the app cannot handle
        (a bug) is logged and skipped, never stopping the room."""
        try:
            await self.app.ingest_many(pending)
        except sqlite3.Error as exc:
            # The database is busy or full: stop here, keep the sync token, try again.
            raise StoreUnavailable(str(exc)) from exc

    async def _sleep(self, seconds: float) -> None:
        await wait_or_timeout(self._stop, seconds)
