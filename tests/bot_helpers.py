"""Running the real bot against the test homeserver, in the test's event loop."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from pathlib import Path
from typing import Any

import yaml

from meetbot.config.schema import Config, load_config
from meetbot.demo.homeserver import Homeserver, RegisteredUser
from meetbot.runtime.service import BotService

_counter = itertools.count(1)
PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


class BotHarness:
    """A bot account, its config file and data folder; start, stop and restart it."""

    def __init__(self, homeserver: Homeserver, workdir: Path) -> None:
        self.homeserver = homeserver
        self.workdir = workdir
        self.user: RegisteredUser = homeserver.register(
            f"meetbot_{next(_counter)}_{uuid.uuid4().hex[:6]}", "bot-password"
        )
        self.config_path = workdir / "meetbot.yaml"
        self.service: BotService | None = None
        self.settings: dict[str, Any] = {}

    @property
    def user_id(self) -> str:
        return self.user.user_id

    def configure(self, **settings: Any) -> Config:
        data: dict[str, Any] = {
            "homeserver": self.homeserver.url,
            "user_id": self.user.user_id,
            "password": self.user.password,
            "data_dir": str(self.workdir / "data"),
            "prompts_dir": str(PROMPTS),
            "translation": {"backend": "none"},
            "log_level": "DEBUG",
        }
        data.update(settings)
        self.settings = data
        self.config_path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return load_config(self.config_path)

    async def start(self) -> BotService:
        config = load_config(self.config_path)
        self.service = BotService(config)
        await self.service.start()
        assert self.service.bot is not None
        # Ready once the first sync after start-up has been handled.
        await asyncio.wait_for(self.service.bot.synced.wait(), timeout=30)
        return self.service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    async def restart(self) -> BotService:
        await self.stop()
        return await self.start()

    @property
    def app(self) -> Any:
        assert self.service is not None and self.service.app is not None
        return self.service.app

    async def settled(self, timeout: float = 30.0) -> None:
        """Wait until nothing is left to send and no task is pending."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            store = self.app.store
            pending = await store.pending_outbox(1)
            kinds = ["minutes", "translate", "translate-proposal", "report", "withdraw", "consent",
                     "rewrite", "written-digest", "check", "action-reminders"]
            tasks = await store.pending_tasks(kinds, 1)
            if not pending and not tasks:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the bot did not settle: messages or tasks still pending")


async def settle_proposals(app: Any, translation: Any) -> None:
    """The workers' passes without a homeserver: live translations, then the proposal
    notices, until neither has work left."""
    from meetbot.translation.proposals import KIND, ProposalTranslation

    shell = ProposalTranslation.of(app)
    assert shell is not None
    while True:
        live = await app.store.pending_tasks(["translate"], 32)
        if live:
            await translation.process(live)
        tasks = await app.store.pending_tasks([KIND], 32)
        for task in tasks:
            await shell.handle(task)
        if not live and not tasks:
            return
