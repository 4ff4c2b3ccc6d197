"""The production app over a real SQLite database in ``tmp_path``, for the shell tests.

A config file is written as a deployment would have it (``config_file``), opened with the
production ``open_app``, and the region's room and the coordinator room are bound as the
Matrix shell binds them once it has joined. The outbox is read back as what the bot would
send. No homeserver: the shells' Matrix callables are faked by the tests that need them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config, load_config
from meetbot.core.events import Edit, Message, Redaction
from meetbot.runtime.features import OpenedBot, open_bot

ROOM = "!latam:example.org"
COORD = "!coord:example.org"
BOT = "@bot:example.org"
ANA = "@ana:example.org"  # a facilitator
BEA = "@bea:example.org"
CARLOS = "@carlos:example.org"
REGION = "latam"
AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)

PROMPTS = [
    {"id": "first", "text": {"en": "What do we share?", "es": "¿Qué compartimos?"}},
    {"id": "second", "text": {"en": "What next?"}},
]


def config_file(
    tmp_path: Path,
    *,
    languages: Sequence[str] = ("en",),
    coordinator: bool = False,
    coordinator_language: str = "en",
    translation: dict[str, Any] | None = None,
    meetings: Sequence[dict[str, Any]] = (),
    timezone_name: str = "UTC",
    prompts: Sequence[dict[str, Any]] = PROMPTS,
    agendas: Mapping[str, Sequence[dict[str, Any]]] | None = None,
    **top: Any,
) -> Config:
    """Write ``meetbot.yaml`` (one region, ``latam``), the ``default`` agenda (``prompts``)
    and any other ``agendas`` (name -> prompts); load it as the bot does."""
    prompts_dir = tmp_path / "prompts"
    prompts_dir.mkdir(exist_ok=True)
    for name, listed in {"default": prompts, **(agendas or {})}.items():
        (prompts_dir / f"{name}.yaml").write_text(
            yaml.safe_dump({"prompts": list(listed)}, allow_unicode=True), encoding="utf-8"
        )
    raw: dict[str, Any] = {
        "homeserver": "http://127.0.0.1:1",
        "user_id": BOT,
        "password": "x",
        "facilitators": [ANA],
        "translation": translation or {"backend": "none"},
        "regions": [{
            "id": REGION, "name": "Latin America", "room": ROOM, "languages": list(languages),
            "timezone": timezone_name, "meetings": list(meetings),
        }],
        **top,
    }
    if coordinator:
        raw["coordinator"] = {"room": COORD, "language": coordinator_language,
                              "users": ["@coord:example.org"]}
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_config(path)


async def open_bound(config: Config) -> MeetBotApp:
    """``open_app``, then the rooms bound as the Matrix shell binds them after joining."""
    return (await open_bound_bot(config)).app


async def open_bound_bot(config: Config) -> OpenedBot:
    """The app and its shells as the composition root opens them, the rooms bound."""
    opened = await open_bot(config)
    app = opened.app
    app.bind_region(REGION, ROOM)
    if config.coordinator is not None:
        app.coordinator_room = COORD
    return opened


class Speaker:
    """Makes the room's events, numbered, one second apart after ``start``."""

    def __init__(self, start: datetime = AT, prefix: str = "$m") -> None:
        self.start = start
        self.prefix = prefix
        self._n = itertools.count(1)

    def _next(self) -> tuple[str, datetime]:
        n = next(self._n)
        return f"{self.prefix}{n}", self.start + timedelta(seconds=n)

    def say(self, body: str, sender: str = ANA, **fields: Any) -> Message:
        event_id, at = self._next()
        return Message(event_id, ROOM, sender, at, body=body, **fields)

    def edit(self, target: str, body: str, sender: str = BEA) -> Edit:
        event_id, at = self._next()
        return Edit(event_id, ROOM, sender, at, target=target, body=body)

    def redact(self, target: str, sender: str = BEA) -> Redaction:
        event_id, at = self._next()
        return Redaction(event_id, ROOM, sender, at, target=target)


@dataclass(frozen=True)
class Row:
    """One message the bot has queued for Matrix (sent or not)."""

    room_id: str
    txn_id: str
    event_type: str
    content: dict[str, Any]
    sent: bool

    @property
    def body(self) -> str:
        return str(self.content.get("body", ""))


async def outbox(app: MeetBotApp, room_id: str | None = None) -> list[Row]:
    """Every row ever queued, oldest first (a sent row keeps its txn id, not its content)."""
    async with app.store.db.between_writes() as conn:  # what is committed, nothing half-done
        rows = await conn.execute_fetchall(
            "SELECT room_id, txn_id, event_type, content, sent_at FROM outbox ORDER BY id"
        )
    found = [Row(r[0], r[1], r[2], json.loads(r[3]), r[4] is not None) for r in rows]
    return [r for r in found if room_id is None or r.room_id == room_id]


async def bodies(app: MeetBotApp, room_id: str | None = None) -> list[str]:
    return [r.body for r in await outbox(app, room_id)]


async def send_all(app: MeetBotApp) -> None:
    """What the outbox sender does once Matrix accepted every pending row."""
    pending = await app.store.pending_outbox(limit=1000)
    async with app.store.db.transaction():
        for n, row in enumerate(pending):
            await app.store.mark_sent(row.id, f"$sent{row.id}-{n}")


async def until(
    condition: Callable[[], Awaitable[bool]], wake: asyncio.Event, timeout: float = 3.0
) -> None:
    """Wait until ``condition()`` holds, looking again each time ``wake`` is set (and every
    50 ms, for the last steps that set nothing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        wake.clear()
        if await condition():
            return
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError("the condition did not come true in time")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=min(left, 0.05))


async def hold_meeting(config: Config) -> None:
    """A short meeting held and ended in the configured room: an idea, an action, a decision."""
    app = await open_bound(config)
    try:
        say = Speaker()
        await app.ingest(say.say("!startmeeting Water for the school", display_name="Ana"))
        await app.ingest(say.say("!idea share the well with the clinic", sender=BEA,
                                 display_name="Beatriz"))
        await app.ingest(say.say(f"!action {CARLOS} asks the council, with {BEA}",
                                 sender=CARLOS, display_name="Carlos"))
        await app.ingest(say.say("!agreed we dig a second well", display_name="Ana"))
        await app.ingest(say.say("!endmeeting", display_name="Ana"))
    finally:
        await app.store.db.close()
