"""The facilitation records a meeting holds: proposals and their ballots, the speaking queue,
the timebox, the calendar slot. Plain data; the rules that change them live in
``core/facilitation/``, which imports them, as does the meeting model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import quote, unquote

from meetbot.core.events import Reaction

# Prefixes of the timer keys each record names.
ROUND_PREFIX = "round:"
TIMEBOX_PREFIX = "timebox:"
CALENDAR_PREFIX = "calendar:"
CLOSE = "meeting-close:"
_STAMP = "%Y%m%dT%H%M%SZ"

POSITIONS = ("agree", "abstain", "object", "block")


class HasId(Protocol):
    @property
    def id(self) -> str: ...


# -- consent rounds ---------------------------------------------------------------------


@dataclass
class Ballot:
    voter: str
    position: str
    reason: str
    at: datetime
    source: str  # the event id of the reaction or the !vote message


@dataclass
class Proposal:
    n: int
    text: str
    kind: str
    author: str
    opened_at: datetime
    event_id: str  # the !propose message
    token: str  # names its timers and its notice
    closes_at: datetime | None = None
    anchor: str | None = None  # the Matrix id of the bot's posted proposal
    ballots: list[Ballot] = field(default_factory=list)
    early_reactions: list[Reaction] = field(default_factory=list)  # before the anchor
    reminded: bool = False
    closed_at: datetime | None = None
    closed_by: str | None = None
    result: str | None = None  # adopted | rejected | blocked
    decision: int | None = None  # the ``n`` of the decision item
    # The author's last edit of the !propose message, and the texts it replaced.
    edited_at: datetime | None = None
    earlier_texts: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def notice_key(self) -> str:
        return f"proposal-notice:{self.token}"

    @property
    def outcome_key(self) -> str:
        return f"proposal-closed:{self.token}"

    def votes(self) -> dict[str, Ballot]:
        """Each person's standing response: their latest ballot not withdrawn."""
        current: dict[str, Ballot] = {}
        for ballot in self.ballots:
            current[ballot.voter] = ballot
        return current

    def before_edit(self, ballot: Ballot) -> bool:
        """Whether this response was given to an earlier text of the proposal."""
        return self.edited_at is not None and ballot.at < self.edited_at

    def tally(self) -> dict[str, int]:
        counts = dict.fromkeys(POSITIONS, 0)
        for ballot in self.votes().values():
            counts[ballot.position] += 1
        return counts


# -- the speaking queue ---------------------------------------------------------------


@dataclass
class Round:
    """Everyone in turn. ``order`` holds those still to be called."""

    token: str
    order: list[str]
    per_speaker: timedelta | None = None
    turn: int = 0  # how many have been called so far; names the per-speaker timer

    @property
    def timer_key(self) -> str:
        return f"{ROUND_PREFIX}{self.token}:{self.turn}"


@dataclass
class SpeakingQueue:
    hands: list[str] = field(default_factory=list)
    speaker: str | None = None
    round: Round | None = None
    joined: list[str] = field(default_factory=list)  # who joined during the meeting
    gone: set[str] = field(default_factory=set)  # who left the room

    def waiting(self) -> list[str]:
        """Who is next, in order: the round first, then raised hands."""
        ahead = list(self.round.order) if self.round else []
        return ahead + [u for u in self.hands if u not in ahead]

    def drop(self, user: str) -> None:
        if user in self.hands:
            self.hands.remove(user)
        if self.round and user in self.round.order:
            self.round.order.remove(user)


# -- the timebox --------------------------------------------------------------------


@dataclass
class Timebox:
    """The time given to one section of the meeting."""

    section: int  # the ``n`` of the prompt or topic item it times
    total: timedelta
    started_at: datetime
    token: str  # names this arming's timers
    paused_at: datetime | None = None
    paused_for: timedelta = timedelta(0)
    warned: bool = False
    over: bool = False

    def elapsed(self, now: datetime) -> timedelta:
        return (self.paused_at or now) - self.started_at - self.paused_for

    def left(self, now: datetime) -> timedelta:
        return self.total - self.elapsed(now)

    @property
    def warn_key(self) -> str:
        return f"{TIMEBOX_PREFIX}{self.token}:warn"

    @property
    def end_key(self) -> str:
        return f"{TIMEBOX_PREFIX}{self.token}:end"


# -- the calendar --------------------------------------------------------------------


@dataclass(frozen=True)
class SlotKey:
    """One calendar tick, as its key spells it."""

    region: str
    number: int
    what: str
    starts: datetime  # aware
    duration: timedelta
    title: str = ""

    def encode(self) -> str:
        stamp = self.starts.astimezone(timezone.utc).strftime(_STAMP)
        seconds = int(self.duration.total_seconds())
        key = f"{CALENDAR_PREFIX}{self.region}:{self.number}:{self.what}:{stamp}:{seconds}"
        return f"{key}:{quote(self.title, safe='')}" if self.title else key

    @property
    def ends(self) -> datetime:
        return self.starts + self.duration

    @classmethod
    def parse(cls, key: str) -> SlotKey | None:
        if not key.startswith(CALENDAR_PREFIX):
            return None
        parts = key[len(CALENDAR_PREFIX):].split(":", 5)
        if len(parts) < 5 or not parts[1].isdigit() or not parts[4].isdigit():
            return None
        try:
            starts = datetime.strptime(parts[3], _STAMP).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        title = unquote(parts[5]) if len(parts) > 5 else ""
        return cls(parts[0], int(parts[1]), parts[2], starts, timedelta(seconds=int(parts[4])),
                   title)


@dataclass
class Slot:
    """The calendar slot a running meeting was opened for."""

    number: int
    starts: datetime
    ends: datetime
    extensions: int = 0

    def close_key(self, meeting: HasId) -> str:
        return f"{CLOSE}{meeting.id}:{self.extensions}"

    def warn_key(self, meeting: HasId) -> str:
        return f"{CLOSE}{meeting.id}:{self.extensions}:warn"


@dataclass(frozen=True)
class Planned:
    """One configured meeting and what became of it, for ``!schedule``."""

    region_id: str
    region_name: str
    number: int
    starts: datetime
    ends: datetime
    timezone: str
    title: str
    status: str = "scheduled"  # scheduled | held | missed
