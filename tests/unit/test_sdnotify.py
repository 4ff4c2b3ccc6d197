"""systemd's notifications, written to a real unix datagram socket as systemd would read them."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetbot.runtime.sdnotify import keep_watchdog, notify, watchdog_interval


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[socket.socket]:
    """The listening end of $NOTIFY_SOCKET."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    try:
        yield sock
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every datagram waiting on the socket."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2)
    return messages


def test_a_notification_reaches_the_socket(systemd: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": systemd.getsockname()}
    assert notify("READY=1\nSTATUS=syncing", env)
    assert systemd.recv(4096) == b"READY=1\nSTATUS=syncing"


def test_an_abstract_socket_is_written_with_an_at_sign() -> None:
    name = f"meetbot-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"


def test_outside_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": ""})
    # The socket went away (systemd restarted): logged, never raised.
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_the_watchdog_interval_is_half_of_watchdog_sec(systemd: socket.socket) -> None:
    path = systemd.getsockname()
    mine = str(os.getpid())
    assert watchdog_interval({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "180000000"}) == 90
    assert watchdog_interval(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": mine}
    ) == 1
    assert watchdog_interval({"NOTIFY_SOCKET": path}) is None  # no WatchdogSec
    assert watchdog_interval({"WATCHDOG_USEC": "2000000"}) is None  # no socket
    assert watchdog_interval(
        {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}
    ) is None  # meant for another process
    assert watchdog_interval({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "0"}) is None


async def test_the_watchdog_is_pinged_only_while_healthy(systemd: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": systemd.getsockname()}
    verdicts = [(True, "synced 1s ago"), (False, "no successful sync for 95s"),
                (False, "no successful sync for 96s"), (True, "synced 0s ago")]
    asked = 0
    stop = asyncio.Event()

    async def healthy() -> tuple[bool, str]:
        nonlocal asked
        verdict = verdicts[min(asked, len(verdicts) - 1)]
        asked += 1
        if asked == len(verdicts):
            stop.set()
        return verdict

    await asyncio.wait_for(keep_watchdog(healthy, stop, 0.01, env), timeout=5)
    assert received(systemd) == [
        "WATCHDOG=1\nSTATUS=synced 1s ago",
        "STATUS=no successful sync for 95s",
        "STATUS=no successful sync for 96s",
        "WATCHDOG=1\nSTATUS=synced 0s ago",
    ]


async def test_a_failing_health_check_is_no_ping(systemd: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": systemd.getsockname()}
    stop = asyncio.Event()

    async def broken() -> tuple[bool, str]:
        stop.set()
        raise RuntimeError("database closed")

    await asyncio.wait_for(keep_watchdog(broken, stop, 0.01, env), timeout=5)
    assert received(systemd) == ["STATUS=health check failed"]
