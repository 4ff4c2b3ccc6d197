"""The demo's meeting played through the bot itself, without a homeserver: the same people,
config and lines as ``meetbot demo`` (:mod:`meetbot.demo.script`), with a fixed clock and
fixed event ids, so that what people read comes out the same on every run.

What differs from the real demo, and why: no Synapse and no Matrix clients (events go
straight into the app, as the Matrix shell hands them over, and what the bot queues in its
outbox is what the people "receive", in order); translations are made as soon as each line
is said (the real bot makes them concurrently, and their notices may arrive a little later);
the research report's HTML file is not uploaded (its name carries today's date), its
notice is. The golden-output tests (``tests/golden``) compare this with reviewed files;
``scripts/update-golden.py`` writes them again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from meetbot.config.schema import load_config
from meetbot.core.events import Message as Said
from meetbot.demo.client import Message
from meetbot.demo.script import ENDING, PLAYED, Line
from meetbot.demo.transcript import conversation
from meetbot.demo.world import BOT, COORDINATOR, PARTICIPANTS, PEOPLE, DemoFolder, write_config
from meetbot.minutes.summaries import coordinator_summary
from meetbot.runtime.features import OpenedBot, open_bot, task_handlers

SERVER = "localhost"
ROOM = f"!demo-meeting:{SERVER}"
COORDINATION = f"!demo-coordination:{SERVER}"
USER_IDS = {person.key: f"@{person.localpart}:{SERVER}" for person in PEOPLE}
NAMES = {USER_IDS[person.key]: person.name for person in PEOPLE}
#: When the rehearsal's first line is said; each line comes ``PACE`` after the one before.
START = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
PACE = timedelta(seconds=40)
LANGUAGES = ("en", "fr", "es")


@dataclass
class Rehearsal:
    """What the people read: each view of the meeting, the summaries, the minutes files."""

    transcript: list[str] = field(default_factory=list)
    views: dict[str, list[str]] = field(default_factory=dict)  # "es" -> Ana's view, …
    files: dict[str, str] = field(default_factory=dict)  # golden file name -> text


class _Stage:
    """The app over a fresh folder, fed the script's lines one by one."""

    def __init__(self, opened: OpenedBot) -> None:
        self.opened = opened
        self.app = opened.app
        self.n = 0
        self.room: list[Message] = []
        self.coordination: list[Message] = []
        self.sent = 0

    async def say(self, line: Line) -> None:
        self.n += 1
        sender = USER_IDS[line.who]
        event = Said(
            event_id=f"$demo-{self.n:02d}",
            room_id=ROOM,
            sender=sender,
            at=START + self.n * PACE,
            body=line.body(USER_IDS),
            display_name=NAMES[sender],
            mentions=tuple(USER_IDS[key] for key in line.mentions),
            sender_language=self.app.user_languages.get(sender),
        )
        await self.app.ingest(event)
        self.room.append(Message(event.event_id, sender, "m.text", event.body, None,
                                 {"msgtype": "m.text", "body": event.body}))
        await self.settle()

    async def settle(self) -> None:
        """Translate what waits, run the tasks due (minutes, report), "send" the outbox."""
        handlers = task_handlers(self.app, None, self._upload)
        while True:
            translations = await self.app.store.pending_tasks(["translate"], 32)
            if translations:
                await self.opened.translation.process(translations)
            tasks = await self.app.store.pending_tasks(list(handlers), 32)
            for task in tasks:
                await handlers[task.kind](task)
            if not translations and not tasks:
                break
        await self._deliver()

    async def _upload(self, data: bytes, name: str, mimetype: str,
                      room_id: str) -> dict[str, Any]:
        return {"url": f"mxc://{SERVER}/{name}"}

    async def _deliver(self) -> None:
        for row in await self.app.store.pending_outbox(limit=1000):
            self.sent += 1
            content = row.content
            relates = content.get("m.relates_to") or {}
            message = Message(
                event_id=f"$bot-{self.sent:02d}",
                sender=USER_IDS[BOT.key],
                msgtype=str(content.get("msgtype", "")),
                body=str(content.get("body", "")),
                reply_to=(relates.get("m.in_reply_to") or {}).get("event_id"),
                content=content,
            )
            (self.room if row.room_id == ROOM else self.coordination).append(message)
            async with self.app.store.db.transaction():
                await self.app.store.mark_sent(row.id, message.event_id)


async def rehearse(folder: Path, backend: str = "apertium") -> Rehearsal:
    """Play the demo's meeting in ``folder`` (made empty first) with ``backend``."""
    demo = DemoFolder(folder)
    demo.prepare()
    write_config(
        demo, homeserver="http://127.0.0.1:9", user_ids=USER_IDS, bot_password="rehearsal",
        room=ROOM, coordinator_room=COORDINATION, backend=backend,
        models_dir=demo.root / "models",
    )
    opened = await open_bot(load_config(demo.config))
    app = opened.app
    try:
        app.bind_region("demo", ROOM)
        app.coordinator_room = COORDINATION
        stage = _Stage(opened)
        for step in (*PLAYED, *ENDING):
            for line in step.lines:
                await stage.say(line)
        return _outputs(stage, demo)
    finally:
        await app.store.db.close()


def _outputs(stage: _Stage, demo: DemoFolder) -> Rehearsal:
    views = {person: list(stage.room) for person in PARTICIPANTS}
    transcript = conversation(views, stage.coordination, NAMES, USER_IDS[BOT.key])
    result = Rehearsal(transcript=transcript)
    parts = "\n".join(transcript).split("\n── ")
    for person in PARTICIPANTS:
        view = next(p for p in parts if p.startswith(f"The meeting as {person.name} "))
        result.files[f"notices-{person.language}.txt"] = "── " + view.strip("\n") + "\n"
    coordination = next(p for p in parts if p.startswith("The coordination room"))
    result.files[f"notices-coordinator-{COORDINATOR.language}.txt"] = (
        "── " + coordination.strip("\n") + "\n"
    )
    (document,) = demo.minutes.glob("*.json")
    data: Mapping[str, Any] = json.loads(document.read_text(encoding="utf-8"))
    for lang in LANGUAGES:
        result.files[f"coordinator-summary-{lang}.md"] = coordinator_summary(data, lang) + "\n"
    # The minutes files as the bot wrote them: the JSON, Markdown and HTML in each language.
    result.files["minutes.json"] = document.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        for kind in ("md", "html"):
            (path,) = demo.minutes.glob(f"*-{lang}.{kind}")
            result.files[f"minutes-{lang}.{kind}"] = path.read_text(encoding="utf-8")
    return result
