"""The two chat summaries of a meeting: one for the room, one for the coordinator.

Like the minutes, they read only the JSON document, and like the minutes they show each
item in the reader's language with the original beside it (``Compartimos nuestras notas
(original, en: we share our notes)``), people by their names, prompts by their place in
the agenda, and times in the region's zone with UTC only when it differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meetbot.core import counts
from meetbot.core.mentions import with_names
from meetbot.i18n import Msg, render_lines
from meetbot.minutes.by_prompt import TOP_ENDORSED, prompt_of_lines
from meetbot.minutes.labels import label
from meetbot.minutes.proposals import proposals_of
from meetbot.minutes.render import UNASSIGNED, duration_text
from meetbot.minutes.text import span_text, truncate

# How much of an item's text a chat summary shows; the minutes files keep all of it.
SUMMARY_TEXT_LIMIT = 300


def _names(data: Mapping[str, Any], users: Iterable[str]) -> str:
    names = data.get("names", {})
    return ", ".join(names.get(user, user) for user in users)


def _items_of(data: Mapping[str, Any], numbers: Iterable[int]) -> list[Mapping[str, Any]]:
    by_n = {item["n"]: item for item in data["items"]}
    return [by_n[n] for n in numbers if n in by_n]


def _short(data: Mapping[str, Any], text: str) -> str:
    """User text for a chat line: people by name, cut to the summary's length."""
    return truncate(with_names(text, data.get("names") or {}), SUMMARY_TEXT_LIMIT)


def _beside(
    data: Mapping[str, Any], entry: Mapping[str, Any], text: str, language: str
) -> tuple[str, Msg | str]:
    """The reader's translation with the original beside it, or the original alone (when
    it is in the reader's language, or no translation says anything else)."""
    translated = (entry.get("translations") or {}).get(language)
    if not translated or entry.get("language") == language or translated.strip() == text.strip():
        return _short(data, text), ""
    return _short(data, translated), label(
        "original_beside", language=entry.get("language") or "?", text=_short(data, text)
    )


def _decision_lines(data: Mapping[str, Any], language: str) -> list[Msg | str]:
    decisions = _items_of(data, data["decisions"])
    if not decisions:
        return []
    lines: list[Msg | str] = ["", label("decisions_heading"), ""]
    for decision in decisions:
        text, original = _beside(data, decision, str(decision["text"]), language)
        lines.append(label("decision_line", n=decision["n"], text=text, original=original))
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
    lines += _written_lines(data)
    lines += _decision_lines(data, language)
    actions = [i for i in data["items"] if i["kind"] == "action"]
    if actions:
        lines += ["", label("actions_heading"), ""]
        for action in actions:
            text, original = _beside(data, action, str(action["text"]), language)
            lines.append(label("action_line", n=action["n"], text=text, original=original,
                               owners=_owners(data, action)))
    return render_lines(lines, language, escape=True)


def _written_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    """How many answers were written around the meeting (``regions[].async_window``)."""
    written = sum(len(group["answers"]) for group in data.get("written") or [])
    if not written:
        return []
    return ["", label("written_summary", count=written)]


def coordinator_summary(data: Mapping[str, Any], language: str) -> str:
    """Markdown for the coordinator: where, what, how long, who, decisions and actions."""
    people = ", ".join(f"{p['display_name']} ({p['messages']})" for p in data["participants"])
    zone = data.get("timezone")
    when: Msg | str = span_text(data["started_at"], data["ended_at"], zone)
    if not data["ended_at"]:
        when = label("still_open", start=span_text(data["started_at"], None, zone))
    lines: list[Msg | str] = [
        label("coordinator_head", region=data["region_name"], title=data["title"]),
        "",
        label(
            "coordinator_when",
            when=when,
            duration=duration_text(data["duration_seconds"]) or "—",
            chairs=", ".join(c["display_name"] for c in data["chairs"]),
        ),
        "",
        label("coordinator_people", people=counts.people(len(data["participants"])), names=people),
    ]
    lines += _series_lines(data)
    lines += _written_lines(data)
    lines += _decision_lines(data, language)
    lines += _voted_lines(data)
    lines += _actions_by_person_lines(data, language)
    lines += _prompt_lines(data, language)
    return render_lines(lines, language, escape=True)


def _series_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    """Which meeting of the region's series, and in which languages it was held."""
    lines: list[Msg | str] = []
    if data.get("meeting_number"):
        lines += ["", label(
            "series", n=data["meeting_number"], total=data.get("meetings_planned") or "?",
        )]
    said: dict[str, int] = {}
    for line in data.get("log", []):
        if not line["is_command"] and line.get("language"):
            said[line["language"]] = said.get(line["language"], 0) + 1
    used = ", ".join(f"{lang} ({n})" for lang, n in sorted(said.items(), key=lambda x: -x[1]))
    lines += ["", label("languages_used", languages=used or ", ".join(data["languages"]))]
    return lines


def _voted_lines(data: Mapping[str, Any]) -> list[Msg | str]:
    """Decisions taken by vote (the facilitation feature's ``proposals``), with their tallies."""
    lines: list[Msg | str] = []
    for proposal in proposals_of(data):
        tally = ", ".join(f"{option} {count}" for option, count in proposal["tally"].items())
        outcome = f" ({proposal['outcome']})" if proposal["outcome"] else ""
        lines.append(label("voted", text=_short(data, proposal["text"]),
                           tally=tally or "—", outcome=outcome))
    return ["", label("decisions_heading"), "", *lines] if lines else []


def _heading(section: Mapping[str, Any], opener: Mapping[str, Any] | None,
             language: str) -> Msg:
    """A prompt by its place in the agenda, as the room saw it announced; a topic by its
    item number."""
    if opener is None:
        return label("free_heading")
    texts = opener.get("translations") or {}
    text = texts.get(language) or section["text"] or ""
    if section["kind"] == "topic":
        return label("topic_heading", n=section["n"], text=text)
    if opener.get("prompt_number"):
        return label("prompt_heading", number=opener["prompt_number"],
                     total=opener["prompt_total"], id=section["prompt_id"] or "", text=text)
    return label("prompt_id_heading", id=section["prompt_id"] or "", text=text)


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
                text, original = _beside(data, item, str(item["text"]), language)
                said.append(label("contribution", kind=label(item["kind"]), n=item["n"],
                                  text=text, original=original, author=item["author_name"]))
        endorsed = [e for e in data.get("endorsements", [])
                    if e["line"] in by_line and prompt_at.get(e["line"]) == prompt_id]
        for endorsement in endorsed[:TOP_ENDORSED]:
            line = by_line[endorsement["line"]]
            # A shared file said nothing itself: its name stands for it.
            shared = line.get("attachment") or {}
            said_text = str(line["body"]) or str(shared.get("name") or "")
            text, original = _beside(data, line, said_text, language)
            said.append(label("endorsed_line", count=endorsement["count"], text=text,
                              original=original, author=line["display_name"]))
        if not said:
            continue
        opener = _items_of(data, [section["n"]]) if section["n"] else []
        heading = _heading(section, opener[0] if opener else None, language)
        lines += ["", heading, "", *said]
    return lines


def _actions_by_person_lines(data: Mapping[str, Any], language: str) -> list[Msg | str]:
    groups = data["actions_by_person"]
    if not groups:
        return []
    lines: list[Msg | str] = ["", label("actions_heading"), ""]
    for group in groups:
        name: Msg | str = (
            label("unassigned") if group["user_id"] == UNASSIGNED else group["display_name"]
        )
        lines.append(label("person_actions", name=name))
        for item in _items_of(data, group["items"]):
            text, original = _beside(data, item, str(item["text"]), language)
            lines.append(label("person_action_line", n=item["n"], text=text, original=original))
    return lines
