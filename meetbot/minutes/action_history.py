"""Actions followed up, as the record says: each numbered action with its words and owners
(from its meeting's record, so edits, redactions and withdrawals reach them), its status and
its history across meetings and regions (from the store).

The minutes show the history of the actions a meeting opened, carried over or closed; the
report shows every action's; the chat shells list the open ones.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.core.model import Item, ItemKind, Meeting, RoomState
from meetbot.minutes.series import is_withdrawn
from meetbot.storage.action_store import (
    CARRIED,
    CLOSED,
    OPENED,
    ActionRow,
    ActionStep,
    ActionStore,
)

OPEN = "open"


@dataclass
class FollowedAction:
    row: ActionRow
    item: Item
    meeting: Meeting
    steps: list[ActionStep] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.row.number

    @property
    def owners(self) -> tuple[str, ...]:
        """The owners still in the record (a withdrawn person is nobody's owner)."""
        return tuple(u for u in self.item.assignees if not is_withdrawn(u))

    @property
    def closing(self) -> ActionStep | None:
        closed = [s for s in self.steps if s.step in CLOSED]
        return closed[-1] if closed else None

    @property
    def status(self) -> str:
        closing = self.closing
        return closing.step if closing is not None else OPEN

    def owner_names(self) -> list[str]:
        return [self.meeting.name_of(u) for u in self.owners]

    def carried_into(self, meeting_id: str) -> bool:
        return any(s.step == CARRIED and s.meeting_id == meeting_id for s in self.steps)


class MeetingCache:
    """Meetings rebuilt from the record, once each (the running ones as they run).

    With ``keep``, only that many whole meetings are kept, the least recently used let go
    (a report reads every meeting of the network in turn: memory stays bounded however
    large the record). What an action's history reads of a meeting (its items and names,
    not its log) and how it is named are kept for every meeting read: a meeting's actions
    are followed up by the region's later meetings, which never rebuild it again.
    """

    def __init__(self, app: MeetBotApp, *known: Meeting, keep: int | None = None) -> None:
        self.app = app
        self.keep = keep
        self._meetings: OrderedDict[str, Meeting | None] = OrderedDict((m.id, m) for m in known)
        self._outlines: dict[str, Meeting | None] = {m.id: outline(m) for m in known}
        self._labels: dict[str, str] = {}  # a few words per meeting

    async def get(self, meeting_id: str, room_id: str) -> Meeting | None:
        """The meeting, or its outline (items and names, no log): what actions need."""
        running = self.app.meeting_in(room_id)
        if meeting_id not in self._meetings:
            if running is not None and running.id == meeting_id:
                return self._kept(meeting_id, running)
            if meeting_id in self._outlines:
                return self._outlines[meeting_id]
        return await self.rebuilt(meeting_id)

    async def rebuilt(self, meeting_id: str) -> Meeting | None:
        """The whole meeting as its stored events make it (what its minutes show)."""
        if meeting_id in self._meetings:
            self._meetings.move_to_end(meeting_id)
            return self._meetings[meeting_id]
        return self._kept(meeting_id, await self.app.rebuild_meeting(meeting_id))

    async def label(self, meeting_id: str, room_id: str) -> str:
        """How the history names a meeting ("Bogotá — Meeting 2"). A meeting not read yet
        (a later one that carried an action over) is named from its first event alone."""
        if meeting_id not in self._labels:
            known = self._meetings.get(meeting_id) or self._outlines.get(meeting_id)
            running = self.app.meeting_in(room_id)
            if known is None and running is not None and running.id == meeting_id:
                known = running
            meeting = known or await self._opened(meeting_id)
            self._labels[meeting_id] = (_meeting_label(self.app, meeting) if meeting
                                        else meeting_id[:8])
        return self._labels[meeting_id]

    async def _opened(self, meeting_id: str) -> Meeting | None:
        """The meeting as its first stored event opened it: its title, region and start.
        That is the title the whole record gives: only a redaction of that event changes
        it, and a redacted event is stored without its words."""
        row = await self.app.store.meeting(meeting_id)
        if row is None:
            return None
        first = await self.app.store.meeting_events(meeting_id, limit=1)
        state = self.app.replay(RoomState(row.room_id), first)
        meeting = state.meeting or state.last_meeting
        if meeting is None or meeting.id != meeting_id:  # not the meeting: the whole record
            return await self.rebuilt(meeting_id)
        return meeting

    def _kept(self, meeting_id: str, meeting: Meeting | None) -> Meeting | None:
        self._meetings[meeting_id] = meeting
        self._outlines[meeting_id] = outline(meeting) if meeting is not None else None
        if self.keep is not None and len(self._meetings) > self.keep:
            self._meetings.popitem(last=False)
        return meeting

    def name_of(self, user_id: str) -> str:
        """The name a person had in any meeting read so far (else their id)."""
        for meeting in self._outlines.values():
            if meeting is not None and meeting.names.get(user_id):
                return meeting.names[user_id]
        return user_id


def outline(meeting: Meeting) -> Meeting:
    """What an action's history reads of a meeting: the meeting without its log (its items
    and the names people went by stay; the log is nearly all of a meeting's size)."""
    return replace(meeting, log=[], attendance={}, proposals=[], _log_index={}, _lines={})


async def followed_actions(
    app: MeetBotApp, *, region_id: str | None = None, number: int | None = None,
    meeting_ids: list[str] | None = None, numbers: set[int] | None = None,
    cache: MeetingCache | None = None,
) -> list[FollowedAction]:
    """The numbered actions still in the record (not struck, redacted or withdrawn); only
    ``numbers`` when given (only their meetings are rebuilt)."""
    store = ActionStore(app.store.db)
    rows = await store.actions(region_id=region_id, number=number, meeting_ids=meeting_ids,
                               numbers=numbers)
    steps = await store.steps([r.number for r in rows]) if rows else {}
    cache = cache or MeetingCache(app)
    found: list[FollowedAction] = []
    for row in rows:
        meeting = await cache.get(row.meeting_id, row.room_id)
        item = meeting.item(row.item_n) if meeting is not None else None
        if meeting is None or item is None or item.kind is not ItemKind.ACTION or item.struck:
            continue
        found.append(FollowedAction(row, item, meeting, steps.get(row.number, [])))
    return found


async def actions_of_meeting(
    app: MeetBotApp, meeting_id: str, cache: MeetingCache | None = None
) -> list[FollowedAction]:
    """The actions a meeting opened, carried over or closed (only their meetings rebuilt)."""
    touched = await ActionStore(app.store.db).touched_in(meeting_id)
    if not touched:
        return []
    return await followed_actions(app, numbers=touched, cache=cache)


def _meeting_label(app: MeetBotApp, meeting: Meeting) -> str:
    region = app.config.region(meeting.region_id)
    name = region.name if region else meeting.region_id
    return meeting.title if name in meeting.title else f"{name} — {meeting.title}"


async def history_data(
    app: MeetBotApp, actions: list[FollowedAction], name_of: Any = None,
    cache: MeetingCache | None = None,
) -> list[dict[str, Any]]:
    """The actions' history, JSON-ready (the minutes' and the report's ``action_history``).
    ``name_of(user_id, display_name)``: how people are named (a pseudonym in a pseudonymous
    report); by default as the meeting knew them."""
    cache = cache or MeetingCache(app)

    def person(action: FollowedAction, user_id: str | None) -> str:
        if not user_id or is_withdrawn(user_id):
            return "—"
        shown = action.meeting.names.get(user_id) or cache.name_of(user_id)
        return str(name_of(user_id, shown)) if name_of is not None else shown

    async def label_of(meeting_id: str | None, room_id: str | None) -> str | None:
        if not meeting_id or not room_id:
            return None
        return await cache.label(meeting_id, room_id)

    for action in actions:
        for step in action.steps:
            await label_of(step.meeting_id, step.room_id)
        await _read_names(action, cache)
    texts, sources = await app.store.translations_for(a.item.event_id for a in actions)
    data: list[dict[str, Any]] = []
    for action in actions:
        steps: list[dict[str, Any]] = [{
            "step": OPENED, "meeting": _meeting_label(app, action.meeting),
            "date": _date(action.item.at), "by": person(action, action.item.author),
            "by_id": _id(action.item.author), "reason": None, "direct": False,
        }]
        for step in action.steps:
            where = await label_of(step.meeting_id, step.room_id)
            if where is None and step.region_id:
                region = app.config.region(step.region_id)
                where = region.name if region else None
            steps.append({
                "step": step.step, "meeting": where or "", "date": _date(step.at),
                "by": person(action, step.user_id), "by_id": _id(step.user_id),
                "reason": step.reason or None,
                "direct": where is None,
            })
        owners = action.owners
        data.append({
            "number": action.number,
            "region": action.row.region_id,
            "meeting_id": action.row.meeting_id,
            "n": action.item.n,
            "text": action.item.text if name_of is None else name_of_text(action, name_of),
            "language": sources.get(action.item.event_id),
            "translations": dict(texts.get(action.item.event_id, {})),
            "owners": [person(action, u) for u in owners],
            "owner_ids": list(owners),
            "status": action.status,
            "steps": steps,
        })
    return data


async def _read_names(action: FollowedAction, cache: MeetingCache) -> None:
    """The meetings of an action's steps read until everyone its history names has a name
    (someone assigned by their id may first have spoken in a later meeting)."""
    people = {s.user_id for s in action.steps if s.user_id} | set(action.owners)
    unknown = {u for u in people if not is_withdrawn(u) and not action.meeting.names.get(u)
               and cache.name_of(u) == u}
    for step in action.steps:
        if not unknown:
            return
        if step.meeting_id and step.room_id:
            meeting = await cache.get(step.meeting_id, step.room_id)
            if meeting is not None:
                unknown -= {u for u, name in meeting.names.items() if name}


def name_of_text(action: FollowedAction, name_of: Any) -> str:
    text = action.item.text
    for user_id in action.item.assignees:
        text = text.replace(user_id, str(name_of(user_id, user_id)))
    return text


def _id(user_id: str | None) -> str | None:
    return None if not user_id or is_withdrawn(user_id) else user_id


def _date(at: datetime) -> str:
    return at.date().isoformat()
