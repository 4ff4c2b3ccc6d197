"""What the bot missed while away: the gap a limited sync leaves, and the catch-up window.

After an outage (or in a busy room) a sync comes back ``limited``: its timeline holds only
the newest events and ``prev_batch`` points before them. :class:`GapPager` pages back from
there with ``/messages`` until it reaches what the bot already knows.

:class:`CatchUp` is the catch-up window: a missed event sent at most ``catch_up_window``
before the bot started is answered (and translated) as if it were live; an older one is
recorded only. After downtime it tells a room with a running meeting how many messages came
in meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from nio import AsyncClient, MegolmEvent, MessageDirection, RoomMessage, RoomMessagesResponse

from meetbot.app import MeetBotApp
from meetbot.core.durations import format_duration
from meetbot.core.effects import Notice
from meetbot.i18n import Msg, ngettext
from meetbot.storage.store import Store

log = logging.getLogger(__name__)

MAX_GAP_PAGES = 100
MAX_GAP_EVENTS = 10_000
# Events asked for per page: Synapse gives up to 1,000 at once, and fewer, larger pages catch
# up faster than many small ones (a server that gives fewer is paged further).
PAGE_LIMIT = 1000
# Server clocks differ: paging goes on a minute past the last sync handled.
CLOCK_SLACK_MS = 60_000


class GapPager:
    """Pages back through a room's history for the events a limited sync left out."""

    def __init__(self, client: AsyncClient, store: Store) -> None:
        self.client = client
        self.store = store

    async def missed(self, room_id: str, prev_batch: str, since_ms: int) -> list[Any]:
        """Events a limited sync left out, oldest first (paged back with /messages).

        Paging stops at an event already in the record, at one sent more than a minute
        before ``since_ms`` (the newest server time handled before), at the start of the
        room, at an error or an empty page, and after ``MAX_GAP_PAGES`` pages or
        ``MAX_GAP_EVENTS`` events. What was collected until then is returned; the event it
        stopped at is not.
        """
        collected: list[Any] = []
        start = prev_batch
        for _page in range(MAX_GAP_PAGES):
            try:
                response = await self.client.room_messages(
                    room_id, start=start, direction=MessageDirection.back, limit=PAGE_LIMIT
                )
            except Exception:  # a dropped connection must not stop the sync loop
                log.warning("paging the gap in %s failed; keeping what came", room_id,
                            exc_info=True)
                break
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            reached_known = False
            known = await self.store.known_events([e.event_id for e in response.chunk])
            for event in response.chunk:
                ts = getattr(event, "server_timestamp", 0) or 0
                if (ts and ts < since_ms - CLOCK_SLACK_MS) or event.event_id in known:
                    reached_known = True
                    break
                collected.append(event)
                if len(collected) >= MAX_GAP_EVENTS:
                    reached_known = True
                    break
            if reached_known or not response.end:
                break
            start = response.end
        collected.reverse()
        if collected:
            log.info("paged %d missed events in %s", len(collected), room_id)
        return collected


class CatchUp:
    """Which missed events are still answered, and the notice after downtime."""

    def __init__(self, app: MeetBotApp, client: AsyncClient, started_at_ms: int) -> None:
        self.app = app
        self.client = client
        self.config = app.config
        self.started_at_ms = started_at_ms

    def answered_from_ms(self) -> int:
        """Events sent after this (server time, ms) are answered when the bot comes back."""
        window = self.config.catch_up_window.total_seconds()
        return self.started_at_ms - int(window * 1000)

    def is_live(self, sent_at_ms: int, *, history: bool) -> bool:
        """Whether an event is answered: always if it came live, if missed only when it is
        recent enough."""
        return not history or sent_at_ms >= self.answered_from_ms()

    async def tell_caught_up(self, room_id: str, events: list[Any], since: str) -> None:
        """After downtime, one notice in a room with a running meeting: how many messages
        came in while the bot was away (its key makes it once-only across crashes)."""
        if self.app.meeting_in(room_id) is None or room_id in self.app.direct_rooms:
            return
        missed = [
            e for e in events
            if isinstance(e, (RoomMessage, MegolmEvent))
            and e.sender != self.client.user_id
            and (getattr(e, "server_timestamp", 0) or 0) < self.started_at_ms
        ]
        if not missed:
            return
        answered_from = self.answered_from_ms()
        older = sum(1 for e in missed if e.server_timestamp < answered_from)
        lines: list[Msg] = [ngettext(
            "I was away for a moment. {count} message came in meanwhile; I have caught up "
            "with it.", "I was away for a moment. {count} messages came in meanwhile; I have "
            "caught up with them.", len(missed))]
        if older:
            lines.append(ngettext(
                "{count} of them was older than {window}: it is in the record, but I did not "
                "answer or translate it.", "{count} of them were older than {window}: they are "
                "in the record, but I did not answer or translate them.", older,
                window=format_duration(self.config.catch_up_window)))
        await self.app.post_notice(
            Notice(
                room_id=room_id,
                lines=tuple(lines),
                languages=self.app.settings_for(room_id).languages,
                kind="announce",
                key=f"caught-up:{room_id}:{since}",
            )
        )
