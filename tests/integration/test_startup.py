"""`meetbot run` as a real process: a bounded start that names the problem, and a stop
(SIGTERM, SIGINT) that works at any moment: during start-up, while running, during an
outage of the homeserver."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from bot_helpers import BotHarness

from meetbot.demo.homeserver import Homeserver

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_S = 5.0
EXIT_STARTUP = 3


class BotProcess:
    """``python -m meetbot run`` in its own session, its output in a file."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "meetbot", "run", "--config", str(config), *args],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def exited(self, timeout: float) -> int | None:
        """The exit code, or None if still running after ``timeout`` (without blocking)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return self.proc.returncode
            await asyncio.sleep(0.05)
        return self.proc.poll()

    async def wait_for_output(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {text!r} in the bot's output:\n{self.output()[-4000:]}")

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[int | None, float]:
        """Send ``sig``; the exit code (None: still running) and how long it took."""
        began = time.monotonic()
        self.proc.send_signal(sig)
        code = await self.exited(STOP_WITHIN_S + 5)
        return code, time.monotonic() - began

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def run_bot(tmp_path: Path) -> Iterator[Any]:
    started: list[BotProcess] = []

    def run(config: Path, *args: str, log: Path | None = None) -> BotProcess:
        bot = BotProcess(config, log or tmp_path / f"bot{len(started)}.log", *args)
        started.append(bot)
        return bot

    yield run
    for bot in started:
        bot.kill()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, homeserver: str) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": homeserver, "user_id": "@meetbot:localhost", "password": "secret",
        "data_dir": str(tmp_path / "data"), "translation": {"backend": "none"},
    }))
    return path


async def _answers_status(participant: Any, room: str, timeout: float = 60) -> None:
    probe = await participant.send(room, "!status")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if participant.replies_to(room, probe):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not answer !status")


async def _running_bot_in_a_room(make_participant, bot: BotHarness, run_bot, *args: str,
                                 homeserver: Homeserver | None = None):
    """The bot as a process, joined to a room, in a meeting, having answered a !status."""
    extra = {"homeserver": homeserver} if homeserver else {}
    alice = await make_participant("alice", **extra)
    room = await alice.create_room("Room", invite=[bot.user_id])
    bot.configure(facilitators=[alice.user_id], regions=[{"id": "x", "name": "X", "room": room}])
    proc = run_bot(bot.config_path, *args, log=bot.workdir / "bot.log")
    await alice.wait_for_member(room, bot.user_id, timeout=60)
    start = await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3", after=start, timeout=60)
    await _answers_status(alice, room)
    await proc.wait_for_output("started: syncing with")
    return alice, room, proc


def _left_whole(data_dir: Path) -> None:
    """After a stop: the session file complete, no temporary left, the database sound."""
    assert json.loads((data_dir / "session.json").read_text())["device_id"]
    assert not list(data_dir.glob("*.tmp"))
    with sqlite3.connect(data_dir / "meetbot.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- start-up that cannot succeed -----------------------------------------------------------


async def test_a_closed_port_fails_start_up_naming_the_url(tmp_path, run_bot) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    began = time.monotonic()
    bot = run_bot(_config(tmp_path, url), "--startup-timeout", "3s")
    code = await bot.exited(timeout=15)
    took = time.monotonic() - began
    out = bot.output()
    assert code == EXIT_STARTUP, out
    assert took < 15
    assert f"meetbot: cannot start: homeserver {url}: connection refused" in out
    assert f"homeserver {url}: connection refused (nothing listens at" in out
    assert "(attempt 2)" in out, "transient errors are retried within the start-up wait"
    assert "Timed out, sleeping" not in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_during_start_up_stops_the_bot(tmp_path, run_bot, sig) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    bot = run_bot(_config(tmp_path, url), "--startup-timeout", "10m")
    await bot.wait_for_output("(attempt 1)")
    code, took = await bot.stop(sig)
    assert code == 0, bot.output()
    assert took < STOP_WITHIN_S
    assert "stopped during start-up" in bot.output()


async def test_a_web_server_that_is_not_matrix_fails_at_once(tmp_path, run_bot) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<html>It works!</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/_matrix/client/versions", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        bot = run_bot(_config(tmp_path, url))  # the default 2m: not waited out
        code = await bot.exited(timeout=20)
        assert code == EXIT_STARTUP, bot.output()
        assert f"homeserver {url}: not a Matrix server" in bot.output()
        assert "(attempt" not in bot.output(), "permanent errors are not retried"
    finally:
        await runner.cleanup()


async def test_a_wrong_password_fails_at_once_naming_it(make_bot, run_bot) -> None:
    bot = make_bot()
    bot.configure(password="not-the-password")
    began = time.monotonic()
    proc = run_bot(bot.config_path, log=bot.workdir / "bot.log")
    code = await proc.exited(timeout=30)
    out = proc.output()
    assert code == EXIT_STARTUP, out
    assert time.monotonic() - began < 30
    assert f"cannot start: homeserver {bot.homeserver.url}: login as {bot.user_id} refused: " \
        "wrong user id or password (M_FORBIDDEN" in out
    assert not (Path(bot.settings["data_dir"]) / "session.json").exists()


async def test_a_deactivated_account_fails_at_once_naming_it(make_bot, run_bot, homeserver):
    bot = make_bot()
    bot.configure()
    admin = homeserver.register(f"admin_{bot.user.user_id[1:].split(':')[0]}", "pw", admin=True)
    # Deactivation clears the password (a login then says M_FORBIDDEN); give it back, as an
    # admin may, so that Synapse tells the right password of a deactivated account apart.
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {admin.access_token}"}
    ) as session:
        for body in ({"deactivated": True}, {"password": bot.user.password}):
            async with session.put(
                f"{homeserver.url}/_synapse/admin/v2/users/{bot.user_id}", json=body
            ) as response:
                assert response.status == 200, await response.text()
    proc = run_bot(bot.config_path, log=bot.workdir / "bot.log")
    code = await proc.exited(timeout=30)
    assert code == EXIT_STARTUP, proc.output()
    assert f"the account {bot.user_id} is deactivated" in proc.output()


# -- stopping a running bot --------------------------------------------------------------------


@pytest.mark.slow
async def test_sigterm_stops_a_running_bot_cleanly(make_participant, make_bot, run_bot) -> None:
    bot = make_bot()
    _alice, _room, proc = await _running_bot_in_a_room(make_participant, bot, run_bot)
    code, took = await proc.stop(signal.SIGTERM)
    assert code == 0, proc.output()[-4000:]
    assert took < STOP_WITHIN_S
    _left_whole(Path(bot.settings["data_dir"]))


@pytest.mark.slow
async def test_a_running_bot_rides_out_an_outage_and_still_stops_during_one(
    make_participant, run_bot, tmp_path
) -> None:
    hs = Homeserver(tmp_path / "synapse")
    await asyncio.to_thread(hs.start)
    try:
        bot = BotHarness(hs, tmp_path / "bot")
        bot.workdir.mkdir()
        # A short start-up timeout: it bounds the start only, never a running bot.
        alice, room, proc = await _running_bot_in_a_room(
            make_participant, bot, run_bot, "--startup-timeout", "3s", homeserver=hs
        )
        await asyncio.to_thread(hs.stop)
        await proc.wait_for_output(f"homeserver {hs.url}: ", timeout=60)
        assert await proc.exited(timeout=6) is None, "the bot keeps running through an outage"

        await asyncio.to_thread(hs.start)
        await _answers_status(alice, room, timeout=90)

        await asyncio.to_thread(hs.stop)
        await asyncio.sleep(2)
        assert proc.proc.poll() is None
        code, took = await proc.stop(signal.SIGTERM)
        assert code == 0, proc.output()[-4000:]
        assert took < STOP_WITHIN_S
        _left_whole(Path(bot.settings["data_dir"]))
    finally:
        await asyncio.to_thread(hs.stop)
