"""Minutes as a pure function of a meeting's stored record.

``build_minutes_data`` turns a :class:`Meeting` (plus the translations and language guesses
stored beside it) into one JSON document. The Markdown and HTML minutes and the chat summaries
are rendered from that document alone, so regenerating them from the stored log always
gives the same files.

Removed means removed: redacted messages and struck items are left out of every output, and
so are their translations.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meetbot.core.events import Attachment
from meetbot.core.mentions import names_in
from meetbot.core.model import Item, ItemKind
from meetbot.minutes.proposals import consent_rounds, decision_translations
from meetbot.minutes.render import UNASSIGNED, new_document, render_html, render_markdown
from meetbot.minutes.summaries import coordinator_summary, room_summary
from meetbot.minutes.text import as_utc, local_iso, media_url, safe_url, utc_iso
from meetbot.minutes.view import MinutesContext, MinutesView
from meetbot.storage.json_text import indented_json

FORMAT = "meetbot-minutes/1"

__all__ = [
    "FORMAT",
    "PARTS",
    "UNASSIGNED",
    "MinutesContext",
    "MinutesView",
    "build_minutes_data",
    "coordinator_summary",
    "render_html",
    "render_markdown",
    "room_summary",
    "write_minutes",
]


# -- the parts of the document ---------------------------------------------------------


def _title(view: MinutesView) -> str:
    meeting = view.meeting
    # The title was typed in the start message; if that message was redacted, so is its text.
    if meeting.start_event in view.redacted:
        date = as_utc(meeting.started_at).astimezone(view.tz).strftime("%Y-%m-%d")
        return f"{view.ctx.region_name} — {date}"
    return meeting.title


def _started_at(view: MinutesView) -> str:
    return local_iso(view.meeting.started_at, view.tz)


def _started_at_utc(view: MinutesView) -> str:
    return utc_iso(view.meeting.started_at)


def _ended_at(view: MinutesView) -> str | None:
    ended = view.meeting.ended_at
    return local_iso(ended, view.tz) if ended else None


def _ended_at_utc(view: MinutesView) -> str | None:
    ended = view.meeting.ended_at
    return utc_iso(ended) if ended else None


def _duration(view: MinutesView) -> int | None:
    meeting = view.meeting
    if meeting.ended_at is None:
        return None
    return round((as_utc(meeting.ended_at) - as_utc(meeting.started_at)).total_seconds())


def _started_by(view: MinutesView) -> dict[str, str]:
    return _person(view, view.meeting.started_by)


def _ended_by(view: MinutesView) -> dict[str, str] | None:
    ended_by = view.meeting.ended_by
    return _person(view, ended_by) if ended_by else None


def _chairs(view: MinutesView) -> list[dict[str, str]]:
    return [_person(view, user) for user in sorted(view.meeting.chairs, key=_sort_key(view))]


def _person(view: MinutesView, user_id: str) -> dict[str, str]:
    return {"user_id": user_id, "display_name": view.name(user_id)}


def _sort_key(view: MinutesView) -> Callable[[str], tuple[str, str]]:
    return lambda user: (view.name(user).casefold(), user)


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
        "translation_sources": view.translation_sources(item.event_id)
        if item.kind is not ItemKind.PROMPT else {},
        **_place(view, item),
    }


def _place(view: MinutesView, item: Item) -> dict[str, int | None]:
    """A prompt's place in the agenda (2 of 3), as the room saw it announced; prompts are
    numbered by it, the other items by their ``n``."""
    order = list(view.ctx.agenda_prompts)
    if item.kind is not ItemKind.PROMPT or item.prompt_id not in order:
        return {"prompt_number": None, "prompt_total": None}
    return {"prompt_number": order.index(item.prompt_id or "") + 1, "prompt_total": len(order)}


def _item_text(view: MinutesView, item: Item) -> tuple[str, str | None, dict[str, str]]:
    """A prompt's words come from the agenda, in all its languages; other items were typed."""
    if item.kind is ItemKind.PROMPT and item.prompt_id in view.ctx.agenda_prompts:
        texts = dict(view.ctx.agenda_prompts[item.prompt_id or ""])
        source = next((lang for lang, t in texts.items() if t == item.text), "en")
        return item.text, source, texts
    is_decision = item.kind is ItemKind.DECISION
    voted = decision_translations(view, item.n, item.text) if is_decision else None
    translations = voted if voted is not None else view.translations(item.event_id)
    return item.text, view.ctx.languages.get(item.event_id), translations


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


def _decisions(view: MinutesView) -> list[int]:
    return [item.n for item in view.items if item.kind is ItemKind.DECISION]


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


def _names(view: MinutesView) -> dict[str, str]:
    """Display names of everyone the document mentions, for readers of the JSON alone (and
    for the Markdown and HTML minutes, which show people by these names)."""
    users = set(view.meeting.present()) | view.meeting.chairs | {view.meeting.started_by}
    for item in view.items:
        users.add(item.author)
        users.update(item.assignees)
    texts = [item.text for item in view.items] + [entry.current_body for entry in view.log]
    texts += [t for entry in view.log for t in view.translations(entry.event_id).values()]
    users.update(names_in(texts, view.meeting.names))
    return {user: view.name(user) for user in sorted(users)}


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
            "translation_sources": view.translation_sources(entry.event_id),
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


MinutesPart = Callable[[MinutesView], Any]

# Every key of the minutes document, in the order the JSON file lists them.
PARTS: tuple[tuple[str, MinutesPart], ...] = (
    ("format", lambda view: FORMAT),
    ("meeting_id", lambda view: view.meeting.id),
    ("region", lambda view: view.meeting.region_id),
    ("region_name", lambda view: view.ctx.region_name),
    ("room_id", lambda view: view.meeting.room_id),
    ("homeserver_name", lambda view: view.ctx.homeserver_name),
    ("language", lambda view: view.ctx.language),
    ("languages", lambda view: list(view.meeting.languages)),
    ("title", _title),
    ("timezone", lambda view: view.meeting.timezone),
    ("started_at", _started_at),
    ("started_at_utc", _started_at_utc),
    ("ended_at", _ended_at),
    ("ended_at_utc", _ended_at_utc),
    ("duration_seconds", _duration),
    ("started_by", _started_by),
    ("ended_by", _ended_by),
    ("chairs", _chairs),
    ("participants", _participants),
    ("items", _items),
    ("sections", _sections),
    ("decisions", _decisions),
    ("actions_by_person", _actions_by_person),
    ("names", _names),
    ("log", _log),
    ("consent_rounds", consent_rounds),
)


def build_minutes_data(ctx: MinutesContext) -> dict[str, Any]:
    """The minutes as a JSON-ready document (plain dicts, lists, strings and numbers)."""
    view = MinutesView(ctx)
    return {key: build(view) for key, build in PARTS}


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
    new_document()
    base = minutes_basename(data)
    paths = [_write_atomic(out_dir / f"{base}.json", indented_json(data))]
    for lang in dict.fromkeys(languages):
        suffix = _file_safe(lang)
        paths.append(_write_atomic(out_dir / f"{base}-{suffix}.md", render_markdown(data, lang)))
        paths.append(_write_atomic(out_dir / f"{base}-{suffix}.html", render_html(data, lang)))
    return paths


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
