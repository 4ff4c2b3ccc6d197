"""The application: the pure core, its state, and the database, glued together.

``ingest`` is the one way an event enters (``ingest_many``: a sync's events, up to 200 in
one transaction): in a single transaction it checks the event was not handled before
(idempotent by ``event_id``), runs the core, stores the event and turns the effects into
outbox rows, tasks and timers. Shells (Matrix, scheduler, workers) only feed events in and
drain what comes out, so a crash at any point loses nothing and never answers twice.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from meetbot.config.agendas import AgendaLibrary
from meetbot.config.schema import Config
from meetbot.core.effects import (
    CancelTimer,
    Effect,
    MeetingEnded,
    MeetingStarted,
    Notice,
    RetractTranslation,
    StartTimer,
)
from meetbot.core.engine import COMMAND_MSGTYPES, Engine, Outcome
from meetbot.core.events import Event, Message, Redaction, Tick
from meetbot.core.model import Meeting, MeetingGlance, Region, RoomSettings, RoomState
from meetbot.core.records import Planned, SlotKey
from meetbot.core.registry import split_command
from meetbot.metrics import Metrics
from meetbot.storage.store import Store

log = logging.getLogger(__name__)

TimerCallback = Callable[[str, str, datetime], None]
NoticeWriter = Callable[[Notice], Awaitable[None]]
BINDING = "binding:"  # kv key prefix: a region's room id as resolved at the last start
COORDINATOR = ":coordinator"
DIRECT = "direct:"  # kv key prefix: a direct chat's room id -> the person in it
BATCH = 200  # events in one transaction at most (ingest_many)


@dataclass(frozen=True)
class Pending:
    """An event the shell converts only when its turn comes: what it becomes can depend on
    the events before it (someone's ``!lang`` just before, in the same batch)."""

    event_id: str
    make: Callable[[], Event | None]


class UnhandledEffect(RuntimeError):
    """The core asked for an effect no shell handles: a wiring mistake, never ignored."""


class MeetBotApp:
    def __init__(
        self,
        config: Config,
        store: Store,
        agendas: AgendaLibrary,
        engine: Engine,
        write_notice: NoticeWriter,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else Metrics()
        self.engine = engine
        # Puts a notice in the outbox, in the Matrix shell's format (inside a transaction).
        self.write_notice = write_notice
        self.store = store
        self.agendas = agendas
        self.bot_user_id = config.user_id
        self.states: dict[str, RoomState] = {}
        self.region_rooms: dict[str, str] = {}  # region id -> room id (aliases resolved)
        self._coordinator_room: str | None = None
        self._settings: dict[tuple[str, str | None], RoomSettings] = {}
        self.outbox_ready = asyncio.Event()
        self.task_wakers: list[asyncio.Event] = []  # one per task runner
        self.on_timer_set: TimerCallback | None = None
        self.on_timer_cancel: Callable[[str], None] | None = None
        self.user_languages: dict[str, str] = {}  # user id -> language chosen with !lang
        self.opted_out: set[str] = set()  # users who opted out of the record (!optout)
        self.effect_handlers: dict[type, Callable[[Effect], Awaitable[None]]] = {}
        # Features store their effects inside the event's transaction: type -> (effect, state).
        self.persisters: dict[type, Callable[[Any, RoomState], Awaitable[None]]] = {}
        self.direct_rooms: dict[str, str] = {}  # direct chat room id -> the person in it
        # What the calendar shell knows of the configured meetings (set once it has planned).
        self.calendar_view: Callable[[str | None], list[Planned]] | None = None
        # Rooms named in the config that the bot cannot reach: room -> why (for !status).
        self.unreachable_rooms: dict[str, str] = {}
        # Whether a person is in a room (the Matrix shell knows; by default: assume so).
        self.is_member: Callable[[str, str], bool] = lambda user_id, room_id: True
        # Effects whose handler (after the commit) changes how the next events are read
        # (who opted out): ingest_many commits after the event that asks for one.
        self.commits_after: set[type] = set()
        # What shells mirror in memory of the record, read again after a rollback.
        self.reloaders: list[Callable[[], Awaitable[Any]]] = []
        self._after_commit: list[Callable[[], None]] | None = None
        self._lock = asyncio.Lock()

    # The effects the app keeps itself; every other one needs a persister from a shell.
    OWN_EFFECTS: tuple[type, ...] = (Notice, MeetingStarted, MeetingEnded, StartTimer, CancelTimer)

    def handles(self, effect_type: type) -> bool:
        """Whether an effect of this type is kept when the core asks for it."""
        return effect_type in self.OWN_EFFECTS or effect_type in self.persisters

    # -- rooms and their settings -----------------------------------------------------
    def bind_region(self, region_id: str, room_id: str) -> None:
        self.region_rooms[region_id] = room_id
        self._settings.clear()

    async def remember_binding(self, region_id: str | None, room_id: str) -> None:
        """Bind a region (None: the coordinator) to its room, and keep it: an alias that
        cannot be resolved at the next start (homeserver down) must not change how the
        region's meetings replay, and ``meetbot minutes`` needs it without Matrix."""
        if region_id is None:
            self.coordinator_room = room_id
        else:
            self.bind_region(region_id, room_id)
        async with self.store.db.transaction():
            await self.store.set_value(f"{BINDING}{region_id or COORDINATOR}", room_id)

    async def load_bindings(self) -> None:
        for region in self.config.regions:
            room_id = await self.store.get_value(f"{BINDING}{region.id}")
            if room_id:
                self.bind_region(region.id, room_id)
        room_id = await self.store.get_value(f"{BINDING}{COORDINATOR}")
        if room_id and self.config.coordinator:
            self.coordinator_room = room_id
        self.direct_rooms.update(await self.store.values_with_prefix(DIRECT))

    async def remember_direct_room(self, room_id: str, user_id: str) -> None:
        """A direct chat with ``user_id``: only the personal commands are answered there."""
        self.direct_rooms[room_id] = user_id
        async with self.store.db.transaction():
            await self.store.set_value(f"{DIRECT}{room_id}", user_id)

    # -- rooms the bot cannot reach ---------------------------------------------------
    def mark_unreachable(self, room_id: str, why: str) -> None:
        if self.unreachable_rooms.get(room_id) != why:
            self.unreachable_rooms[room_id] = why
            self._settings.clear()

    def mark_reachable(self, room_id: str) -> None:
        if self.unreachable_rooms.pop(room_id, None) is not None:
            self._settings.clear()

    def room_label(self, room_id: str) -> str:
        """A room as people know it: its region's name and its address."""
        for region in self.config.regions:
            if room_id in (region.room, self.region_rooms.get(region.id)):
                return f"{region.name} ({region.room})"
        if self.config.coordinator and room_id in (self.config.coordinator.room,
                                                   self.coordinator_room):
            return f"coordinator room ({self.config.coordinator.room})"
        return room_id

    def coordinator_languages(self) -> tuple[str, ...]:
        return (self.config.coordinator.language,) if self.config.coordinator else ("en",)

    async def enqueue_notice(self, notice: Notice) -> None:
        """Queue a notice the shell itself has to say (call inside a transaction)."""
        await self.write_notice(notice)
        self.outbox_ready.set()

    async def post_notice(self, notice: Notice) -> None:
        async with self.store.db.transaction():
            await self.enqueue_notice(notice)

    @property
    def coordinator_room(self) -> str | None:
        return self._coordinator_room

    @coordinator_room.setter
    def coordinator_room(self, room_id: str | None) -> None:
        self._coordinator_room = room_id
        self._settings.clear()

    def region_for_room(self, room_id: str) -> Region:
        for region in self.config.regions:
            if self.region_rooms.get(region.id, region.room) == room_id:
                return Region(id=region.id, name=region.name, room_id=room_id,
                              languages=tuple(region.languages), timezone=region.timezone,
                              agenda=region.agenda)
        # A room the config does not list (a facilitator invited the bot): sensible defaults.
        return Region(id="adhoc", name="Meeting", room_id=room_id)

    def settings_for(self, room_id: str, agenda_name: str | None = None) -> RoomSettings:
        """The settings of a room (cached: they change only when rooms are bound)."""
        if room_id in self.direct_rooms:
            return self._direct_settings(room_id, self.direct_rooms[room_id])
        key = (room_id, agenda_name)
        if key not in self._settings:
            self._settings[key] = self._make_settings(room_id, agenda_name)
        return self._settings[key]

    def _make_settings(self, room_id: str, agenda_name: str | None) -> RoomSettings:
        region = self.region_for_room(room_id)
        return RoomSettings(
            region=region,
            agenda=self.agendas.get(agenda_name or region.agenda),
            bot_user_id=self.bot_user_id,
            facilitators=frozenset(self.config.facilitators),
            command_prefix=self.config.command_prefix,
            facilitator_power=self.config.facilitator_power_level,
            coordinator_room=self.coordinator_room,
            coordinator_users=frozenset(
                self.config.coordinator.users if self.config.coordinator else ()
            ),
            translate_always=self.config.translation.mode == "always",
            unreachable=tuple(self.room_label(r) for r in self.unreachable_rooms),
            calendar=self._planned,
        )

    def _planned(self, region_id: str | None) -> list[Planned]:
        return self.calendar_view(region_id) if self.calendar_view is not None else []

    def _direct_settings(self, room_id: str, user_id: str) -> RoomSettings:
        """A direct chat: the person's language, and the meetings of the rooms they are in
        (never cached: meetings start and end)."""
        shared = [
            (region, room)
            for region in self.config.regions
            if (room := self.region_rooms.get(region.id, region.room))
            and self.is_member(user_id, room)
        ]
        first = shared[0][0].languages[0] if shared else "en"
        glances = []
        for region, room in shared:
            meeting = self.meeting_in(room)
            if meeting is None:
                continue
            section = meeting.current_section
            glances.append(
                MeetingGlance(
                    region_name=region.name,
                    title=meeting.title,
                    started_at=meeting.started_at,
                    timezone=region.timezone,
                    current=section.text if section is not None else "",
                )
            )
        return RoomSettings(
            region=Region(id="direct", name="Direct chat", room_id=room_id,
                          languages=(self.user_languages.get(user_id, first),)),
            agenda=self.agendas.get("default"),
            bot_user_id=self.bot_user_id,
            command_prefix=self.config.command_prefix,
            direct=True,
            meetings_elsewhere=tuple(glances),
        )

    def state_for(self, room_id: str) -> RoomState:
        return self.states.get(room_id) or self.states.setdefault(room_id, RoomState(room_id))

    def meeting_in(self, room_id: str) -> Meeting | None:
        state = self.states.get(room_id)
        return state.meeting if state else None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the event being handled is committed (never if it is rolled
        back); outside a transaction, now."""
        if self._after_commit is None:
            callback()
        else:
            self._after_commit.append(callback)

    def wake_tasks(self) -> None:
        for waker in self.task_wakers:
            waker.set()

    # -- start-up ---------------------------------------------------------------------
    def settings_for_event(self, state: RoomState, event: Event) -> RoomSettings:
        """The room's settings for this event: a running meeting keeps the agenda it
        started with; a scheduled meeting opens with the agenda its calendar entry names."""
        if state.meeting is not None:
            return self.settings_for(event.room_id, state.meeting.agenda_id)
        if isinstance(event, Tick):
            slot = SlotKey.parse(event.timer)
            region = self.config.region(slot.region) if slot else None
            if slot and region:
                planned = next((m for m in region.meetings if m.number == slot.number), None)
                if planned and planned.agenda:
                    return self.settings_for(event.room_id, planned.agenda)
        return self.settings_for(event.room_id)

    def replay(self, state: RoomState, events: list[Event]) -> RoomState:
        """Fold stored events into ``state`` exactly as they were handled live."""
        for event in events:
            self.engine.replay(state, self.settings_for_event(state, event), event)
        return state

    async def restore(self) -> None:
        """Rebuild every running meeting by replaying its stored events."""
        for row in await self.store.running_meetings():
            state = self.replay(
                RoomState(row.room_id), await self.store.meeting_events(row.meeting_id)
            )
            self.states[row.room_id] = state
            log.info("resumed meeting %s in %s", row.meeting_id, row.room_id)
        for key, room_id, at in await self.store.timers():
            if self.on_timer_set:
                self.on_timer_set(key, room_id, at)

    async def rebuild_meeting(self, meeting_id: str) -> Meeting | None:
        """The record of one meeting, from its stored events (for minutes and reports)."""
        row = await self.store.meeting(meeting_id)
        if row is None:
            return None
        state = self.replay(RoomState(row.room_id), await self.store.meeting_events(row.meeting_id))
        return state.last_meeting or state.meeting

    # -- the one way in ---------------------------------------------------------------
    async def ingest(self, event: Event) -> Outcome | None:
        """Handle an event exactly once. Returns None if it was handled before."""
        handled, _used = await self._transaction([event], breaks=False)
        return handled[0][1] if handled else None

    async def ingest_many(self, incoming: Sequence[Event | Pending], batch: int = BATCH) -> int:
        """Handle events in order, each exactly once, up to ``batch`` in one transaction
        that commits whole or not at all (an event asking for a :attr:`commits_after` effect
        ends its batch). A failed batch is rolled back and handled one event at a time: a bad
        event is logged and skipped, holding up no other; a database error (``sqlite3.Error``)
        is raised, what came before it kept. Returns how many events were new."""
        new = start = 0
        while start < len(incoming):
            chunk = incoming[start : start + batch]
            try:
                handled, used = await self._transaction(chunk, breaks=True)
            except Exception:
                log.warning("a batch of %d events failed; handling them one by one", len(chunk))
                handled, used = [], len(chunk)
                for item in chunk:
                    try:
                        handled += (await self._transaction([item], breaks=False))[0]
                    except sqlite3.Error:
                        raise
                    except Exception:
                        log.exception("event %s was not handled", item.event_id)
            new += len(handled)
            start += used
        return new

    async def _transaction(
        self, incoming: Sequence[Event | Pending], *, breaks: bool
    ) -> tuple[list[tuple[Event, Outcome]], int]:
        """Handle events in one transaction; return the new ones with their outcomes and how
        many of ``incoming`` were used. If it fails: rolled back, the rooms it touched and
        what shells mirror in memory are read again from the record, and it raises."""
        handled: list[tuple[Event, Outcome]] = []
        rooms: set[str] = set()
        used = 0
        async with self._lock:
            after = self._after_commit = []
            try:
                async with self.store.db.transaction(pipelined=True):
                    known = await self.store.known_events([i.event_id for i in incoming])
                    for item in incoming:
                        used += 1
                        event = item.make() if isinstance(item, Pending) else item
                        if event is None or event.event_id in known:
                            continue
                        known.add(event.event_id)
                        rooms.add(event.room_id)
                        outcome = await self._handle(event)
                        handled.append((event, outcome))
                        if breaks and not self.commits_after.isdisjoint(map(type, outcome.effects)):
                            break
            except Exception:
                log.exception("could not handle %s; rebuilding the room",
                              ", ".join(i.event_id for i in incoming[:used]))
                async with self.store.db.between_writes():
                    for room_id in rooms:
                        await self._rebuild_room(room_id)
                    for reload in (self._reload_languages, *self.reloaders):
                        await reload()
                raise
            finally:
                self._after_commit = None
        for callback in after:
            callback()
        self.outbox_ready.set()
        self.wake_tasks()
        self.metrics.events_handled(type(event).__name__.lower() for event, _ in handled)
        for event, outcome in handled:
            self._count(event)
            for effect in outcome.effects:
                handler = self.effect_handlers.get(type(effect))
                if handler is not None:
                    try:
                        await handler(effect)
                    except Exception:  # the event is stored: one handler's bug stops no other
                        log.exception("%s of %s", type(effect).__name__, event.event_id)
        return handled, used

    async def _reload_languages(self) -> None:
        self.user_languages.clear()
        self.user_languages.update(await self.store.user_languages())

    async def _handle(self, event: Event) -> Outcome:
        """Run the core on an event and store it with its effects (inside a transaction)."""
        state = self.state_for(event.room_id)
        outcome = self.engine.handle(state, self.settings_for_event(state, event), event)
        await self.store.add_event(event, outcome.meeting_id)
        if isinstance(event, Tick):
            await self.store.cancel_timer(event.timer)
        redacted_in = None
        if isinstance(event, Redaction):
            redacted_in = await self._redacted(state, event)
        for effect in outcome.effects:
            await self._persist(effect, state)
        if redacted_in is not None and state.meeting is not None \
                and state.meeting.id == redacted_in:
            # The running meeting is what its scrubbed record replays to, so a restart can
            # never find a different one.
            await self._rebuild_room(event.room_id)
        return outcome

    def _count(self, event: Event) -> None:
        """Metrics: the command the event carries (as the core parses it)."""
        if not isinstance(event, Message) or event.withdrawn or event.attachment is not None \
                or event.msgtype not in COMMAND_MSGTYPES or event.sender == self.bot_user_id:
            return
        parsed = split_command(event.body, self.config.command_prefix)
        if parsed is not None:
            command = self.engine.features.commands.lookup(parsed[0])
            self.metrics.commands.labels(command.name if command else "unknown").inc()

    async def _redacted(self, state: RoomState, event: Redaction) -> str | None:
        """A redacted message's text leaves the record, whichever meeting it was in.
        Returns that meeting's id (None if the message was not recorded)."""
        meeting_id = await self.store.meeting_of_event(event.target)
        if meeting_id is None:
            return None
        running = state.meeting if state.meeting and state.meeting.id == meeting_id else None
        meeting = running or await self.rebuild_meeting(meeting_id)
        created = {event.target} if meeting and meeting.item_for_event(event.target) is not None \
            else set()
        await self.store.scrub_events([event.target], created, prefix=self.config.command_prefix,
                                      commands=self.engine.features.commands)
        if running is None:
            # An earlier meeting: its minutes are written again without the message, and its
            # translation notice goes (the core only follows the meeting that runs).
            await self.store.add_task(
                "rewrite", f"rewrite:{meeting_id}:{event.event_id}", {"meeting_id": meeting_id}
            )
            await self._persist(RetractTranslation(event.room_id, event.target), state)
        return meeting_id

    async def _rebuild_room(self, room_id: str) -> RoomState:
        state = self.states[room_id] = RoomState(room_id)
        for row in await self.store.running_meetings():
            if row.room_id == room_id:
                self.replay(state, await self.store.meeting_events(row.meeting_id))
        return state

    async def _persist(self, effect: Effect, state: RoomState) -> None:
        store = self.store
        if isinstance(effect, Notice):
            await self.write_notice(effect)
        elif isinstance(effect, MeetingStarted):
            meeting = state.meeting
            assert meeting is not None
            await store.add_meeting(
                meeting.id, meeting.room_id, meeting.region_id, meeting.title, meeting.started_at
            )
        elif isinstance(effect, MeetingEnded):
            ended = state.last_meeting
            assert ended is not None and ended.ended_at is not None
            await store.end_meeting(effect.meeting_id, ended.ended_at)
            await store.add_task("minutes", f"minutes:{effect.meeting_id}",
                                 {"meeting_id": effect.meeting_id, "room_id": effect.room_id})
        elif isinstance(effect, StartTimer):
            await store.set_timer(effect.key, effect.room_id, effect.at)
            if self.on_timer_set:  # the scheduler follows the record once it is committed
                self.after_commit(partial(self.on_timer_set, effect.key, effect.room_id,
                                          effect.at))
        elif isinstance(effect, CancelTimer):
            await store.cancel_timer(effect.key)
            if self.on_timer_cancel:
                self.after_commit(partial(self.on_timer_cancel, effect.key))
        else:
            persist = self.persisters.get(type(effect))
            if persist is None:
                raise UnhandledEffect(
                    f"nothing handles {type(effect).__name__}: the composition root "
                    "(meetbot/runtime/features.py) must attach its shell"
                )
            await persist(effect, state)
