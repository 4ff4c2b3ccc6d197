"""The cross-region report as data: prompt x region matrix, decisions, actions, progress,
participation. A pure function of the meetings' minutes documents and the config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from meetbot.config.schema import Config
from meetbot.core.mentions import with_names
from meetbot.minutes.by_prompt import TOP_ENDORSED, prompt_of_lines
from meetbot.minutes.proposals import proposals_of
from meetbot.minutes.series import planned_meetings
from meetbot.research.dataset import HeldMeeting, scheduled_start
from meetbot.research.families import METHOD, idea_families
from meetbot.research.pseudonyms import Pseudonyms, pseudonymous_document

FORMAT = "meetbot-report/1"
TAGGED = ("info", "idea", "decision", "action", "link")


def _text(
    entry: Mapping[str, Any], names: Mapping[str, str], body_key: str = "text"
) -> dict[str, Any]:
    """What someone said, with the people it mentions named as the meeting knew them (or by
    pseudonym, in a pseudonymous report) rather than by Matrix id."""
    return {
        "text": with_names(entry.get(body_key, ""), names),
        "language": entry.get("language"),
        "translations": {lang: with_names(text, names)
                         for lang, text in (entry.get("translations") or {}).items()},
    }


def _cell(doc: Mapping[str, Any], number: int, prompt_id: str | None) -> dict[str, Any]:
    names = doc.get("names", {})
    lines = prompt_of_lines(doc)
    log = {line["line"]: line for line in doc.get("log", [])}
    items = [
        {**_text(item, names), "kind": item["kind"], "n": item["n"],
         "author_name": item["author_name"]}
        for item in doc.get("items", [])
        if item["kind"] in TAGGED and item.get("prompt_id") == prompt_id
    ]
    endorsed = []
    for endorsement in doc.get("endorsements", []):
        line = log.get(endorsement["line"])
        if line is None or lines.get(line["line"]) != prompt_id:
            continue
        endorsed.append({**_text(line, names, "body"), "count": endorsement["count"],
                         "author_name": names.get(line["sender"], line["display_name"])})
    messages = sum(1 for line in doc.get("log", [])
                   if not line["is_command"] and lines.get(line["line"]) == prompt_id)
    written = [
        {**_text(answer, names, "body"),
         "author_name": names.get(answer["sender"], answer["display_name"])}
        for group in doc.get("written") or [] if group["prompt_id"] == prompt_id
        for answer in group["answers"]
    ]
    return {
        "number": number, "meeting_id": doc["meeting_id"], "date": str(doc["started_at"])[:10],
        "items": items, "endorsed": endorsed[:TOP_ENDORSED], "messages": messages,
        "written": written,
        "proposals": [p for p in proposals_of(doc) if p["prompt_id"] in (None, prompt_id)],
    }


def build_report(
    config: Config,
    meetings: Sequence[HeldMeeting],
    prompts: Mapping[str, Mapping[str, str]],
    now: datetime,
    language: str = "en",
    pseudonyms: Pseudonyms | None = None,
) -> dict[str, Any]:
    """The report over ``meetings``. With ``pseudonyms``, people are named by pseudonym
    and Matrix ids in what they said are replaced, as in the research exports."""
    if pseudonyms is not None:
        meetings = [replace(held, doc=pseudonymous_document(held.doc, pseudonyms))
                    for held in meetings]
    regions: list[dict[str, Any]] = [{"id": r.id, "name": r.name, "languages": list(r.languages),
                "timezone": r.timezone} for r in config.regions]
    known = {r["id"] for r in regions}
    for held in meetings:  # meetings in rooms the config no longer lists still count
        if held.row.region_id not in known:
            known.add(held.row.region_id)
            regions.append({"id": held.row.region_id, "name": held.doc.get("region_name"),
                            "languages": held.doc.get("languages", []), "timezone": "UTC"})
    prompt_ids = list(prompts)
    for held in meetings:
        for item in held.doc.get("items", []):
            if item["kind"] == "prompt" and item.get("prompt_id") not in prompt_ids:
                prompt_ids.append(item["prompt_id"])
    by_region: dict[str, list[HeldMeeting]] = {}
    for held in sorted(meetings, key=lambda m: (m.row.region_id, m.number)):
        by_region.setdefault(held.row.region_id, []).append(held)
    matrix = [
        {
            "prompt_id": pid,
            "texts": dict(prompts.get(pid, {})),
            "cells": [
                {"region": r["id"], "meetings": [
                    _cell(h.doc, h.number, pid) for h in by_region.get(r["id"], [])
                ]}
                for r in regions
            ],
        }
        for pid in prompt_ids
    ]
    decisions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    participation: list[dict[str, Any]] = []
    for held in meetings:
        doc = held.doc
        names = doc.get("names", {})
        where = {"region": held.row.region_id, "region_name": doc.get("region_name"),
                 "number": held.number, "date": str(doc["started_at"])[:10]}
        voted = {p["text"]: p for p in proposals_of(doc)}
        for item in doc.get("items", []):
            if item["kind"] == "decision":
                proposal = voted.pop(item["text"], None)
                decisions.append({**where, **_text(item, names),
                                  "prompt_id": item.get("prompt_id"),
                                  "tally": proposal["tally"] if proposal else None})
            elif item["kind"] == "action":
                owners = [names.get(u, u) for u in item.get("assignees", [])]
                actions.append({**where, **_text(item, names), "owners": owners})
        for proposal in voted.values():
            decisions.append({**where, "text": proposal["text"], "language": None,
                              "translations": {}, "prompt_id": proposal["prompt_id"],
                              "tally": proposal["tally"], "outcome": proposal["outcome"]})
        languages: dict[str, int] = {}
        for line in doc.get("log", []):
            if not line["is_command"]:
                lang = line.get("language") or "?"
                languages[lang] = languages.get(lang, 0) + 1
        participation.append({
            **where,
            "people": len(doc.get("participants", [])),
            "messages": sum(languages.values()),
            "languages": languages,
        })
    return {
        "format": FORMAT,
        "generated_at": now.astimezone(timezone.utc).isoformat(timespec="seconds"),
        "language": language,
        "pseudonymous": pseudonyms is not None,
        "regions": regions,
        "prompts": [{"id": pid, "texts": dict(prompts.get(pid, {}))} for pid in prompt_ids],
        "matrix": matrix,
        "decisions": decisions,
        "open_actions": actions,
        "progress": progress_grid(config, meetings, now),
        "participation": participation,
        # Part 3 of "between and across meetings": what regions said alike, per prompt.
        "families": {"language": language, "method": METHOD,
                     "prompts": idea_families(meetings, prompt_ids, language)},
    }


def report_part(held: HeldMeeting) -> HeldMeeting:
    """What :func:`build_report` reads of a meeting, so that a report over a record of any
    size holds one whole minutes document at a time: every log line keeps its number,
    whether it was a command and its language; the lines others endorsed keep everything;
    the rest of the document is kept as it is (the log is most of it)."""
    doc = held.doc
    endorsed = {e["line"] for e in doc.get("endorsements", [])}
    log = [
        line if line["line"] in endorsed else
        {"line": line["line"], "is_command": line["is_command"], "language": line.get("language")}
        for line in doc.get("log", [])
    ]
    part = {key: value for key, value in doc.items() if key != "log"}
    return HeldMeeting(held.row, held.number, held.planned, {**part, "log": log})


def progress_grid(
    config: Config, meetings: Sequence[HeldMeeting], now: datetime
) -> list[dict[str, Any]]:
    """Per region, meeting 1..n: held, running, scheduled, missed or not scheduled."""
    grid = []
    for region in config.regions:
        held = {m.number: m for m in meetings if m.row.region_id == region.id}
        cells = []
        for number in range(1, max([planned_meetings(region), *held]) + 1):
            start = scheduled_start(region, number)
            meeting = held.get(number)
            if meeting is not None:
                status = "held" if meeting.row.ended_at else "running"
                date = str(meeting.doc["started_at"])[:10]
            elif start is None:
                status, date = "unscheduled", None
            else:
                length = next(m.duration for m in region.meetings if m.number == number)
                late = start + length + config.late_start_grace < now
                status, date = ("missed" if late else "scheduled"), start.date().isoformat()
            cells.append({"number": number, "status": status, "date": date})
        grid.append({"region": region.id, "name": region.name, "cells": cells})
    return grid


__all__ = ["FORMAT", "build_report", "progress_grid", "report_part"]
