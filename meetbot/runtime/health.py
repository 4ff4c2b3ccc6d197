"""Health and metrics over HTTP, for operators: ``GET /healthz`` and ``GET /metrics``.

Opt-in (``health: {port: 9108, host: 127.0.0.1}``), served by aiohttp.web inside the bot's
process; :class:`~meetbot.runtime.service.BotService` starts it before it connects (so a bot
stuck logging in answers 503, not "healthy") and stops it first.

The verdict is a pure function (:func:`assess`): healthy once the bot has synced, for as long
as its last successful sync is younger than ``max_sync_age``. The depths (outbox, translation
queue, rooms the bot cannot reach) are reported, never judged: a long outbox after an outage
is the bot doing its job. The same verdict paces the systemd watchdog (``sdnotify.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meetbot.metrics import CONTENT_TYPE_LATEST, Metrics

if TYPE_CHECKING:
    from aiohttp import web

    from meetbot.app import MeetBotApp

log = logging.getLogger(__name__)

# The depths come from the database; a busy database must not hang the probe.
COUNT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Health:
    """What ``/healthz`` reports. ``sync_age``: seconds since the last successful sync."""

    started: bool
    sync_age: float | None
    max_sync_age: float
    sync_running: bool = True
    outbox_depth: int | None = None
    translation_queue: int | None = None
    unreachable_rooms: tuple[str, ...] = ()
    homeserver_problem: str | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        if self.healthy:
            return "ok"
        return "starting" if not self.started else "unhealthy"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "healthy": self.healthy,
            "problems": list(self.problems),
            "last_sync_age_s": None if self.sync_age is None else round(self.sync_age, 3),
            "max_sync_age_s": self.max_sync_age,
            "outbox_depth": self.outbox_depth,
            "translation_queue": self.translation_queue,
            "rooms_unreachable": len(self.unreachable_rooms),
            "unreachable_rooms": list(self.unreachable_rooms),
            "homeserver_problem": self.homeserver_problem,
        }


def assess(
    *,
    started: bool,
    sync_age: float | None,
    max_sync_age: float,
    sync_running: bool = True,
    outbox_depth: int | None = None,
    translation_queue: int | None = None,
    unreachable_rooms: tuple[str, ...] = (),
    homeserver_problem: str | None = None,
) -> Health:
    """The verdict, from what the bot knows (pure: the caller measures the ages)."""
    problems: list[str] = []
    if not started:
        problems.append("starting: no sync with the homeserver yet")
    elif not sync_running:
        problems.append("the sync loop is not running")
    elif sync_age is None:
        problems.append("no successful sync yet")
    elif sync_age > max_sync_age:
        problems.append(
            f"no successful sync for {sync_age:.0f}s (more than {max_sync_age:.0f}s)"
        )
    if problems and homeserver_problem:
        problems.append(f"homeserver: {homeserver_problem}")
    return Health(
        started=started,
        sync_age=sync_age,
        max_sync_age=max_sync_age,
        sync_running=sync_running,
        outbox_depth=outbox_depth,
        translation_queue=translation_queue,
        unreachable_rooms=unreachable_rooms,
        homeserver_problem=homeserver_problem,
        problems=tuple(problems),
    )


async def _count(count: Callable[[], Awaitable[int]]) -> int | None:
    try:
        return await asyncio.wait_for(count(), COUNT_TIMEOUT_S)
    except Exception as exc:  # busy, closed: the depth is unknown, the verdict stands
        log.debug("health: cannot count (%s)", exc)
        return None


class HealthProbe:
    """Measures the bot for :func:`assess`. The service fills in what it has built so far:
    ``app`` once the database is open, ``sync_task`` and ``homeserver`` once it connects."""

    def __init__(self, metrics: Metrics, max_sync_age: float) -> None:
        self.metrics = metrics
        self.max_sync_age = max_sync_age
        self.app: MeetBotApp | None = None
        self.sync_task: asyncio.Task[None] | None = None
        # The homeserver's last problem, in words (None: none, or not connected yet).
        self.homeserver_problem: Callable[[], str | None] = lambda: None

    async def check(self) -> Health:
        app, metrics = self.app, self.metrics
        outbox = translation = None
        unreachable: tuple[str, ...] = ()
        if app is not None:
            outbox = await _count(app.store.outbox_depth)
            translation = await _count(app.store.translation_queue)
            unreachable = tuple(sorted(app.unreachable_rooms))
        health = assess(
            started=metrics.last_sync_at is not None,
            sync_age=metrics.sync_age_s(),
            max_sync_age=self.max_sync_age,
            sync_running=self.sync_task is not None and not self.sync_task.done(),
            outbox_depth=outbox,
            translation_queue=translation,
            unreachable_rooms=unreachable,
            homeserver_problem=self.homeserver_problem(),
        )
        if outbox is not None:
            metrics.outbox_depth.set(outbox)
        if translation is not None:
            metrics.translation_queue.set(translation)
        metrics.rooms_unreachable.set(len(unreachable))
        metrics.healthy.set(1 if health.healthy else 0)
        return health


class HealthServer:
    """``/healthz`` (JSON; 200 healthy, 503 not) and ``/metrics`` (Prometheus text)."""

    def __init__(self, probe: HealthProbe, host: str, port: int) -> None:
        self.probe = probe
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; OSError if the port is taken (the caller names it)."""
        from aiohttp import web  # only when health is on: aiohttp.web stays off the start path

        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = self.bound_port()
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    def bound_port(self) -> int:
        """The port listened on (the configured one; the one chosen for port 0)."""
        addresses = self._runner.addresses if self._runner is not None else []
        for address in addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                return int(address[1])
        return self.port

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        from aiohttp import web

        health = await self.probe.check()
        return web.json_response(health.as_json(), status=200 if health.healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        from aiohttp import web

        await self.probe.check()  # refreshes the gauges
        return web.Response(
            body=self.probe.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )
