"""The report reads the record one meeting at a time, and gives what it gave when every
meeting was in memory at once.

A small programme is played through the real app (``open_app`` and ``ingest`` on a SQLite
file, translations stored as the live worker stores them, reactions that endorse). The
report built from :func:`report_part` of each meeting equals the one built from the whole
documents.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from meetbot.app import MeetBotApp
from meetbot.config.schema import load_config
from meetbot.core.events import Edit, Event, Message, Reaction
from meetbot.research.dataset import held_meetings
from meetbot.research.outputs import agenda_prompts, build_full_report
from meetbot.research.report import build_report, report_part
from meetbot.runtime.features import open_app

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
FACILITATOR = "@maya:example.org"
LANGUAGES = {"latam": ["es", "en"], "sahel": ["fr", "en"]}


async def programme(tmp_path: Path) -> MeetBotApp:
    config_path = tmp_path / "meetbot.yaml"
    config_path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:9", "user_id": "@meetbot:example.org",
        "password": "x", "data_dir": str(tmp_path / "data"),
        "prompts_dir": str(ROOT / "prompts"), "translation": {"backend": "none"},
        "facilitators": [FACILITATOR],
        "regions": [{"id": rid, "name": rid.title(), "room": f"!{rid}:example.org",
                     "languages": langs, "timezone": "UTC"}
                    for rid, langs in LANGUAGES.items()],
    }))
    app = await open_app(load_config(config_path))
    for number in (1, 2):
        for rid, langs in LANGUAGES.items():
            events, spoken = meeting(rid, number, langs)
            for event in events:
                await app.ingest(event)
            async with app.store.db.transaction():
                for event_id, lang in spoken.items():
                    await app.store.save_translations(
                        event_id, lang, {t: f"[{t}] {event_id}" for t in langs if t != lang},
                        "test")
    return app


def meeting(rid: str, number: int, langs: list[str]) -> tuple[list[Event], dict[str, str]]:
    room = f"!{rid}:example.org"
    people = [f"@{rid}{i}:example.org" for i in range(4)]
    start = datetime(2025, 1, 1, 9, tzinfo=timezone.utc) + timedelta(weeks=number)
    events: list[Event] = []
    spoken: dict[str, str] = {}

    def add(event_type: type, sender: str, **fields: Any) -> str:
        event_id = f"${rid}{number}-{len(events)}"
        events.append(event_type(event_id, room, sender, start + timedelta(seconds=len(events)),
                                 **fields))
        return event_id

    def say(sender: str, body: str, **fields: Any) -> str:
        return add(Message, sender, body=body, display_name=sender[1:5].title(),
                   sender_power=50 if sender == FACILITATOR else 0, **fields)

    say(FACILITATOR, f"!startmeeting {rid} {number}")
    last = ""
    for n in range(30):
        who = people[n % 4]
        if n in (5, 17):
            say(FACILITATOR, "!next")
        elif n == 9:
            say(who, f"!idea {rid} <b>radio</b> * {n}")
        elif n == 11:
            say(FACILITATOR, f"!agreed {rid} meets again")
        elif n == 13:
            say(FACILITATOR, f"!action {people[1]} books the room")
        else:
            lang = langs[n % len(langs)]
            event_id = say(who, f"{lang} message {n} of {rid} <i>{number}</i>",
                           reply_to=last if n % 7 == 0 and last else None)
            spoken[event_id] = lang
            if n % 4 == 1:
                add(Reaction, people[(n + 1) % 4], target=event_id, key="👍")
                add(Reaction, people[(n + 2) % 4], target=event_id, key="❤️")
            if n == 20:
                add(Edit, who, target=event_id, body=f"{lang} edited {n}")
            last = event_id
    say(FACILITATOR, "!endmeeting")
    return events, spoken


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    app = await programme(tmp_path)
    yield app
    await app.store.db.close()


async def test_the_report_from_report_parts_is_the_report_from_whole_documents(
    app: MeetBotApp,
) -> None:
    whole = await held_meetings(app)
    assert len(whole) == 4 and any(m.doc["endorsements"] for m in whole)
    expected = build_report(app.config, whole, agenda_prompts(app), NOW, "en")
    assert await build_full_report(app, now=NOW) == expected
    parts = [report_part(m) for m in whole]
    assert sum(len(str(p.doc)) for p in parts) < sum(len(str(m.doc)) for m in whole) / 2


async def test_the_report_names_the_people_an_action_mentions_as_the_meeting_knew_them(
    app: MeetBotApp,
) -> None:
    """"!action @latam1:example.org books the room": the coordinator reads a name, not an id
    (and a pseudonym in a report meant to leave their hands)."""
    report = await build_full_report(app, now=NOW)
    texts = [a["text"] for a in report["open_actions"]]
    assert "Lata books the room" in texts
    assert not [t for t in texts if ":example.org" in t]
    outside = await build_full_report(app, now=NOW, pseudonymous=True)
    hidden = [a["text"] for a in outside["open_actions"]]
    assert not [t for t in hidden if "Lata" in t or ":example" in t]
