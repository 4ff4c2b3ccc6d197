"""The record as the minutes see it: what they are made from, and a view of it with
redactions and strikes already applied. Every part of the minutes document reads this view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from urllib.parse import quote
from zoneinfo import ZoneInfo

from meetbot.core.model import Item, LogEntry, Meeting
from meetbot.minutes.text import as_utc, quote_id, zone


@dataclass
class MinutesContext:
    """Everything the minutes are made from; all of it comes from storage."""

    meeting: Meeting
    region_name: str
    language: str = "en"  # the main reader's language
    # event_id -> {language: text}; items and log lines are both keyed by their event.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # event_id -> detected or declared source language; missing when unknown.
    languages: Mapping[str, str] = field(default_factory=dict)
    # event_id -> {language: 'machine' | 'human' | 'glossary'}: where each translation
    # comes from (a person's correction is marked in the minutes and the exports).
    translation_sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # prompt_id -> {language: text}, from the agenda.
    agenda_prompts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    homeserver_name: str | None = None


class MinutesView:
    """The record as the minutes see it: redactions and strikes already applied."""

    def __init__(self, ctx: MinutesContext) -> None:
        self.ctx = ctx
        self.meeting = ctx.meeting
        self.tz: ZoneInfo = zone(ctx.meeting.timezone)

    @cached_property
    def redacted(self) -> frozenset[str]:
        return frozenset(e.event_id for e in self.meeting.log if e.redacted)

    @cached_property
    def log(self) -> list[LogEntry]:
        return [e for e in self.meeting.log if not e.redacted]

    @cached_property
    def line_of(self) -> dict[str, int]:
        return {entry.event_id: n for n, entry in enumerate(self.log, start=1)}

    @cached_property
    def items(self) -> list[Item]:
        # An item whose message was redacted is struck by the core; checking the log too
        # keeps the promise even for records written before that rule.
        return [i for i in self.meeting.items if not i.struck and i.event_id not in self.redacted]

    @cached_property
    def item_of(self) -> dict[str, Item]:
        """The item each event made, for the items the minutes show."""
        return {item.event_id: item for item in self.items}

    @cached_property
    def section_of(self) -> dict[int, Item | None]:
        """Each item's prompt/topic. When that was struck, the one open before it counts,
        as if the struck one had never been posted."""
        sections: dict[int, Item | None] = {}
        current: Item | None = None
        live = {i.n for i in self.items}
        for item in self.meeting.items:
            if item.kind.opens_section and item.n in live:
                current = item
            elif item.n in live:
                own = self.meeting.item(item.section) if item.section else None
                sections[item.n] = own if own is not None and own.n in live else current
        return sections

    def name(self, user_id: str) -> str:
        return self.meeting.name_of(user_id)

    def time(self, at: datetime) -> dict[str, str]:
        """``text.local_iso`` and ``text.utc_iso`` of a line's time, made together (every
        line has both)."""
        utc = as_utc(at)
        return {"at": utc.astimezone(self.tz).isoformat(timespec="seconds"),
                "at_utc": utc.isoformat(timespec="seconds").replace("+00:00", "Z")}

    def translations(self, event_id: str) -> dict[str, str]:
        if event_id in self.redacted:
            return {}
        return dict(self.ctx.translations.get(event_id, {}))

    def translation_sources(self, event_id: str) -> dict[str, str]:
        """Where each of the event's translations comes from (machine, human, glossary)."""
        if event_id in self.redacted:
            return {}
        return dict(self.ctx.translation_sources.get(event_id, {}))

    def link(self, event_id: str) -> str:
        """``text.permalink(room, event_id, homeserver)``, with the room and the server
        quoted once per document rather than once per line."""
        head, tail = self._link_parts
        return f"{head}{quote_id(event_id)}{tail}"

    @cached_property
    def _link_parts(self) -> tuple[str, str]:
        via = self.ctx.homeserver_name
        head = f"https://matrix.to/#/{quote(self.meeting.room_id, safe='')}/"
        return head, f"?via={quote(via, safe='')}" if via else ""
