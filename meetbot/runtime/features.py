"""The composition root: every feature of the bot, listed once, in the order people meet them.

Feature modules only declare: commands are marked with ``@command`` next to their handlers,
hooks are a module's ``HOOKS``. This module lists the modules and builds the registries once;
the service, the command line, the README's command table and the tests all build the bot
through it, so each of them sees the same commands. Importing a module registers nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.config.agendas import AgendaLibrary
from meetbot.config.schema import Config
from meetbot.core import written as written_answers
from meetbot.core.commands import (
    coordinator,
    help,
    items,
    meeting,
    people,
    research_consent,
    translation,
)
from meetbot.core.effects import Notice
from meetbot.core.engine import Engine
from meetbot.core.facilitation import proposals, queue, scheduled, timebox
from meetbot.core.registry import Features
from meetbot.matrix.content import enqueue_notice
from meetbot.metrics import Metrics
from meetbot.minutes.delivery import MinutesDelivery, MinutesRewrite, Uploader
from meetbot.runtime import calendar, proposal_anchors, research_tasks, written
from meetbot.runtime.running import RunningBot
from meetbot.runtime.tasks import TaskHandler
from meetbot.storage.database import Database
from meetbot.storage.store import Store
from meetbot.translation.live import LiveTranslation

# The core's features, in the order ``!help`` and the README's table list their commands:
# running a meeting first, then live translation, facilitation over time, and research.
CORE_FEATURES = (
    help,
    meeting,
    items,
    people,
    translation,
    timebox,
    queue,
    proposals,
    scheduled,
    written_answers,
    research_consent,
    coordinator,
)

# Started with the bot, once it runs: the meeting calendar and the proposal anchors.
STARTUP: tuple[Callable[[RunningBot], Awaitable[None]], ...] = (
    calendar.start_calendar,
    proposal_anchors.start_anchors,
    written.start_written,
)


@cache
def features() -> Features:
    """The commands and hooks of the core's features (built once)."""
    return Features.collect(CORE_FEATURES)


def engine() -> Engine:
    """The meeting core with every feature: what the app, the CLI and the tests run."""
    return Engine(features())


@dataclass(frozen=True)
class OpenedBot:
    """The app with every shell that handles its effects attached (nothing is connected)."""

    app: MeetBotApp
    translation: LiveTranslation
    metrics: Metrics


async def open_app(config: Config) -> MeetBotApp:
    """The app over its database, every effect of the core handled (for the CLI and tests)."""
    return (await open_bot(config)).app


async def open_bot(config: Config, metrics: Metrics | None = None) -> OpenedBot:
    """The app over its database, with every configured agenda loaded (errors early), and the
    shells that handle its effects attached: the outbox (notices), live translation and the
    research features (consent, withdrawal, reports). ``metrics``: what they count into (the
    service passes the one its health server shows; default: a new one)."""
    metrics = metrics if metrics is not None else Metrics()
    db = await Database.open(config.database_path)
    agendas = AgendaLibrary(config.prompts_path)
    try:
        for region in config.regions:
            agendas.get(region.agenda)
            for planned in region.meetings:
                agendas.get(planned.agenda or region.agenda)
        agendas.get("default")
    except Exception:
        await db.close()
        raise
    store = Store(db)

    async def write_notice(notice: Notice) -> None:
        await enqueue_notice(store, notice)

    app = MeetBotApp(config, store, agendas, engine(), write_notice, metrics)
    await app.load_bindings()
    app.user_languages.update(await app.store.user_languages())
    translation = LiveTranslation(app, metrics=metrics)
    await translation.load()
    await research_tasks.attach(app)
    written.attach(app)
    return OpenedBot(app, translation, metrics)


def task_handlers(app: MeetBotApp, client: Any, upload: Uploader) -> dict[str, TaskHandler]:
    """Every kind of durable task and what carries it out."""
    return {
        "minutes": MinutesDelivery(app, upload),
        "rewrite": MinutesRewrite(app),
        **research_tasks.task_handlers(app, client),
        **written.attach(app).task_handlers(),
    }
