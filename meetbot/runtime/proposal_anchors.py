"""Tell the core where its proposals landed, so reactions to them count as votes.

The core asks for a proposal notice; only once the outbox has sent it does its Matrix event
id exist. This plugin watches for it and feeds the core a ``proposal-posted`` tick carrying
the id (stored with the meeting, so a replay knows it too). Proposals still waiting for
their id at start are picked up again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.core.effects import Effect, Notice
from meetbot.core.events import Tick
from meetbot.core.facilitation.proposals import Proposal, anchor_timer
from meetbot.matrix.content import txn_id_for
from meetbot.runtime.running import RunningBot

log = logging.getLogger(__name__)
POLL_S = 0.1
NOTICE_PREFIX = "proposal-notice:"


class ProposalAnchors:
    def __init__(self, app: MeetBotApp, stopped: asyncio.Future[None] | None) -> None:
        self.app = app
        self.stopped = stopped
        self.tasks: set[asyncio.Task[None]] = set()

    def watch(self, room_id: str, token: str) -> None:
        task = asyncio.create_task(self._anchor(room_id, token), name=f"anchor-{token}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _anchor(self, room_id: str, token: str) -> None:
        txn = txn_id_for(f"{NOTICE_PREFIX}{token}")
        while self.stopped is None or not self.stopped.done():
            state = await self.app.store.outbox_state(txn)
            if state is not None and state[0] == "failed":
                log.warning("proposal %s was never posted; reactions cannot vote on it", token)
                return
            event_id = state[1] if state else None
            if event_id:
                timer = anchor_timer(token, event_id)
                tick = Tick(event_id=f"tick:{timer}", room_id=room_id,
                            sender=self.app.bot_user_id, at=datetime.now(timezone.utc),
                            timer=timer)
                try:
                    await self.app.ingest(tick)
                except Exception:
                    log.exception("could not anchor proposal %s", token)
                return
            await asyncio.sleep(POLL_S)

    async def on_notice(self, effect: Effect) -> None:
        if isinstance(effect, Notice) and effect.key.startswith(NOTICE_PREFIX):
            self.watch(effect.room_id, effect.key[len(NOTICE_PREFIX):])

    def resume(self) -> None:
        for room_id, state in self.app.states.items():
            meeting = state.meeting
            proposals: list[Proposal] = meeting.proposals if meeting else []
            for proposal in proposals:
                if proposal.is_open and proposal.anchor is None:
                    self.watch(room_id, proposal.token)


async def start_anchors(running: RunningBot) -> None:
    """Watch proposal notices from now on, and those left waiting before."""
    app, bot = running.app, running.bot
    anchors = ProposalAnchors(app, running.sync)
    previous = app.effect_handlers.get(Notice)

    async def handle(effect: Effect) -> None:
        await anchors.on_notice(effect)
        if previous is not None:
            await previous(effect)

    app.effect_handlers[Notice] = handle

    async def when_ready() -> None:
        ready = asyncio.ensure_future(bot.ready.wait())
        waiting: set[asyncio.Future[Any]] = {ready, running.sync}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():
            anchors.resume()
        else:
            ready.cancel()

    task = asyncio.create_task(when_ready(), name="meetbot-proposal-anchors")
    anchors.tasks.add(task)
    task.add_done_callback(anchors.tasks.discard)

