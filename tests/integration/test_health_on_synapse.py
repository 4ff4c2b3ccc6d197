"""Health and metrics of the real bot against the real Synapse.

The bot reaches the session's homeserver through a TCP forwarder the test can cut: cut, the
homeserver is unreachable for the bot (connections refused, open ones dropped) while the
people's clients, connected directly, carry on. ``/healthz`` must say 503 while the bot is
stuck starting, 200 once it syncs, 503 again when the homeserver goes away, and 200 when it
is back; ``/metrics`` counts what happened. Under systemd, the bot as a process says READY=1
and pings the watchdog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

import meetbot.matrix.bot as bot_module
from meetbot.config.schema import load_config
from meetbot.runtime.service import BotService

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cuttable:
    """A TCP forwarder to the homeserver on a port of its own; ``cut()`` takes it away."""

    def __init__(self, target_url: str) -> None:
        target = urlsplit(target_url)
        self.target = (target.hostname or "127.0.0.1", target.port or 80)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """No new connection is accepted, the open ones are dropped."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if server is not None:
            await server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}


async def healthz(http: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{base}/healthz") as response:
        return response.status, await response.json()


async def until_status(
    http: aiohttp.ClientSession, base: str, status: int, timeout: float
) -> dict[str, Any]:
    """Ask /healthz until it answers ``status``; its body then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        with contextlib.suppress(aiohttp.ClientConnectionError):
            got, body = await healthz(http, base)
            if got == status:
                return body
            last = (got, body)
        await asyncio.sleep(0.2)
    raise AssertionError(f"/healthz never answered {status} in {timeout}s; last: {last}")


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text (labels in any order)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, number = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        if head != name:
            continue
        found = dict(
            part.split("=", 1) for part in rest.rstrip("}").split(",") if "=" in part
        )
        if {k: v.strip('"') for k, v in found.items()} == labels:
            return float(number)
    return None


async def test_healthz_follows_the_bot_from_start_through_an_outage_and_back(
    homeserver, make_participant, make_bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An idle sync returns every second (not 30), so a short max_sync_age stays honest.
    monkeypatch.setattr(bot_module, "SYNC_TIMEOUT_MS", 1000)
    proxy = Cuttable(homeserver.url)
    alice = await make_participant("alice")
    bot = make_bot()
    room = await alice.create_room("Health", invite=[bot.user_id])
    port = free_port()
    bot.configure(
        homeserver=proxy.url,
        facilitators=[alice.user_id],
        regions=[{"id": "x", "name": "X", "room": room}],
        health={"port": port, "host": "127.0.0.1", "max_sync_age": "4s"},
        startup_timeout="90s",
    )
    base = f"http://127.0.0.1:{port}"
    service = bot.service = BotService(load_config(bot.config_path))
    starting = asyncio.create_task(service.start())
    try:
        async with aiohttp.ClientSession() as http:
            # The homeserver cannot be reached yet: the bot is stuck starting, and says so.
            body = await until_status(http, base, 503, timeout=30)
            assert body["status"] == "starting" and body["healthy"] is False
            assert body["last_sync_age_s"] is None
            await proxy.open()
            await asyncio.wait_for(starting, timeout=60)
            assert service.bot is not None
            await asyncio.wait_for(service.bot.synced.wait(), timeout=30)

            status, body = await healthz(http, base)
            assert status == 200, body
            assert body["status"] == "ok" and 0 <= body["last_sync_age_s"] < 4
            assert body["outbox_depth"] is not None and body["translation_queue"] == 0
            assert body["rooms_unreachable"] == 0

            await alice.wait_for_member(room, bot.user_id)
            asked = await alice.send(room, "!status")
            await alice.wait_for_notice(room, "", sender=bot.user_id, after=asked)
            await bot.settled()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while True:  # the send is counted once Synapse answered it
                async with http.get(f"{base}/metrics") as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"].startswith("text/plain")
                    text = await response.text()
                if sample(text, "meetbot_outbox_sent_total", room=room) or loop.time() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert sample(text, "meetbot_commands_total", command="status") == 1
            assert (sample(text, "meetbot_events_total", type="message") or 0) >= 1
            assert (sample(text, "meetbot_outbox_sent_total", room=room) or 0) >= 1
            assert (sample(text, "meetbot_syncs_total", result="ok") or 0) >= 2
            assert (sample(text, "meetbot_last_sync_timestamp_seconds") or 0) > time.time() - 30
            assert sample(text, "meetbot_outbox_depth") == 0
            assert sample(text, "meetbot_healthy") == 1
            assert (sample(text, "meetbot_event_lag_seconds_count") or 0) >= 1

            # The homeserver goes away: within max_sync_age (4s) and a sync, 503.
            await proxy.cut()
            body = await until_status(http, base, 503, timeout=30)
            assert body["status"] == "unhealthy"
            assert "no successful sync" in body["problems"][0]
            assert body["last_sync_age_s"] > 4
            async with http.get(f"{base}/metrics") as response:
                text = await response.text()
            assert sample(text, "meetbot_healthy") == 0
            assert (sample(text, "meetbot_sync_age_seconds") or 0) > 4

            # Back: the next sync makes it healthy again.
            await proxy.open()
            body = await until_status(http, base, 200, timeout=90)
            assert body["last_sync_age_s"] < 4
    finally:
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        await bot.stop()
        await proxy.cut()
    # Stopped: the port is free again.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


async def test_under_systemd_the_bot_says_ready_and_pings_the_watchdog(
    homeserver, make_bot, tmp_path: Path
) -> None:
    bot = make_bot()
    bot.configure(log_level="INFO")
    name = f"meetbot-notify-{uuid.uuid4().hex[:12]}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.setblocking(False)
    log_path = tmp_path / "bot.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NOTIFY_SOCKET": "@" + name,
        "WATCHDOG_USEC": "1000000",  # WatchdogSec=1s: a ping every half second
    }
    env.pop("WATCHDOG_PID", None)
    log = log_path.open("wb")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "meetbot", "run", "--config", str(bot.config_path),
            stdout=log, stderr=asyncio.subprocess.STDOUT, env=env,
        )
    finally:
        log.close()
    loop = asyncio.get_running_loop()
    messages: list[str] = []

    async def until(predicate: Any, timeout: float) -> None:
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            with contextlib.suppress(BlockingIOError):
                while True:
                    messages.append(listener.recv(4096).decode())
            if predicate():
                return
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"{messages}\n{log_path.read_text(errors='replace')[-3000:]}")

    try:
        await until(lambda: any(m.startswith("READY=1") for m in messages), 60)
        ready = next(i for i, m in enumerate(messages) if m.startswith("READY=1"))
        await until(lambda: sum(m.startswith("WATCHDOG=1") for m in messages) >= 2, 20)
        pings = [m for m in messages[ready:] if m.startswith("WATCHDOG=1")]
        assert "STATUS=synced" in pings[0], pings
        assert not [m for m in messages[:ready] if m.startswith("WATCHDOG=1")]
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
        await until(lambda: "STOPPING=1" in messages, 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        listener.close()
