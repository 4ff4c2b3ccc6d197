"""Run the demo: homeserver, people, rooms, config, the real bot, the meeting, the report."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from meetbot.config.schema import load_config
from meetbot.demo.backend import BackendChoice, default_models_dir, prepare_backend
from meetbot.demo.client import DemoClient
from meetbot.demo.homeserver import Homeserver, RegisteredUser
from meetbot.demo.progress import Progress
from meetbot.demo.script import ENDING, PLAYED, Meeting
from meetbot.demo.transcript import conversation
from meetbot.demo.world import (
    BOT,
    COORDINATOR,
    FACILITATOR,
    PARTICIPANTS,
    PEOPLE,
    REGION_LANGUAGES,
    DemoFolder,
    new_password,
    write_config,
)
from meetbot.runtime.service import BotService

# The progress steps of a run, in order; the meeting's own come from its script.
START_SYNAPSE = "Start Synapse on 127.0.0.1"
REGISTER = "Register the bot, a facilitator, 3 people, a coordinator"
LOG_IN = "Log the people in and create the rooms"
CHOOSE = "Choose a translation back-end"
WRITE_CONFIG = "Write the bot's config"
START_BOT = "Start the bot (the real BotService)"
TRANSLATIONS = "Let the bot finish its translations"
MINUTES = "Wait for the minutes and the coordinator's summary"


def plan(translating: bool) -> list[str]:
    """Every step of a run, known before the first one starts: the counter never jumps."""
    return [
        START_SYNAPSE, REGISTER, LOG_IN, CHOOSE, WRITE_CONFIG, START_BOT,
        *(step.title for step in PLAYED),
        *([TRANSLATIONS] if translating else []),
        *(step.title for step in ENDING),
        MINUTES,
    ]


@dataclass(frozen=True)
class DemoOptions:
    folder: Path
    keep_running: bool = False
    models_dir: Path | None = None
    timeout: float = 60.0
    download: bool = True  # fetch missing Argos models (online) before the meeting


class Demo:
    """One run of ``meetbot demo``; :meth:`run` returns the exit code."""

    def __init__(self, options: DemoOptions, out: TextIO = sys.stdout) -> None:
        self.options = options
        self.out = out
        self.folder = DemoFolder(options.folder.resolve())
        self.models_dir = (options.models_dir or default_models_dir()).resolve()
        # Replaced once the back-end is chosen: whether the bot translates decides one step.
        self.progress = Progress(out, plan(translating=False))
        self.homeserver = Homeserver(self.folder.synapse)
        self.users: dict[str, RegisteredUser] = {}
        self.clients: dict[str, DemoClient] = {}
        self.service: BotService | None = None
        self.choice: BackendChoice | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # -- the synchronous part: the homeserver lives outside the event loop --------------
    def prepare(self) -> None:
        """Make the folder ready (call before logging to a file inside it)."""
        self.say("meetbot demo: a trilingual meeting (es, fr, en) on a homeserver of its own\n")
        if self.folder.prepare():
            self.say(f"  (the previous demo in {self.folder.root} was replaced)")

    def choose_translation(self) -> BackendChoice:
        """Fetch the Argos models if needed and allowed, choose the back-end, say which."""
        self.choice = prepare_backend(
            self.models_dir, REGION_LANGUAGES, download=self.options.download, out=self.out
        )
        self.say(f"Translation back-end: {self.choice.backend} — {self.choice.reason}")
        if self.choice.better:
            self.say(f"  {self.choice.better}")
        self.say()
        # Every step is known before the first one starts: the counter never jumps.
        self.progress = Progress(self.out, plan(self.choice.backend != "none"))
        return self.choice

    def run(self) -> int:
        try:
            if self.choice is None:
                self.choose_translation()
            with self.progress.step(START_SYNAPSE) as detail:
                self.homeserver.start()
                detail.append(self.homeserver.url)
            with self.progress.step(REGISTER):
                for person in PEOPLE:
                    self.users[person.key] = self.homeserver.register(
                        person.localpart, new_password()
                    )
            return asyncio.run(self._main())
        except asyncio.CancelledError:  # SIGTERM cancelled the meeting: an interruption too
            raise KeyboardInterrupt from None
        finally:
            self.homeserver.stop()

    # -- the asynchronous part ------------------------------------------------------------
    async def _main(self) -> int:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            meeting = await self._setup()
            await self._meeting(meeting)
            self._report(meeting)
            if self.options.keep_running:
                await self._keep_running()
            return 0
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await self._shutdown()

    async def _setup(self) -> Meeting:
        hs = self.homeserver
        with self.progress.step(LOG_IN):
            for person in PEOPLE[1:]:
                user = self.users[person.key]
                client = DemoClient(hs.url, user.user_id, user.device_id, user.access_token)
                self.clients[person.key] = client
                client.start()
                await client.set_display_name(person.name)
            bot_id = self.users[BOT.key].user_id
            invited = [bot_id] + [self.users[p.key].user_id for p in PARTICIPANTS]
            room = await self.clients[FACILITATOR.key].create_room(
                "Demo region (es · fr · en)", "demo-meeting", invited
            )
            coordination = await self.clients[COORDINATOR.key].create_room(
                "Coordination", "demo-coordination", [bot_id]
            )
            for person in PARTICIPANTS:
                await self.clients[person.key].join(room)
        config_path = self.folder.config
        assert self.choice is not None
        with self.progress.step(CHOOSE) as detail:
            detail.append(self.choice.backend)
        with self.progress.step(WRITE_CONFIG) as detail:
            write_config(
                self.folder,
                homeserver=hs.url,
                user_ids={key: user.user_id for key, user in self.users.items()},
                bot_password=self.users[BOT.key].password,
                room=f"#demo-meeting:{hs.server_name}",
                coordinator_room=f"#demo-coordination:{hs.server_name}",
                backend=self.choice.backend,
                models_dir=self.models_dir,
            )
            detail.append(str(config_path))
        with self.progress.step(START_BOT):
            service = self.service = BotService(load_config(config_path))
            await service.start()
            assert service.bot is not None
            await asyncio.wait_for(service.bot.ready.wait(), self.options.timeout)
            for key in (FACILITATOR.key, COORDINATOR.key):
                target = room if key == FACILITATOR.key else coordination
                await self.clients[key].wait_for_member(target, bot_id, self.options.timeout)
        return Meeting(room, coordination, bot_id, self.clients, self.options.timeout)

    async def _meeting(self, meeting: Meeting) -> None:
        await meeting.play(self.progress)
        assert self.choice is not None
        if self.choice.backend != "none":
            with self.progress.step(TRANSLATIONS) as detail:
                if self._translates():
                    await self._settled(("translate",))
                else:
                    detail.append("this bot has no translation worker yet, skipped")
        await meeting.end(self.progress)
        with self.progress.step(MINUTES) as detail:
            coordinator = self.clients[COORDINATOR.key]
            await coordinator.wait_for_message(
                meeting.coordinator_room,
                lambda m: m.sender == meeting.bot_user_id and m.msgtype == "m.file",
                timeout=self.options.timeout,
                what="the minutes file in the coordination room",
            )
            await self._settled(("minutes", "translate") if self._translates() else ("minutes",))
            files = sorted(p.name for p in self.folder.minutes.glob("*") if p.is_file())
            detail.append(f"{len(files)} file{'' if len(files) == 1 else 's'}")

    def _translates(self) -> bool:
        """True when the running bot has a worker for translation tasks."""
        assert self.service is not None
        return (
            self.service.translation is not None
            and self.service.config.translation.backend != "none"
        )

    async def _settled(self, kinds: Iterable[str]) -> None:
        """Wait until the bot has nothing left to send and no task of ``kinds`` pending."""
        assert self.service is not None and self.service.app is not None
        store = self.service.app.store
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.timeout
        while loop.time() < deadline:
            if not await store.pending_outbox(1) and not await store.pending_tasks(list(kinds), 1):
                # One more round trip so the people's clients have synced what was sent.
                await asyncio.sleep(0.5)
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the bot still had work pending after {self.options.timeout:.0f} s")

    # -- output ---------------------------------------------------------------------------
    def _transcript(self, meeting: Meeting) -> list[str]:
        names = {self.users[p.key].user_id: p.name for p in PEOPLE}
        views = {p: self.clients[p.key].messages(meeting.room) for p in PARTICIPANTS}
        coordination = self.clients[COORDINATOR.key].messages(meeting.coordinator_room)
        return conversation(views, coordination, names, meeting.bot_user_id)

    def _report(self, meeting: Meeting) -> None:
        lines = self._transcript(meeting)
        self.folder.transcript.write_text("\n".join(lines).lstrip() + "\n", encoding="utf-8")
        for line in lines:
            self.say(line)
        self.say("")
        assert self.choice is not None
        self.say(f"Translation back-end: {self.choice.backend} — {self.choice.reason}")
        if self.choice.backend != "none" and not self._translates():
            self.say("  (this version of the bot does not translate messages yet)")
        if self.choice.better:
            self.say(f"  {self.choice.better}")
        self.say(
            f"\nThe meeting took {self.progress.elapsed():.1f} s. Everything is in "
            f"{self.folder.root}:"
        )
        for path in sorted(self.folder.minutes.glob("*")):
            self.say(f"  minutes     {path}")
        self.say(f"  config      {self.folder.config}")
        self.say(f"  transcript  {self.folder.transcript}")
        self.say(f"  bot log     {self.folder.log}")
        self.say(f"  Synapse     {self.homeserver.log_path}")

    async def _keep_running(self) -> None:
        hs = self.homeserver
        # The people's clients are done; the bot and the homeserver stay.
        await self._close_clients()
        self.say(f"\nThe homeserver and the bot keep running. Homeserver URL: {hs.url}")
        self.say("Connect Element (desktop) or any Matrix client to it with one of these logins:")
        for person in PEOPLE[1:]:
            user = self.users[person.key]
            self.say(f"  {person.name:20} user {user.user_id:22} password {user.password}")
        self.say(
            f"Rooms: #demo-meeting:{hs.server_name} (the region) and "
            f"#demo-coordination:{hs.server_name}."
        )
        self.say("As Maya, type !startmeeting to run another meeting. Press Ctrl-C to stop all.")
        await asyncio.Event().wait()

    # -- shutdown -------------------------------------------------------------------------
    async def _close_clients(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    async def _shutdown(self) -> None:
        await self._close_clients()
        if self.service is not None:
            service, self.service = self.service, None
            await service.stop()
