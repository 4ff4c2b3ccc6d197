"""The fault tier's tools: the bot as a real process, people who send as raw clients, and
what a room saw, read back as the people in it saw it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from nio import RoomMessageNotice, RoomMessageText

ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    """``python -m meetbot run`` in its own session (so kill -9 takes its whole group)."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meetbot", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        log.close()
        self.starts += 1

    def kill9(self) -> None:
        """SIGKILL the process group, as a crash or the OOM killer would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise
        finally:
            self.proc = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class RawSender:
    """A person sending with a bare access token (no sync): fast, and shaped as we choose."""

    def __init__(self, base_url: str, user_id: str, token: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.token = token

    async def request(
        self, session: aiohttp.ClientSession, method: str, path: str, body: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        for _attempt in range(200):
            async with session.request(
                method, self.base_url + path, json=body, headers=headers
            ) as response:
                data = await response.json()
                if response.status == 429:
                    await asyncio.sleep(data.get("retry_after_ms", 500) / 1000)
                    continue
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status} {data}")
                return data
        raise RuntimeError(f"{method} {path}: still rate-limited")

    async def send(
        self, session: aiohttp.ClientSession, room_id: str, content: dict[str, Any],
        event_type: str = "m.room.message",
    ) -> str:
        txn = uuid.uuid4().hex
        data = await self.request(
            session, "PUT", f"/_matrix/client/v3/rooms/{room_id}/send/{event_type}/{txn}", content
        )
        return str(data["event_id"])

    async def join(self, session: aiohttp.ClientSession, room_id: str) -> None:
        await self.request(session, "POST", f"/_matrix/client/v3/join/{room_id}", {})


def relates(event: Any) -> dict[str, Any]:
    content = event.source.get("content", {})
    return content.get("m.relates_to") or {}


def replies_to(participant: Any, room: str, event_id: str, sender: str) -> list[Any]:
    """The bot's notices that answer ``event_id`` (not edits of earlier notices)."""
    return [
        n for n in participant.notices(room, sender=sender)
        if relates(n).get("m.in_reply_to", {}).get("event_id") == event_id
        and relates(n).get("rel_type") != "m.replace"
    ]


def translations_of(participant: Any, room: str, event_id: str, sender: str) -> list[Any]:
    """Translation notices (``[xx] …``) posted in reply to ``event_id``."""
    return [n for n in replies_to(participant, room, event_id, sender) if n.body.startswith("[")]


def command_answers(participant: Any, room: str, event_id: str, sender: str) -> list[Any]:
    return [
        n for n in replies_to(participant, room, event_id, sender) if not n.body.startswith("[")
    ]


def texts_in(participant: Any, room: str) -> list[Any]:
    return [e for e in participant.events(room) if isinstance(e, RoomMessageText)]


def notices_containing(participant: Any, room: str, text: str, sender: str) -> list[Any]:
    return [
        n for n in participant.notices(room, sender=sender)
        if isinstance(n, RoomMessageNotice) and text in n.body
        and relates(n).get("rel_type") != "m.replace"
    ]


async def wait_for_file(folder: Path, pattern: str, timeout: float = 120) -> Path:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await asyncio.to_thread(lambda: sorted(folder.glob(pattern)))
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no {pattern} in {folder}")


def read_minutes(data_dir: Path) -> dict[str, Any]:
    return json.loads(next((data_dir / "minutes").glob("*.json")).read_text())


async def until_answering(participant: Any, room: str, bot_id: str, timeout: float = 120) -> None:
    """Probe with !status until the (re)started bot answers one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        probe = await participant.send(room, "!status")
        for _ in range(30):
            if command_answers(participant, room, probe, bot_id):
                return
            await asyncio.sleep(0.1)
    raise TimeoutError("the bot never answered")


async def history(participant: Any, room: str) -> list[Any]:
    """Every event of the room, oldest first, paged from the server with /messages (a
    client that was offline for minutes gets a limited sync and would miss some)."""
    from nio import MessageDirection, RoomMessagesResponse

    events: list[Any] = []
    start = ""
    for _page in range(200):
        response = await participant.client.room_messages(
            room, start=start, direction=MessageDirection.back, limit=100
        )
        assert isinstance(response, RoomMessagesResponse), response
        events.extend(response.chunk)
        if not response.chunk or not response.end or response.end == start:
            break
        start = response.end
    events.reverse()
    return events


def answers_in(events: list[Any], event_id: str, sender: str) -> list[Any]:
    """Notices from ``sender`` in ``events`` that reply to ``event_id`` (edits left out)."""
    return [
        e for e in events
        if isinstance(e, RoomMessageNotice) and e.sender == sender
        and relates(e).get("m.in_reply_to", {}).get("event_id") == event_id
        and relates(e).get("rel_type") != "m.replace"
    ]
