"""What a meeting is: its prompts, its record, its people."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meetbot.core.events import Attachment
from meetbot.core.records import Planned, Proposal, Slot, SpeakingQueue, Timebox

MEETING_NAMESPACE = uuid.UUID("6f1c5a3e-0d6b-4b8e-9a51-3d2f7c1e9b42")


def meeting_id_for(start_event_id: str) -> str:
    """A meeting's UUID, derived from the event that started it so replays agree."""
    return str(uuid.uuid5(MEETING_NAMESPACE, start_event_id))


class ItemKind(str, enum.Enum):
    PROMPT = "prompt"
    TOPIC = "topic"
    INFO = "info"
    IDEA = "idea"
    DECISION = "decision"
    ACTION = "action"
    LINK = "link"

    @property
    def opens_section(self) -> bool:
        return self in (ItemKind.PROMPT, ItemKind.TOPIC)


@dataclass(frozen=True)
class Prompt:
    """One agenda prompt. Its ``id`` is the same in every region and meeting."""

    id: str
    texts: dict[str, str]
    timebox: timedelta | None = None

    def text(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts.get("en") or next(iter(self.texts.values()))


@dataclass(frozen=True)
class Agenda:
    id: str
    title: dict[str, str]
    prompts: tuple[Prompt, ...]
    # What happens when a prompt's timebox runs out: "advance" to the next prompt or "ask".
    on_timebox_end: str = "ask"

    def find(self, prompt_id: str) -> int | None:
        for index, prompt in enumerate(self.prompts):
            if prompt.id == prompt_id:
                return index
        return None


@dataclass(frozen=True)
class Region:
    id: str
    name: str
    room_id: str
    languages: tuple[str, ...] = ("en",)
    timezone: str = "UTC"
    agenda: str = "default"


@dataclass(frozen=True)
class MeetingGlance:
    """A meeting running in another room, as a direct chat's ``!status`` shows it."""

    region_name: str
    title: str
    started_at: datetime
    timezone: str = "UTC"
    current: str = ""  # the current prompt or topic, in the room's first language


@dataclass(frozen=True)
class RoomSettings:
    """Everything the core needs to know about a room, handed in by the shell."""

    region: Region
    agenda: Agenda
    bot_user_id: str
    facilitators: frozenset[str] = frozenset()
    command_prefix: str = "!"
    facilitator_power: int = 50
    coordinator_room: str | None = None
    coordinator_users: frozenset[str] = frozenset()
    translate_always: bool = False  # translate outside meetings too (translation.mode)
    # A direct chat with one person: only the personal commands work there.
    direct: bool = False
    # For a direct chat: the meetings running in the rooms that person shares with the bot.
    meetings_elsewhere: tuple[MeetingGlance, ...] = ()
    # Rooms named in the config that the bot cannot reach (shown by !status).
    unreachable: tuple[str, ...] = ()
    # The configured meetings of a region (all regions for None) as the calendar shell knows
    # them, for !schedule. It only answers questions, so a replay never depends on it.
    calendar: Callable[[str | None], list[Planned]] | None = None

    @property
    def room_id(self) -> str:
        return self.region.room_id

    @property
    def languages(self) -> tuple[str, ...]:
        return self.region.languages


@dataclass
class Item:
    n: int
    kind: ItemKind
    text: str
    author: str
    at: datetime
    event_id: str
    section: int | None  # the ``n`` of the prompt/topic item it belongs to
    prompt_id: str | None = None
    assignees: tuple[str, ...] = ()
    url: str | None = None
    struck: bool = False
    history: list[str] = field(default_factory=list)


@dataclass
class LogEntry:
    event_id: str
    sender: str
    at: datetime
    body: str
    msgtype: str = "m.text"
    is_command: bool = False
    redacted: bool = False
    edits: list[tuple[datetime, str]] = field(default_factory=list)
    reply_to: str | None = None  # the event this line answers
    attachment: Attachment | None = None  # the file shared with this line

    @property
    def current_body(self) -> str:
        if self.redacted:
            return ""
        return self.edits[-1][1] if self.edits else self.body


@dataclass
class Meeting:
    id: str
    room_id: str
    region_id: str
    title: str
    agenda_id: str
    started_at: datetime
    started_by: str
    start_event: str
    chairs: set[str] = field(default_factory=set)
    items: list[Item] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    attendance: dict[str, datetime] = field(default_factory=dict)
    timezone: str = "UTC"
    languages: tuple[str, ...] = ("en",)
    # Languages people chose with !lang, as their messages said (the meeting reads in them).
    chosen_languages: dict[str, str] = field(default_factory=dict)
    ended_at: datetime | None = None
    ended_by: str | None = None
    # Facilitation (rebuilt by replay like the rest): the running prompt's timebox, the
    # speaking queue, consent rounds, and the calendar slot the meeting was opened for.
    timebox: Timebox | None = None
    queue: SpeakingQueue | None = None
    proposals: list[Proposal] = field(default_factory=list)
    slot: Slot | None = None
    _log_index: dict[str, LogEntry] = field(default_factory=dict, repr=False)
    _item_index: dict[str, Item] = field(default_factory=dict, repr=False)
    # Lines said per person, kept as lines come and go (a long meeting must not slow down).
    _lines: dict[str, int] = field(default_factory=dict, repr=False)
    # The prompts and topics, in order: the current one is looked up on every message.
    _sections: list[Item] = field(default_factory=list, repr=False)

    # -- the record -------------------------------------------------------------------
    def add_log(self, entry: LogEntry) -> None:
        self.log.append(entry)
        self._log_index[entry.event_id] = entry
        if not entry.redacted:
            self._lines[entry.sender] = self._lines.get(entry.sender, 0) + 1

    def redact(self, entry: LogEntry) -> None:
        """The line's text is gone; it no longer counts as the sender's."""
        if not entry.redacted:
            entry.redacted = True
            self._lines[entry.sender] -= 1
        entry.edits.clear()

    def log_entry(self, event_id: str) -> LogEntry | None:
        return self._log_index.get(event_id)

    def add_item(self, item: Item) -> None:
        self.items.append(item)
        self._item_index[item.event_id] = item
        if item.kind.opens_section:
            self._sections.append(item)

    def item_for_event(self, event_id: str) -> Item | None:
        return self._item_index.get(event_id)

    def next_item_number(self) -> int:
        return len(self.items) + 1

    def live_items(self) -> list[Item]:
        return [item for item in self.items if not item.struck]

    def item(self, n: int) -> Item | None:
        return self.items[n - 1] if 1 <= n <= len(self.items) else None

    @property
    def current_section(self) -> Item | None:
        for item in reversed(self._sections):
            if not item.struck:
                return item
        return None

    @property
    def current_prompt_id(self) -> str | None:
        section = self.current_section
        return section.prompt_id if section else None

    # -- people -----------------------------------------------------------------------
    def message_counts(self) -> dict[str, int]:
        return {user: n for user, n in self._lines.items() if n > 0}

    def present(self) -> list[str]:
        """Everyone who spoke or marked attendance, in order of first appearance."""
        seen: dict[str, None] = {user: None for user, n in self._lines.items() if n > 0}
        for user in self.attendance:
            seen.setdefault(user, None)
        return list(seen)

    def name_of(self, user_id: str) -> str:
        return self.names.get(user_id) or user_id

    def agenda_index(self, agenda: Agenda) -> int:
        """Index in ``agenda`` of the most recent prompt posted, or -1 before the first."""
        for item in reversed(self.items):
            if item.kind is ItemKind.PROMPT and not item.struck and item.prompt_id:
                found = agenda.find(item.prompt_id)
                if found is not None:
                    return found
        return -1


@dataclass
class RoomState:
    """The core's whole memory of one room. Rebuilt at start by replaying stored events."""

    room_id: str
    meeting: Meeting | None = None
    # The meeting that ended most recently here (replaying its events ends with it).
    last_meeting: Meeting | None = None
