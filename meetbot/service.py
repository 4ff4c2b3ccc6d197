"""Wiring: the database, the app, the Matrix client, the scheduler and the workers."""

from __future__ import annotations

import asyncio
import io
import logging
from typing import Any

from meetbot.agenda import AgendaLibrary
from meetbot.app import MeetBotApp
from meetbot.config import Config
from meetbot.delivery import MinutesDelivery, MinutesRewrite
from meetbot.live_translation import LiveTranslation
from meetbot.matrix.bot import MatrixBot
from meetbot.matrix.session import open_session
from meetbot.plugins import register_startup_plugin as register_startup_plugin  # re-exported
from meetbot.plugins import register_task_plugin as register_task_plugin  # re-exported
from meetbot.plugins import startup_plugins, task_plugins
from meetbot.scheduling import TimerScheduler
from meetbot.storage.database import Database
from meetbot.storage.store import Store
from meetbot.workers import TaskHandler, TaskRunner

log = logging.getLogger(__name__)


async def open_app(config: Config) -> MeetBotApp:
    """The app over its database, with every configured agenda loaded (errors early)."""
    db = await Database.open(config.database_path)
    agendas = AgendaLibrary(config.prompts_path)
    try:
        for region in config.regions:
            agendas.get(region.agenda)
            for meeting in region.meetings:
                agendas.get(meeting.agenda or region.agenda)
        agendas.get("default")
    except Exception:
        await db.close()
        raise
    app = MeetBotApp(config, Store(db), agendas)
    await app.load_bindings()
    app.user_languages.update(await app.store.user_languages())
    from meetbot.research.tasks import attach  # consent, withdrawal, reports

    await attach(app)
    return app


class BotService:
    """One running bot. ``await start()``, then ``await stop()`` (or run ``serve()``)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: MeetBotApp | None = None
        self.bot: MatrixBot | None = None
        self.scheduler: TimerScheduler | None = None
        self.runners: list[TaskRunner] = []
        self.translation: LiveTranslation | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._main: asyncio.Task[None] | None = None

    async def start(self) -> None:
        app = self.app = await open_app(self.config)
        client = await open_session(self.config)
        bot = self.bot = MatrixBot(app, client)
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

        translation = self.translation = LiveTranslation(app, fetch)
        await translation.load()

        handlers: dict[str, TaskHandler] = {
            "minutes": MinutesDelivery(app, upload),
            "rewrite": MinutesRewrite(app),
        }
        for extra in _task_plugins:
            handlers.update(extra(app, client))
        self.runners = [
            TaskRunner(app, {kind: handler}, kind) for kind, handler in handlers.items()
        ]
        self._tasks = [asyncio.create_task(r.run(), name=f"meetbot-{r.name}") for r in self.runners]
        self._tasks.append(asyncio.create_task(translation.run(), name="meetbot-translation"))
        self._tasks.append(asyncio.create_task(_fill(translation), name="meetbot-agendas"))
        self._main = asyncio.create_task(bot.run(), name="meetbot-sync")
        for plugin in _startup_plugins:
            await plugin(self)

    async def wait(self) -> None:
        assert self._main is not None
        await self._main

    async def stop(self) -> None:
        """Stop cleanly: the device and its keys stay (no logout)."""
        if self.bot is not None:
            self.bot.stop()
        for runner in self.runners:
            runner.stop()
        if self.translation is not None:
            self.translation.stop()
        if self._main is not None:
            await asyncio.gather(self._main, return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.bot is not None:
            await self.bot.client.close()
        if self.app is not None:
            await self.app.store.db.close()


# Features register startup plugins (awaited once the bot has started, e.g. the meeting
# calendar) and task plugins in meetbot.plugins, which they can import while the app loads.
_startup_plugins = startup_plugins
_task_plugins = task_plugins


async def _fill(translation: LiveTranslation) -> None:
    try:
        filled = await translation.fill_agendas()
    except Exception:  # a convenience: never let it stop the bot
        log.exception("machine translation of the agendas failed")
        return
    if filled:
        log.info("machine-translated %d prompt texts missing from the agendas", filled)


async def serve(config: Config) -> None:
    service = BotService(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    assert service._main is not None
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({service._main, stopper}, return_when=asyncio.FIRST_COMPLETED)
    log.info("stopping")
    await service.stop()
