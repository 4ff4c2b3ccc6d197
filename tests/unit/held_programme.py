"""Two regions meeting twice each, played through the real app, for the tests of what the
research outputs read (the report, the exports): ``open_app`` and ``ingest`` on a SQLite file,
translations stored as the live worker stores them, 👍 reactions that endorse. Their ideas and
decisions say much the same things in both regions, so the idea families have something to
group; an action names its owner by Matrix id, as Element's pill leaves it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from meetbot.app import MeetBotApp
from meetbot.config.schema import load_config
from meetbot.core.events import Edit, Event, Message, Reaction
from meetbot.runtime.features import open_app

ROOT = Path(__file__).resolve().parents[2]
FACILITATOR = "@maya:example.org"
LANGUAGES = {"latam": ["es", "en"], "sahel": ["fr", "en"]}
IDEAS = ["a community radio <b>show</b> in every village", "community radio shows for villages",
         "radio show in the village, weekly", "a weekly community radio show"]
DECISIONS = ["we meet again next month & share notes", "meet again next month, notes shared",
             "next month we meet again", "we share the notes and meet next month"]


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
        for index, (rid, langs) in enumerate(LANGUAGES.items()):
            events, spoken = meeting(rid, number, langs, 2 * (number - 1) + index)
            for event in events:
                await app.ingest(event)
            async with app.store.db.transaction():
                for event_id, (lang, body) in spoken.items():
                    await app.store.save_translations(
                        event_id, lang, {t: f"[{t}] {body}" for t in langs if t != lang},
                        "test")
    return app


def meeting(rid: str, number: int, langs: list[str], which: int,
            ) -> tuple[list[Event], dict[str, tuple[str, str]]]:
    """Thirty turns: two prompts passed, an idea, a decision, an action, replies, an edit,
    reactions; what each message said and in which language (for its translations)."""
    room = f"!{rid}:example.org"
    people = [f"@{rid}{i}:example.org" for i in range(4)]
    start = datetime(2025, 1, 1, 9, tzinfo=timezone.utc) + timedelta(weeks=number)
    events: list[Event] = []
    spoken: dict[str, tuple[str, str]] = {}

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
            spoken[say(who, f"!idea {IDEAS[which]}")] = (langs[0], IDEAS[which])
        elif n == 11:
            say(FACILITATOR, f"!agreed {DECISIONS[which]}")
        elif n == 13:
            say(FACILITATOR, f"!action {people[1]} books the room")
        else:
            lang = langs[n % len(langs)]
            body = f"{lang} message {n} of {rid} <i>{number}</i> for {people[2]}"
            event_id = say(who, body, reply_to=last if n % 7 == 0 and last else None)
            spoken[event_id] = (lang, body)
            if n % 4 == 1:
                add(Reaction, people[(n + 1) % 4], target=event_id, key="👍")
                add(Reaction, people[(n + 2) % 4], target=event_id, key="❤️")
            if n == 20:
                add(Edit, who, target=event_id, body=f"{lang} edited {n}")
            last = event_id
    say(FACILITATOR, "!endmeeting")
    return events, spoken
