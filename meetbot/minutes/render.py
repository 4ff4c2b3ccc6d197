"""Rendering the minutes document: Markdown and HTML files, and two chat summaries.

Each output reads only the JSON document from :mod:`meetbot.minutes.document`. User text is
escaped by default in both template formats: HTML by Jinja's autoescape, Markdown by a
``finalize`` hook, so a template that forgets a filter stays safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from meetbot.core import counts
from meetbot.core.durations import format_duration
from meetbot.i18n import Msg, md_escape, render_lines
from meetbot.minutes.by_prompt import TOP_ENDORSED, prompt_of_lines
from meetbot.minutes.labels import label
from meetbot.minutes.pieces import HtmlPieces, MarkdownPieces, mark, md_finalize, size
from meetbot.minutes.proposals import proposals_of
from meetbot.minutes.text import media_url, safe_url, truncate

UNASSIGNED = "UNASSIGNED"  # the actions group for nobody; no Matrix user id looks like this

# How much of an item's text a chat summary shows; the minutes files keep all of it.
SUMMARY_TEXT_LIMIT = 300


def _md_inline(text: str) -> str:
    """Escape text that sits inside one line (a heading, a label): line breaks become spaces."""
    return md_escape(" ".join(text.split()))


_LOADER = PackageLoader("meetbot.minutes", "templates")
_HTML_ENV = Environment(
    loader=_LOADER,
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_MD_ENV = Environment(
    loader=_LOADER,
    autoescape=False,
    finalize=md_finalize,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# -- what the templates can call -------------------------------------------------------


class _Helpers:
    """What a template may call while rendering one document for one reader."""

    def __init__(self, data: Mapping[str, Any], language: str, markdown: bool) -> None:
        self.data = data
        self.language = language
        self.markdown = markdown
        self.start_date = str(data["started_at"])[:10]

    def t(self, key: str, **params: object) -> str:
        """A label in the reader's language, its parameters escaped for this format."""
        if self.markdown:
            return Markup(label(key, **params).render(self.language, _md_inline))
        # Plain text: the HTML autoescape escapes label and parameters together.
        return label(key, **params).render(self.language)

    def clock(self, iso: str) -> str:
        """Local time of a line; with its date once the meeting has run past midnight."""
        at = datetime.fromisoformat(iso)
        same_day = at.date().isoformat() == self.start_date
        return Markup(at.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M"))

    def href(self, url: str | None) -> str | None:
        # Checked again here: the document may have been loaded back from a file.
        checked = safe_url(url)
        return Markup(checked) if checked else None

    def media(self, url: str | None) -> str | None:
        """A shared file's ``mxc://`` address, checked again, ready to link."""
        checked = media_url(url)
        return Markup(checked) if checked else None

    def translated(self, entry: Mapping[str, Any], text: str) -> str | None:
        """The reader's translation when it says something other than the original."""
        if entry.get("language") == self.language:
            return None
        translation = (entry.get("translations") or {}).get(self.language)
        if not translation or translation.strip() == text.strip():
            return None
        return str(translation)


def when_text(iso: str | None) -> str:
    """``2024-05-01 10:00 (UTC-05:00)``: local wall-clock time, never mislabelled as UTC."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if iso.endswith("Z"):
        return f"{at:%Y-%m-%d %H:%M} UTC"
    offset = at.strftime("%z")
    return f"{at:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def duration_text(seconds: int | None) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds is not None else ""


# Bot-made text for the templates: digits, dashes and colons, safe in both formats.
def _when(iso: str | None) -> Markup:
    return Markup(when_text(iso))


def _duration(seconds: int | None) -> Markup:
    return Markup(duration_text(seconds))


def _context(data: Mapping[str, Any], language: str, markdown: bool) -> dict[str, Any]:
    helpers = _Helpers(data, language, markdown)
    pieces = MarkdownPieces(helpers) if markdown else HtmlPieces(helpers)
    return {
        "data": data,
        "language": language,
        "items_by_n": {item["n"]: item for item in data["items"]},
        "unassigned": UNASSIGNED,
        "t": helpers.t,
        "clock": helpers.clock,
        "href": helpers.href,
        "translated": helpers.translated,
        "when": _when,
        "duration": _duration,
        "media": helpers.media,
        "size": size,
        "mark": mark,
        # The repeated pieces, in Python (see meetbot.minutes.pieces).
        "beside": pieces.beside,
        "item_row": pieces.item,
        "log_lines": pieces.lines,
    }


def render_template(name: str, context: Mapping[str, Any], *, markdown: bool) -> str:
    """Render one of the package's templates with this module's escaping rules."""
    env = _MD_ENV if markdown else _HTML_ENV
    return env.get_template(name).render(dict(context))


def render_markdown(data: Mapping[str, Any], language: str) -> str:
    """The minutes as Markdown, headings in ``language``; user text cannot become markup."""
    return _MD_ENV.get_template("minutes.md.j2").render(_context(data, language, markdown=True))


def render_html(data: Mapping[str, Any], language: str) -> str:
    """The minutes as one self-contained HTML page, headings in ``language``."""
    return _HTML_ENV.get_template("minutes.html.j2").render(
        _context(data, language, markdown=False)
    )


# -- chat summaries --------------------------------------------------------------------


def _names(data: Mapping[str, Any], users: Iterable[str]) -> str:
    names = data.get("names", {})
    return ", ".join(names.get(user, user) for user in users)


def _items_of(data: Mapping[str, Any], numbers: Iterable[int]) -> list[Mapping[str, Any]]:
    by_n = {item["n"]: item for item in data["items"]}
    return [by_n[n] for n in numbers if n in by_n]


def _short(item: Mapping[str, Any]) -> str:
    return truncate(str(item["text"]), SUMMARY_TEXT_LIMIT)


def _decision_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    decisions = _items_of(data, data["decisions"])
    if not decisions:
        return []
    lines: list[Msg | str] = ["", label("decisions_heading"), ""]
    lines += [label("decision_line", n=d["n"], text=_short(d)) for d in decisions]
    return lines


def _owners(data: Mapping[str, Any], item: Mapping[str, Any]) -> Msg | str:
    return _names(data, item["assignees"]) if item["assignees"] else label("unassigned")


def room_summary(data: Mapping[str, Any], language: str) -> str:
    """A short Markdown notice for the meeting room: counts, decisions, actions and owners."""
    of_kind = {
        kind: sum(1 for i in data["items"] if i["kind"] == kind) for kind in ("decision", "action")
    }
    lines: list[Msg | str] = [
        label(
            "room_summary_head",
            title=data["title"],
            items=counts.items(len(data["items"])),
            decisions=counts.decisions(of_kind["decision"]),
            actions=counts.actions(of_kind["action"]),
            people=counts.people(len(data["participants"])),
        )
    ]
    lines += _decision_lines(data)
    actions = [i for i in data["items"] if i["kind"] == "action"]
    if actions:
        lines += ["", label("actions_heading"), ""]
        lines += [
            label("action_line", n=a["n"], text=_short(a), owners=_owners(data, a)) for a in actions
        ]
    return render_lines(lines, language, escape=True)


def coordinator_summary(data: Mapping[str, Any], language: str) -> str:
    """Markdown for the coordinator: where, what, how long, who, decisions and actions."""
    people = ", ".join(f"{p['display_name']} ({p['messages']})" for p in data["participants"])
    lines: list[Msg | str] = [
        label("coordinator_head", region=data["region_name"], title=data["title"]),
        "",
        label(
            "coordinator_when",
            start=when_text(data["started_at"]),
            end=when_text(data["ended_at"]) or label("not_ended"),
            duration=duration_text(data["duration_seconds"]) or "—",
            chairs=", ".join(c["display_name"] for c in data["chairs"]),
        ),
        "",
        label("coordinator_people", people=counts.people(len(data["participants"])), names=people),
    ]
    lines += _series_lines(data)
    lines += _decision_lines(data)
    lines += _voted_lines(data)
    lines += _actions_by_person_lines(data)
    lines += _prompt_lines(data, language)
    return render_lines(lines, language, escape=True)


def _series_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    """Which meeting of the region's series, when (local and UTC), in which languages."""
    lines: list[Msg | str] = []
    if data.get("meeting_number"):
        lines += ["", label(
            "series", n=data["meeting_number"], total=data.get("meetings_planned") or "?",
            local=when_text(data["started_at"]), timezone=data["timezone"],
            utc=when_text(data["started_at_utc"]),
        )]
    counts: dict[str, int] = {}
    for line in data.get("log", []):
        if not line["is_command"] and line.get("language"):
            counts[line["language"]] = counts.get(line["language"], 0) + 1
    used = ", ".join(f"{lang} ({n})" for lang, n in sorted(counts.items(), key=lambda x: -x[1]))
    lines += ["", label("languages_used", languages=used or ", ".join(data["languages"]))]
    return lines


def _voted_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    """Decisions taken by vote (the facilitation feature's ``proposals``), with their tallies."""
    lines: list[Msg | str] = []
    for proposal in proposals_of(data):
        tally = ", ".join(f"{option} {count}" for option, count in proposal["tally"].items())
        outcome = f" ({proposal['outcome']})" if proposal["outcome"] else ""
        lines.append(label("voted", text=truncate(proposal["text"], SUMMARY_TEXT_LIMIT),
                           tally=tally or "—", outcome=outcome))
    return ["", label("decisions_heading"), "", *lines] if lines else []


def _beside(entry: Mapping[str, Any], text: str, language: str) -> tuple[str, Msg | str]:
    """The reader's translation with the original beside it, or the original alone."""
    translated = (entry.get("translations") or {}).get(language)
    if not translated or entry.get("language") == language or translated.strip() == text.strip():
        return truncate(text, SUMMARY_TEXT_LIMIT), ""
    return truncate(translated, SUMMARY_TEXT_LIMIT), label(
        "original_beside", language=entry.get("language") or "?",
        text=truncate(text, SUMMARY_TEXT_LIMIT))


def _prompt_lines(data: Mapping[str, Any], language: str) -> list[Msg | str]:
    """Per prompt: the tagged contributions and the messages others endorsed most."""
    by_line = {line["line"]: line for line in data.get("log", [])}
    prompt_at = prompt_of_lines(data)
    lines: list[Msg | str] = []
    for section in data["sections"]:
        prompt_id = section["prompt_id"]
        said: list[Msg | str] = []
        for item in _items_of(data, section["items"]):
            if item["kind"] in ("info", "idea", "decision", "action", "link"):
                text, original = _beside(item, str(item["text"]), language)
                said.append(label("contribution", kind=label(item["kind"]), n=item["n"],
                                  text=text, original=original, author=item["author_name"]))
        endorsed = [e for e in data.get("endorsements", [])
                    if e["line"] in by_line and prompt_at.get(e["line"]) == prompt_id]
        for endorsement in endorsed[:TOP_ENDORSED]:
            line = by_line[endorsement["line"]]
            # A shared file said nothing itself: its name stands for it.
            shared = line.get("attachment") or {}
            said_text = str(line["body"]) or str(shared.get("name") or "")
            text, original = _beside(line, said_text, language)
            said.append(label("endorsed_line", count=endorsement["count"], text=text,
                              original=original, author=line["display_name"]))
        if not said:
            continue
        opener = _items_of(data, [section["n"]]) if section["n"] else []
        texts = opener[0].get("translations") or {} if opener else {}
        heading: Msg | str = label("free_heading")
        if section["n"]:
            heading = label("prompt_heading", id=prompt_id or section["kind"],
                            text=texts.get(language) or section["text"] or "")
        lines += ["", heading, "", *said]
    return lines


def _actions_by_person_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    groups = data["actions_by_person"]
    if not groups:
        return []
    lines: list[Msg | str] = ["", label("actions_heading"), ""]
    for group in groups:
        name: Msg | str = (
            label("unassigned") if group["user_id"] == UNASSIGNED else group["display_name"]
        )
        lines.append(label("person_actions", name=name))
        lines += [
            label("person_action_line", n=item["n"], text=_short(item))
            for item in _items_of(data, group["items"])
        ]
    return lines
