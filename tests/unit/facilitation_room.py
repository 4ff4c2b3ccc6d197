"""A room played through the real core with a clock the test moves (no sleeping)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from meetbot.core.effects import CancelTimer, Effect, Notice, StartTimer
from meetbot.core.events import Event, Membership, Message, Reaction, Redaction, Tick
from meetbot.core.model import Agenda, Meeting, Prompt, Region, RoomSettings, RoomState
from meetbot.i18n import render_lines
from meetbot.runtime.features import engine

handle = engine().handle  # the core with every feature, as the bot runs it

ROOM = "!latam:example.org"
COORDINATION = "!coord:example.org"
BOT = "@meetbot:example.org"
ANA = "@ana:example.org"  # facilitator
BEA = "@bea:example.org"
CARLOS = "@carlos:example.org"
DINA = "@dina:example.org"
NAMES = {ANA: "Ana", BEA: "Bea", CARLOS: "Carlos", DINA: "Dina"}
START = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)  # 18:00 in Bogotá

REGION = Region(id="latam", name="Latin America", room_id=ROOM, languages=("es", "en"),
                timezone="America/Bogota")


def agenda(on_timebox_end: str = "ask") -> Agenda:
    return Agenda(
        id="default",
        title={"en": "Test"},
        prompts=(
            Prompt("first", {"en": "First prompt?", "es": "¿Primera?"}, timedelta(minutes=10)),
            Prompt("second", {"en": "Second prompt?", "es": "¿Segunda?"}, timedelta(minutes=5)),
            Prompt("third", {"en": "Third prompt?"}),
        ),
        on_timebox_end=on_timebox_end,
    )


@dataclass
class Room:
    """The core's view of one room, a clock, and the timers the core asked for."""

    settings: RoomSettings
    state: RoomState = field(default_factory=lambda: RoomState(ROOM))
    now: datetime = START
    timers: dict[str, datetime] = field(default_factory=dict)
    fired: set[str] = field(default_factory=set)
    notices: list[Notice] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def create(cls, on_timebox_end: str = "ask") -> Room:
        return cls(RoomSettings(region=REGION, agenda=agenda(on_timebox_end), bot_user_id=BOT,
                                facilitators=frozenset({ANA}), coordinator_room=COORDINATION))

    @property
    def meeting(self) -> Meeting:
        assert self.state.meeting is not None
        return self.state.meeting

    # -- feeding events ---------------------------------------------------------------
    def feed(self, event: Event) -> list[Effect]:
        if event.event_id in {e.event_id for e in self.events}:
            return []  # the app deduplicates by event id
        self.events.append(event)
        effects = handle(self.state, self.settings, event).effects
        for effect in effects:
            if isinstance(effect, StartTimer):
                self.timers[effect.key] = effect.at
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.key, None)
            elif isinstance(effect, Notice):
                self.notices.append(effect)
        return effects

    def _id(self) -> str:
        return f"$e{next(self._ids)}"

    def say(self, sender: str, body: str, mentions: tuple[str, ...] = ()) -> str:
        event_id = self._id()
        self.feed(Message(event_id, ROOM, sender, self.now, body, display_name=NAMES[sender],
                          mentions=mentions))
        return event_id

    def react(self, sender: str, target: str, key: str) -> str:
        event_id = self._id()
        self.feed(Reaction(event_id, ROOM, sender, self.now, target=target, key=key))
        return event_id

    def redact(self, sender: str, target: str) -> None:
        self.feed(Redaction(self._id(), ROOM, sender, self.now, target=target))

    def leave(self, who: str) -> None:
        self.feed(Membership(self._id(), ROOM, who, self.now, membership="leave"))

    def tick(self, key: str, room_id: str = ROOM) -> list[Effect]:
        return self.feed(Tick(f"tick:{key}", room_id, BOT, self.now, timer=key))

    # -- the clock ----------------------------------------------------------------------
    def wait(self, delta: timedelta) -> None:
        """Move the clock on, firing every timer that falls due, in order."""
        until = self.now + delta
        while True:
            due = sorted((at, key) for key, at in self.timers.items() if at <= until)
            if not due:
                break
            at, key = due[0]
            self.timers.pop(key)
            self.now = max(self.now, at)
            self.fired.add(key)
            self.tick(key)
        self.now = until

    # -- reading what the bot said -------------------------------------------------------
    def said(self, lang: str = "en") -> list[str]:
        return [render_lines(n.lines, lang) for n in self.notices]

    def last(self, lang: str = "en") -> str:
        return self.said(lang)[-1]

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.said())

    def replayed(self) -> RoomState:
        """The state rebuilt from the events alone, as at a restart."""
        state = RoomState(ROOM)
        for event in self.events:
            handle(state, self.settings, event)
        return state
