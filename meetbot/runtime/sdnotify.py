"""systemd's notification protocol, with a plain socket: READY=1, WATCHDOG=1, STOPPING=1.

Under ``Type=notify`` systemd hands the bot a datagram socket in ``$NOTIFY_SOCKET`` (a path,
or an abstract name written ``@name``). The bot says READY=1 once it has synced, then
WATCHDOG=1 every half ``WatchdogSec`` (``$WATCHDOG_USEC``) **while it is healthy** (the same
verdict as ``/healthz``); a bot stuck without a sync stops pinging, and systemd restarts it.
Outside systemd (no ``$NOTIFY_SOCKET``) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return None
    if path.startswith("@"):  # Linux abstract namespace
        return "\0" + path[1:]
    return path


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification (``"READY=1"``, ``"WATCHDOG=1\\nSTATUS=…"``). True if sent;
    False outside systemd or if the socket is gone (logged, never raised)."""
    address = _address(os.environ if env is None else env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", address.lstrip("\0"), exc)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """How often to send WATCHDOG=1 (half of ``WatchdogSec``), or None if there is no
    watchdog for this process."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec or _address(env) is None:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        return None
    return seconds / 2 if seconds > 0 else None


async def keep_watchdog(
    healthy: Callable[[], Awaitable[tuple[bool, str]]],
    stop: asyncio.Event,
    interval: float,
    env: Mapping[str, str] | None = None,
) -> None:
    """Until ``stop``: every ``interval`` seconds ask ``healthy()`` -> (verdict, status text);
    ping systemd's watchdog only when healthy, and keep its STATUS= line up to date."""
    was_healthy = True
    while not stop.is_set():
        try:
            ok, status = await healthy()
        except Exception:  # a probe that fails says nothing good
            log.exception("health check for the watchdog failed")
            ok, status = False, "health check failed"
        if ok:
            notify(f"WATCHDOG=1\nSTATUS={status}", env)
        else:
            notify(f"STATUS={status}", env)
            if was_healthy:
                log.warning("unhealthy (%s): not pinging systemd's watchdog", status)
        was_healthy = ok
        await wait_or_timeout(stop, interval)
