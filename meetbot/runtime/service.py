"""Wiring: the database, the app, the Matrix client, the scheduler and the workers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.config.schema import Config
from meetbot.core.durations import format_duration
from meetbot.matrix.bot import SYNC_TIMEOUT_MS, MatrixBot
from meetbot.matrix.session import MatrixClient, connect, probe
from meetbot.matrix.session import StartupFailed as StartupFailed  # re-exported
from meetbot.metrics import Metrics
from meetbot.runtime import features
from meetbot.runtime.health import Health, HealthProbe, HealthServer
from meetbot.runtime.running import RunningBot
from meetbot.runtime.sdnotify import keep_watchdog, notify, watchdog_interval
from meetbot.runtime.tasks import TaskRunner
from meetbot.runtime.timers import TimerScheduler
from meetbot.translation.live import LiveTranslation
from meetbot.waiting import freeze_long_lived

log = logging.getLogger(__name__)

# On stop, how long the bot's tasks get to end by themselves, then to end once cancelled.
STOP_GRACE_S = 2.5
STOP_CANCEL_S = 1.0


class BotService:
    """One running bot. ``await start()``, then ``await stop()`` (or run ``serve()``).

    ``start()`` connects (bounded by ``startup_timeout``) and launches the sync; ``started()``
    waits for its first handled sync. ``stop()`` ends everything within a few seconds,
    whatever it was doing: what does not stop when asked is cancelled.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: MeetBotApp | None = None
        self.client: MatrixClient | None = None
        self.bot: MatrixBot | None = None
        self.scheduler: TimerScheduler | None = None
        self.runners: list[TaskRunner] = []
        self.translation: LiveTranslation | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._main: asyncio.Task[None] | None = None
        self._first_sync: asyncio.Future[Any] | None = None
        self._deadline: float | None = None
        self._stopped = False
        # What the shells count, and the health verdict over it (served if configured).
        self.metrics = Metrics()
        health = config.health
        max_age = health.max_sync_age if health and health.max_sync_age else None
        self.probe = HealthProbe(
            self.metrics,
            max_age.total_seconds() if max_age else 3 * SYNC_TIMEOUT_MS / 1000,
        )
        self.health_server: HealthServer | None = None

    async def start(self, deadline: float | None = None) -> None:
        """Open the database, reach the homeserver and log in, start syncing.

        ``deadline`` (the event loop's clock; default: now + ``startup_timeout``) bounds the
        connection; :class:`StartupFailed` names the homeserver and the error.
        """
        loop = asyncio.get_running_loop()
        if deadline is None:
            deadline = loop.time() + self.config.startup_timeout.total_seconds()
        self._deadline = deadline
        await self._serve_health()
        # Opened to the end even if cancelled meanwhile, so that stop() can close it.
        opening = asyncio.ensure_future(features.open_bot(self.config, self.metrics))
        try:
            opened = await asyncio.shield(opening)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self.app = (await opening).app
            raise
        app = self.app = self.probe.app = opened.app
        translation = self.translation = opened.translation
        client = self.client = await connect(self.config, deadline)
        self.probe.homeserver_problem = lambda: (
            client.last_problem.message if client.last_problem else None
        )
        bot = self.bot = MatrixBot(app, client, self.metrics)
        self._first_sync = asyncio.ensure_future(bot.synced.wait())
        self.scheduler = TimerScheduler(app)
        self.scheduler.start()

        async def upload(
            data: bytes, name: str, mimetype: str, room_id: str
        ) -> dict[str, Any] | None:
            room = client.rooms.get(room_id)
            encrypt = bool(room and room.encrypted)
            response, keys = await client.upload(
                io.BytesIO(data),
                content_type=mimetype,
                filename=name,
                encrypt=encrypt,
                filesize=len(data),
            )
            url = getattr(response, "content_uri", None)
            if url is None:
                log.warning("upload of %s failed: %s", name, response)
                return None
            if encrypt and keys:
                return {"file": {"url": url, **keys}}
            return {"url": url}

        async def fetch(room_id: str, event_id: str) -> str | None:
            response = await client.room_get_event(room_id, event_id)
            event = getattr(response, "event", None)
            body = getattr(event, "body", None)
            return body if isinstance(body, str) else None

        translation.fetch = fetch

        handlers = features.task_handlers(app, client, upload, opened.checks)
        self.runners = [
            TaskRunner(app, {kind: handler}, kind) for kind, handler in handlers.items()
        ]
        self._tasks = [asyncio.create_task(r.run(), name=f"meetbot-{r.name}") for r in self.runners]
        self._tasks.append(asyncio.create_task(translation.run(), name="meetbot-translation"))
        self._tasks.append(asyncio.create_task(_fill(translation), name="meetbot-agendas"))
        self._main = self.probe.sync_task = asyncio.create_task(bot.run(), name="meetbot-sync")
        running = RunningBot(app, bot, self.scheduler, self._main)
        for start in features.STARTUP:
            await start(running)

    async def _serve_health(self) -> None:
        """``/healthz`` and ``/metrics``, if configured: up before the bot connects, so that a
        bot stuck starting answers 503. A port already taken stops the start."""
        settings = self.config.health
        if settings is None:
            return
        server = HealthServer(self.probe, settings.host, settings.port)
        try:
            await server.start()
        except OSError as exc:
            raise StartupFailed(
                f"cannot serve health on {settings.host}:{settings.port}: "
                f"{exc.strerror or exc} (see health.port)"
            ) from exc
        self.health_server = server

    async def health(self) -> Health:
        """The health verdict, as ``/healthz`` gives it."""
        return await self.probe.check()

    async def started(self) -> None:
        """Wait for the first handled sync; :class:`StartupFailed` after the start-up
        deadline, naming the homeserver and the last error seen."""
        assert self._main is not None and self._first_sync is not None
        loop = asyncio.get_running_loop()
        deadline = self._deadline if self._deadline is not None else loop.time()
        await asyncio.wait(
            {self._first_sync, self._main},
            timeout=max(0.0, deadline - loop.time()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._first_sync.done():
            return
        if self._main.done():
            self._main.result()  # raises what stopped it
            raise StartupFailed("cannot start: the bot stopped before its first sync")
        assert self.client is not None
        problem = self.client.last_problem or await probe(self.config.homeserver)
        reason = problem.message if problem else "it answers, but the first sync did not end"
        raise StartupFailed(
            f"cannot start: homeserver {self.config.homeserver}: {reason} (no sync within "
            f"{format_duration(self.config.startup_timeout)}; see startup_timeout)"
        )

    async def wait(self) -> None:
        assert self._main is not None
        await self._main

    async def stop(self) -> None:
        """Stop cleanly: the device and its keys stay (no logout).

        Everything is asked to stop; what has not within ``STOP_GRACE_S`` (a request nio
        keeps retrying, say) is cancelled. A transaction cut short is rolled back.
        """
        if self._stopped:
            return
        self._stopped = True
        if self.health_server is not None:
            await self.health_server.stop()
        if self.bot is not None:
            self.bot.stop()
        for runner in self.runners:
            runner.stop()
        if self.translation is not None:
            self.translation.stop()
        if self._first_sync is not None:
            self._first_sync.cancel()
        tasks = [t for t in (self._main, *self._tasks) if t is not None]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in pending:
                log.info("%s did not stop when asked: cancelled", task.get_name())
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=STOP_CANCEL_S)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.error("%s ended with an error", task.get_name(),
                              exc_info=task.exception())
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.client is not None:
            await self.client.close()
        if self.app is not None:
            await self.app.store.db.close()


async def _fill(translation: LiveTranslation) -> None:
    try:
        filled = await translation.fill_agendas()
    except Exception:  # a convenience: never let it stop the bot
        log.exception("machine translation of the agendas failed")
        return
    if filled:
        log.info("machine-translated %d prompt texts missing from the agendas", filled)


async def serve(config: Config) -> int:
    """Run the bot until SIGTERM or SIGINT (0), at any moment, start-up included.

    Start-up races the stop signal: a signal cancels it. :class:`StartupFailed` (exit code 3
    in the CLI) when the homeserver cannot be reached, refuses the login or gives no sync
    within ``startup_timeout``. A second signal exits at once.
    """
    service = BotService(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal, sig)
    stopper = asyncio.ensure_future(stop.wait())
    deadline = loop.time() + config.startup_timeout.total_seconds()

    async def start() -> None:
        await service.start(deadline)
        await service.started()

    starting = asyncio.ensure_future(start())
    watchdog: asyncio.Task[None] | None = None
    try:
        await asyncio.wait({starting, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            log.info("stopped during start-up")
            return 0
        starting.result()  # StartupFailed
        log.info("started: syncing with %s as %s", config.homeserver, config.user_id)
        freeze_long_lived()  # what starting made (modules, config, client) is there for good
        watchdog = _tell_systemd(service, stop)
        assert service._main is not None
        await asyncio.wait({service._main, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            service._main.result()  # what ended the sync loop
            log.error("the sync loop ended by itself")
            return 1
        return 0
    finally:
        notify("STOPPING=1")
        stopper.cancel()
        if watchdog is not None:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
        if not starting.done():
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
        await service.stop()
        for sig in signals:
            loop.remove_signal_handler(sig)
        log.info("stopped")


def _tell_systemd(service: BotService, stop: asyncio.Event) -> asyncio.Task[None] | None:
    """Under systemd (``Type=notify``): READY=1 now, then WATCHDOG=1 while healthy."""
    notify("READY=1\nSTATUS=syncing")
    interval = watchdog_interval()
    if interval is None:
        return None

    async def healthy() -> tuple[bool, str]:
        health = await service.health()
        if not health.healthy:
            return False, "; ".join(health.problems)
        return True, (
            f"synced {health.sync_age or 0:.0f}s ago; outbox {health.outbox_depth}, "
            f"translation queue {health.translation_queue}, "
            f"rooms unreachable {len(health.unreachable_rooms)}"
        )

    return asyncio.create_task(keep_watchdog(healthy, stop, interval), name="meetbot-watchdog")
