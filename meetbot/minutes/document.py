"""Minutes as a pure function of a meeting's stored record.

``build_minutes_data`` turns a :class:`Meeting` (plus the translations and language guesses
stored beside it) into one JSON document. The Markdown and HTML minutes and the chat summaries
are rendered from that document alone, so regenerating them from the stored log always
gives the same files.

Removed means removed: redacted messages and struck items are left out of every output, and
so are their translations.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.core.events import Attachment
from meetbot.core.model import Item, ItemKind, LogEntry, Meeting
from meetbot.minutes.render import (
    UNASSIGNED,
    coordinator_summary,
    render_html,
    render_markdown,
    room_summary,
)
from meetbot.minutes.text import (
    as_utc,
    local_iso,
    media_url,
    permalink,
    safe_url,
    utc_iso,
    zone,
)

FORMAT = "meetbot-minutes/1"

__all__ = [
    "FORMAT",
    "PARTS",
    "UNASSIGNED",
    "MinutesContext",
    "MinutesView",
    "build_minutes_data",
    "coordinator_summary",
    "minutes_part",
    "render_html",
    "render_markdown",
    "room_summary",
    "write_minutes",
]


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
        return {"at": local_iso(at, self.tz), "at_utc": utc_iso(at)}

    def translations(self, event_id: str) -> dict[str, str]:
        if event_id in self.redacted:
            return {}
        return dict(self.ctx.translations.get(event_id, {}))

    def link(self, event_id: str) -> str:
        return permalink(self.meeting.room_id, event_id, self.ctx.homeserver_name)


# -- the parts of the document ---------------------------------------------------------

MinutesPart = Callable[[MinutesView], Any]
PARTS: dict[str, MinutesPart] = {}


def minutes_part(key: str) -> Callable[[MinutesPart], MinutesPart]:
    """Declare one key of the minutes document; a feature adds its data with one function."""

    def register(build: MinutesPart) -> MinutesPart:
        if key in PARTS:
            raise ValueError(f"minutes key {key!r} declared twice")
        PARTS[key] = build
        return build

    return register


def build_minutes_data(ctx: MinutesContext) -> dict[str, Any]:
    """The minutes as a JSON-ready document (plain dicts, lists, strings and numbers)."""
    view = MinutesView(ctx)
    return {key: build(view) for key, build in PARTS.items()}


def _title(view: MinutesView) -> str:
    meeting = view.meeting
    # The title was typed in the start message; if that message was redacted, so is its text.
    if meeting.start_event in view.redacted:
        date = as_utc(meeting.started_at).astimezone(view.tz).strftime("%Y-%m-%d")
        return f"{view.ctx.region_name} — {date}"
    return meeting.title


minutes_part("format")(lambda view: FORMAT)
minutes_part("meeting_id")(lambda view: view.meeting.id)
minutes_part("region")(lambda view: view.meeting.region_id)
minutes_part("region_name")(lambda view: view.ctx.region_name)
minutes_part("room_id")(lambda view: view.meeting.room_id)
minutes_part("homeserver_name")(lambda view: view.ctx.homeserver_name)
minutes_part("language")(lambda view: view.ctx.language)
minutes_part("languages")(lambda view: list(view.meeting.languages))
minutes_part("title")(_title)
minutes_part("timezone")(lambda view: view.meeting.timezone)


@minutes_part("started_at")
def _started_at(view: MinutesView) -> str:
    return local_iso(view.meeting.started_at, view.tz)


@minutes_part("started_at_utc")
def _started_at_utc(view: MinutesView) -> str:
    return utc_iso(view.meeting.started_at)


@minutes_part("ended_at")
def _ended_at(view: MinutesView) -> str | None:
    ended = view.meeting.ended_at
    return local_iso(ended, view.tz) if ended else None


@minutes_part("ended_at_utc")
def _ended_at_utc(view: MinutesView) -> str | None:
    ended = view.meeting.ended_at
    return utc_iso(ended) if ended else None


@minutes_part("duration_seconds")
def _duration(view: MinutesView) -> int | None:
    meeting = view.meeting
    if meeting.ended_at is None:
        return None
    return round((as_utc(meeting.ended_at) - as_utc(meeting.started_at)).total_seconds())


@minutes_part("started_by")
def _started_by(view: MinutesView) -> dict[str, str]:
    return _person(view, view.meeting.started_by)


@minutes_part("ended_by")
def _ended_by(view: MinutesView) -> dict[str, str] | None:
    ended_by = view.meeting.ended_by
    return _person(view, ended_by) if ended_by else None


@minutes_part("chairs")
def _chairs(view: MinutesView) -> list[dict[str, str]]:
    return [_person(view, user) for user in sorted(view.meeting.chairs, key=_sort_key(view))]


def _person(view: MinutesView, user_id: str) -> dict[str, str]:
    return {"user_id": user_id, "display_name": view.name(user_id)}


def _sort_key(view: MinutesView) -> Callable[[str], tuple[str, str]]:
    return lambda user: (view.name(user).casefold(), user)


@minutes_part("participants")
def _participants(view: MinutesView) -> list[dict[str, Any]]:
    """Who spoke or marked attendance, most lines first (MeetBot's "lines said")."""
    counts: dict[str, int] = {}
    for entry in view.log:
        counts[entry.sender] = counts.get(entry.sender, 0) + 1
    total = sum(counts.values()) or 1
    people = view.meeting.present()
    order = {user: index for index, user in enumerate(people)}
    people.sort(key=lambda user: (-counts.get(user, 0), order[user]))
    here = view.meeting.attendance
    return [
        {
            **_person(view, user),
            "messages": counts.get(user, 0),
            "share_of_lines": round(counts.get(user, 0) / total, 3),
            "present": user in here,
            "present_at": local_iso(here[user], view.tz) if user in here else None,
            "chair": user in view.meeting.chairs,
        }
        for user in people
    ]


@minutes_part("items")
def _items(view: MinutesView) -> list[dict[str, Any]]:
    return [_item(view, item) for item in view.items]


def _item(view: MinutesView, item: Item) -> dict[str, Any]:
    section = item if item.kind.opens_section else view.section_of.get(item.n)
    text, language, translations = _item_text(view, item)
    return {
        "n": item.n,
        "kind": item.kind.value,
        "text": text,
        "author": item.author,
        "author_name": view.name(item.author),
        **view.time(item.at),
        "event_id": item.event_id,
        "permalink": view.link(item.event_id),
        "log_line": view.line_of.get(item.event_id),
        "prompt_id": section.prompt_id if section else None,
        "section": section.n if section and section is not item else None,
        "assignees": list(item.assignees),
        "url": item.url,
        "safe_url": safe_url(item.url),
        "edited": bool(item.history),
        "language": language,
        "translations": translations,
    }


def _item_text(view: MinutesView, item: Item) -> tuple[str, str | None, dict[str, str]]:
    """A prompt's words come from the agenda, in all its languages; other items were typed."""
    if item.kind is ItemKind.PROMPT and item.prompt_id in view.ctx.agenda_prompts:
        texts = dict(view.ctx.agenda_prompts[item.prompt_id or ""])
        source = next((lang for lang, t in texts.items() if t == item.text), "en")
        return item.text, source, texts
    return item.text, view.ctx.languages.get(item.event_id), view.translations(item.event_id)


@minutes_part("sections")
def _sections(view: MinutesView) -> list[dict[str, Any]]:
    """The summary's groups: items before the first prompt, then one per prompt/topic."""
    loose: list[int] = []
    sections: dict[int, dict[str, Any]] = {}
    for item in view.items:
        if item.kind.opens_section:
            sections[item.n] = {
                "n": item.n,
                "kind": item.kind.value,
                "prompt_id": item.prompt_id,
                "text": item.text,
                "items": [],
            }
            continue
        owner = view.section_of.get(item.n)
        (sections[owner.n]["items"] if owner else loose).append(item.n)
    head = {"n": None, "kind": None, "prompt_id": None, "text": None, "items": loose}
    return ([head] if loose else []) + list(sections.values())


@minutes_part("decisions")
def _decisions(view: MinutesView) -> list[int]:
    return [item.n for item in view.items if item.kind is ItemKind.DECISION]


@minutes_part("actions_by_person")
def _actions_by_person(view: MinutesView) -> list[dict[str, Any]]:
    """MeetBot's grouping: each owner's actions, names sorted, then the UNASSIGNED ones."""
    groups: dict[str, list[int]] = {}
    for item in view.items:
        if item.kind is ItemKind.ACTION:
            for owner in item.assignees or (UNASSIGNED,):
                groups.setdefault(owner, []).append(item.n)
    unassigned = groups.pop(UNASSIGNED, None)
    result: list[dict[str, Any]] = [
        {**_person(view, user), "items": groups[user]}
        for user in sorted(groups, key=_sort_key(view))
    ]
    if unassigned:
        result.append({"user_id": UNASSIGNED, "display_name": None, "items": unassigned})
    return result


@minutes_part("names")
def _names(view: MinutesView) -> dict[str, str]:
    """Display names of everyone the document mentions, for readers of the JSON alone."""
    users = set(view.meeting.present()) | view.meeting.chairs | {view.meeting.started_by}
    for item in view.items:
        users.add(item.author)
        users.update(item.assignees)
    return {user: view.name(user) for user in sorted(users)}


@minutes_part("log")
def _log(view: MinutesView) -> list[dict[str, Any]]:
    return [
        {
            "line": view.line_of[entry.event_id],
            "event_id": entry.event_id,
            "sender": entry.sender,
            "display_name": view.name(entry.sender),
            **view.time(entry.at),
            "body": entry.current_body,
            "msgtype": entry.msgtype,
            "is_command": entry.is_command,
            "edited": bool(entry.edits),
            "permalink": view.link(entry.event_id),
            "language": view.ctx.languages.get(entry.event_id),
            "translations": view.translations(entry.event_id),
            "reply_to": _reply(view, entry.reply_to),
            "attachment": _attachment(entry.attachment),
        }
        for entry in view.log
    ]


def _reply(view: MinutesView, target: str | None) -> dict[str, Any] | None:
    """What a line answers: the line and item it replied to when they are in the record
    (a removed message leaves only its event id), and a link to it in Matrix."""
    if target is None:
        return None
    entry = view.meeting.log_entry(target)
    line = view.line_of.get(target)
    item = view.item_of.get(target) if line else None
    return {
        "event_id": target,
        "permalink": view.link(target),
        "line": line,
        "sender": entry.sender if entry is not None and line else None,
        "display_name": view.name(entry.sender) if entry is not None and line else None,
        "item": item.n if item is not None else None,
        "item_kind": item.kind.value if item is not None else None,
    }


def _attachment(attachment: Attachment | None) -> dict[str, Any] | None:
    """A shared file as the minutes show it: its name linked to its ``mxc://`` address."""
    if attachment is None:
        return None
    return {
        "kind": attachment.kind,
        "name": attachment.name,
        "url": attachment.url,
        "media_url": media_url(attachment.url),
        "mimetype": attachment.mimetype,
        "size": attachment.size,
        "encrypted": attachment.encrypted,
    }


# -- files ------------------------------------------------------------------------------


def minutes_basename(data: Mapping[str, Any]) -> str:
    """``2024-05-01-bogota-1a2b3c4d``: findable by date and region, unique per meeting."""
    date = str(data["started_at"])[:10]
    return f"{date}-{_file_safe(str(data['region']))}-{str(data['meeting_id'])[:8]}"


def _file_safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", part).strip("-") or "x"


def write_minutes(out_dir: Path, data: dict[str, Any], languages: Sequence[str]) -> list[Path]:
    """Write the JSON once and the Markdown and HTML in each language; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = minutes_basename(data)
    paths = [_write_atomic(out_dir / f"{base}.json", _to_json(data))]
    for lang in dict.fromkeys(languages):
        suffix = _file_safe(lang)
        paths.append(_write_atomic(out_dir / f"{base}-{suffix}.md", render_markdown(data, lang)))
        paths.append(_write_atomic(out_dir / f"{base}-{suffix}.html", render_html(data, lang)))
    return paths


def _to_json(data: Mapping[str, Any]) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False, indent=2)
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from a broken client cannot be UTF-8; \u escapes keep it exactly.
        text = json.dumps(data, ensure_ascii=True, indent=2)
    return text + "\n"


def _write_atomic(path: Path, text: str) -> Path:
    """Readers never see half a file: write beside it, flush to disk, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8", errors="replace"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
