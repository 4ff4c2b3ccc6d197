"""The written answers of a scheduled meeting, as its minutes document carries them.

Answers written around a meeting (``regions[].async_window``) are kept apart from its
events, attributed to the planned meeting (region, number) and a prompt; a meeting opened
for that calendar slot shows them in a "Written answers" part per prompt, each with its
translations from the record and ``mode: written``. They are read from the store each
time, so a withdrawal or a redaction shows at the next rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from meetbot.app import MeetBotApp
from meetbot.core.model import Meeting
from meetbot.minutes.text import local_iso, utc_iso
from meetbot.storage.written_store import WrittenAnswer, WrittenStore, ids_of


async def written_answers(app: MeetBotApp, meeting: Meeting) -> list[WrittenAnswer]:
    if meeting.slot is None:
        return []
    return await WrittenStore(app.store.db).answers(meeting.region_id, meeting.slot.number)


async def written_part(
    app: MeetBotApp, meeting: Meeting, prompts: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """The answers, grouped per prompt in agenda order (prompts: id -> texts)."""
    answers = await written_answers(app, meeting)
    if not answers:
        return []
    translations, sources = await app.store.translations_for(ids_of(answers))
    return group_by_prompt(answers, translations, sources, prompts, meeting.timezone)


def group_by_prompt(
    answers: list[WrittenAnswer],
    translations: Mapping[str, Mapping[str, str]],
    sources: Mapping[str, str],
    prompts: Mapping[str, Mapping[str, str]],
    timezone: str,
) -> list[dict[str, Any]]:
    tz = ZoneInfo(timezone)
    order = {prompt_id: index for index, prompt_id in enumerate(prompts)}
    groups: dict[str, dict[str, Any]] = {}
    for answer in answers:
        group = groups.setdefault(answer.prompt_id, {
            "prompt_id": answer.prompt_id,
            "prompt_texts": dict(prompts.get(answer.prompt_id) or {"en": answer.prompt_id}),
            "answers": [],
        })
        group["answers"].append({
            "event_id": answer.event_id,
            "sender": answer.sender,
            "display_name": answer.display_name or answer.sender,
            "at": local_iso(answer.at, tz),
            "at_utc": utc_iso(answer.at),
            "body": answer.body,
            "language": answer.language or sources.get(answer.event_id),
            "translations": dict(translations.get(answer.event_id) or {}),
            "via": answer.via,
            "mode": "written",
        })
    return sorted(groups.values(), key=lambda g: (order.get(g["prompt_id"], len(order)),
                                                  g["prompt_id"]))
