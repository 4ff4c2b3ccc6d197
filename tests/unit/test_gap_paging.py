"""Gap paging: what a limited sync left out is fetched, and the catch-up window decides what
of it is answered.

After an outage (or in a busy room) a sync comes back ``limited``: it holds only a room's
newest events, and ``prev_batch`` points before them. The bot pages back with /messages until
it reaches what it already knows, then handles the missed events oldest first, before the
sync's own. Missed events older than ``catch_up_window`` (before the bot started) are
recorded but not answered.

The homeserver here is a fake of nio's ``room_messages`` over a room's history, paging it as
Synapse does (newest first, ``end`` to continue from, no ``end`` at the start of the room);
the store and the app are real, over a temporary database. Paging against a real Synapse is
exercised in tests/integration and tests/faults.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import (
    MatrixRoom,
    MessageDirection,
    RoomMessagesError,
    RoomMessagesResponse,
    SyncResponse,
)

from meetbot.app import MeetBotApp, Pending
from meetbot.config.schema import load_config
from meetbot.matrix import gaps
from meetbot.matrix.bot import LAST_SYNC_KEY, MatrixBot
from meetbot.matrix.gaps import MAX_GAP_PAGES, GapPager
from meetbot.runtime.features import open_app

ROOM = "!plenary:example.org"
BOT = "@meetbot:example.org"
ANA = "@ana:example.org"  # facilitator
BEN = "@ben:example.org"
MINUTE_MS = 60_000


# -- a room's history, as the homeserver pages it -----------------------------------------


def said(event_id: str, body: str, *, at_ms: int, sender: str = BEN) -> dict[str, Any]:
    """A text message as /sync and /messages return it."""
    return {
        "type": "m.room.message",
        "event_id": event_id,
        "sender": sender,
        "origin_server_ts": at_ms,
        "content": {"msgtype": "m.text", "body": body},
    }


def chatter(count: int, *, from_ms: int) -> list[dict[str, Any]]:
    """``count`` messages a second apart: ``$e1``, ``$e2``…"""
    return [
        said(f"$e{n}", f"message {n}", at_ms=from_ms + (n - 1) * 1000)
        for n in range(1, count + 1)
    ]


T0 = 1_700_000_000_000  # server time of the first message in the pager's tests


def sync_of(
    events: list[dict[str, Any]], *, limited: bool = False, prev_batch: str | None = None
) -> SyncResponse:
    """A sync whose timeline in the room holds ``events``."""
    timeline: dict[str, Any] = {"events": events, "limited": limited}
    if prev_batch is not None:
        timeline["prev_batch"] = prev_batch
    response = SyncResponse.from_dict(
        {"next_batch": "s2", "rooms": {"join": {ROOM: {"timeline": timeline}}}}
    )
    assert isinstance(response, SyncResponse)
    return response


class FakeHomeserver:
    """One room's history (oldest first) behind nio's ``room_messages``.

    A pagination token ``t<n>`` stands before the n-th event. A page holds at most
    ``page_size`` events (fewer than the bot's limit: servers may send fewer), newest first.
    ``errors`` scripts an error answer to the request of that number (1 for the first).
    """

    user_id = BOT

    def __init__(self, history: list[dict[str, Any]], *, page_size: int = 100) -> None:
        self.history = history
        self.page_size = page_size
        self.rooms = {ROOM: MatrixRoom(ROOM, BOT)}
        self.requests: list[str] = []  # the token each request started from
        self.errors: dict[int, RoomMessagesError | Exception] = {}

    def token_before(self, event_id: str) -> str:
        return f"t{[e['event_id'] for e in self.history].index(event_id)}"

    async def room_messages(
        self,
        room_id: str,
        start: str | None = None,
        end: str | None = None,
        direction: MessageDirection = MessageDirection.back,
        limit: int = 10,
        message_filter: Any = None,
    ) -> RoomMessagesResponse | RoomMessagesError:
        assert room_id == ROOM and direction == MessageDirection.back and start is not None
        self.requests.append(start)
        error = self.errors.get(len(self.requests))
        if isinstance(error, Exception):
            raise error
        if error is not None:
            return error
        before = int(start[1:])
        first = max(0, before - min(limit, self.page_size))
        page: dict[str, Any] = {"chunk": self.history[first:before][::-1], "start": start}
        if first > 0:
            page["end"] = f"t{first}"
        return RoomMessagesResponse.from_dict(page, room_id)

    def sync(self, newest: int, *, limited: bool) -> SyncResponse:
        """A sync whose timeline holds the room's ``newest`` events."""
        timeline = self.history[-newest:]
        return sync_of(
            timeline, limited=limited, prev_batch=self.token_before(timeline[0]["event_id"])
        )


def server_error() -> RoomMessagesError:
    return RoomMessagesError("Internal server error", "M_UNKNOWN")


# -- the app, the bot and what they did ------------------------------------------------------


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[MeetBotApp]:
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x",
        "facilitators": [ANA], "translation": {"backend": "none"},
        "catch_up_window": "10m",
    }))
    app = await open_app(load_config(path))
    yield app
    await app.store.db.close()


def bot_over(app: MeetBotApp, homeserver: FakeHomeserver) -> tuple[MatrixBot, list[str]]:
    """The bot on the fake homeserver, and the ids of the events it hands to the app with
    ``live`` (answered) or not: ``"$e3 live"``, ``"$e1 history"``."""
    bot = MatrixBot(app, homeserver)  # type: ignore[arg-type]
    handled: list[str] = []
    ingest_many = app.ingest_many

    def spying(pending: Pending) -> Pending:
        def make() -> Any:
            event = pending.make()
            if event is not None:
                handled.append(f"{event.event_id} {'live' if event.live else 'history'}")
            return event

        return Pending(pending.event_id, make)

    async def spy(incoming: Any, *args: Any) -> Any:
        return await ingest_many([spying(p) for p in incoming], *args)

    app.ingest_many = spy  # type: ignore[method-assign]
    return bot, handled


async def record(app: MeetBotApp, homeserver: FakeHomeserver, *event_ids: str) -> None:
    """An earlier sync handled these events: they are in the record."""
    earlier = MatrixBot(app, homeserver)  # type: ignore[arg-type]
    events = [e for e in homeserver.history if e["event_id"] in event_ids]
    await earlier.handle_sync(sync_of(events), catch_up=False)


def ids(events: list[Any]) -> list[str]:
    return [e.event_id for e in events]


async def answered(app: MeetBotApp) -> set[str]:
    """The events the bot replied to (its replies wait in the outbox)."""
    replies = set()
    for row in await app.store.pending_outbox(limit=1000):
        relates = row.content.get("m.relates_to") or {}
        target = (relates.get("m.in_reply_to") or {}).get("event_id")
        if target:
            replies.add(target)
    return replies


async def notices(app: MeetBotApp) -> list[str]:
    return [str(row.content.get("body", "")) for row in await app.store.pending_outbox(limit=1000)]


# -- the pager -------------------------------------------------------------------------------


async def test_paging_stops_at_the_event_already_in_the_record(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(10, from_ms=T0))
    await record(app, homeserver, "$e1", "$e2", "$e3", "$e4")

    # The sync holds $e9 and $e10; $e5 to $e8 came while the bot was away.
    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e9"), 0)

    assert ids(missed) == ["$e5", "$e6", "$e7", "$e8"]
    assert homeserver.requests == ["t8"]


async def test_a_long_gap_is_paged_over_several_pages_and_returned_oldest_first(
    app: MeetBotApp,
) -> None:
    homeserver = FakeHomeserver(chatter(12, from_ms=T0), page_size=3)
    await record(app, homeserver, "$e1")

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e12"), 0)

    assert ids(missed) == [f"$e{n}" for n in range(2, 12)]
    # Each page continues from the previous one's ``end``: $e9-$e11, $e6-$e8, $e3-$e5, $e1-$e2.
    assert homeserver.requests == ["t11", "t8", "t5", "t2"]


async def test_paging_stops_at_the_start_of_the_room(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(5, from_ms=T0), page_size=2)

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e5"), 0)

    assert ids(missed) == ["$e1", "$e2", "$e3", "$e4"]
    assert homeserver.requests == ["t4", "t2"]  # the second page has no ``end``


async def test_paging_goes_back_to_a_minute_before_the_last_sync_and_no_further(
    app: MeetBotApp,
) -> None:
    # Nothing is in the record (the database was replaced, say); the last sync handled
    # server time T0 + 10 min. Server clocks differ: a minute before that still counts.
    last_sync = T0 + 10 * MINUTE_MS
    history = [
        said("$long-before", "before the last sync", at_ms=last_sync - 5 * MINUTE_MS),
        said("$just-before", "within the minute", at_ms=last_sync - 30_000),
        said("$missed", "while away", at_ms=last_sync + 5 * MINUTE_MS),
        said("$in-sync", "the sync's own", at_ms=last_sync + 6 * MINUTE_MS),
    ]
    homeserver = FakeHomeserver(history)

    missed = await GapPager(homeserver, app.store).missed(
        ROOM, homeserver.token_before("$in-sync"), last_sync
    )

    assert ids(missed) == ["$just-before", "$missed"]


async def test_an_error_mid_paging_keeps_the_pages_already_fetched(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(10, from_ms=T0), page_size=3)
    homeserver.errors[2] = server_error()

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e10"), 0)

    # The first page ($e7-$e9) is kept; what lies behind the error is not asked again.
    assert ids(missed) == ["$e7", "$e8", "$e9"]
    assert homeserver.requests == ["t9", "t6"]


async def test_a_connection_dropped_mid_paging_keeps_the_pages_already_fetched(
    app: MeetBotApp,
) -> None:
    homeserver = FakeHomeserver(chatter(10, from_ms=T0), page_size=3)
    homeserver.errors[2] = ConnectionResetError("the homeserver went away")

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e10"), 0)

    assert ids(missed) == ["$e7", "$e8", "$e9"]


async def test_an_error_on_the_first_page_pages_nothing(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(4, from_ms=T0))
    homeserver.errors[1] = server_error()

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e4"), 0)

    assert missed == []
    assert homeserver.requests == ["t3"]


async def test_paging_gives_up_after_a_bounded_number_of_pages(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(MAX_GAP_PAGES + 20, from_ms=T0), page_size=1)
    newest = f"$e{MAX_GAP_PAGES + 20}"

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before(newest), 0)

    # The newest MAX_GAP_PAGES missed events, oldest first; $e1-$e19 are left out.
    assert len(homeserver.requests) == MAX_GAP_PAGES
    assert ids(missed) == [f"$e{n}" for n in range(20, MAX_GAP_PAGES + 20)]


async def test_paging_keeps_at_most_a_bounded_number_of_the_newest_events(
    app: MeetBotApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gaps, "MAX_GAP_EVENTS", 25)
    homeserver = FakeHomeserver(chatter(60, from_ms=T0), page_size=10)

    missed = await GapPager(homeserver, app.store).missed(ROOM, homeserver.token_before("$e60"), 0)

    # Pages of 10 back from $e59: the newest 25 missed events, oldest first, in 3 pages.
    assert ids(missed) == [f"$e{n}" for n in range(35, 60)]
    assert len(homeserver.requests) == 3


# -- the bot: a limited sync, and the catch-up window ---------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_a_sync_that_is_not_limited_pages_nothing(app: MeetBotApp) -> None:
    homeserver = FakeHomeserver(chatter(3, from_ms=T0))
    bot, handled = bot_over(app, homeserver)

    await bot.handle_sync(homeserver.sync(2, limited=False), catch_up=False)

    assert homeserver.requests == []
    assert handled == ["$e2 live", "$e3 live"]


async def test_the_gap_is_handled_oldest_first_before_the_syncs_own_events(
    app: MeetBotApp,
) -> None:
    # Running for an hour, the bot lost its connection; the sync that came back is limited.
    homeserver = FakeHomeserver(chatter(7, from_ms=now_ms() + 60 * MINUTE_MS), page_size=2)
    await record(app, homeserver, "$e1")
    bot, handled = bot_over(app, homeserver)

    await bot.handle_sync(homeserver.sync(2, limited=True), catch_up=False)

    # Sent after the bot started, the missed messages are answered like live ones.
    assert handled == ["$e2 live", "$e3 live", "$e4 live", "$e5 live", "$e6 live", "$e7 live"]
    assert homeserver.requests == ["t5", "t3", "t1"]


async def test_after_downtime_missed_messages_older_than_the_window_are_recorded_not_answered(
    app: MeetBotApp,
) -> None:
    start = now_ms()  # the bot (re)starts now; its catch-up window is 10 minutes
    homeserver = FakeHomeserver([
        said("$before-outage", "good morning", at_ms=start - 60 * MINUTE_MS),
        said("$half-hour-ago", "!help", at_ms=start - 30 * MINUTE_MS),
        said("$five-minutes-ago", "!help", at_ms=start - 5 * MINUTE_MS),
        said("$a-minute-ago", "!help", at_ms=start - 1 * MINUTE_MS),
    ])
    await record(app, homeserver, "$before-outage")
    await app.store.set_value(LAST_SYNC_KEY, str(start - 60 * MINUTE_MS))
    bot, handled = bot_over(app, homeserver)

    # The first sync after the restart (catch_up) holds the newest message; the rest is paged.
    await bot.handle_sync(homeserver.sync(1, limited=True), catch_up=True, since="s1")

    assert handled == [
        "$half-hour-ago history",
        "$five-minutes-ago live",
        "$a-minute-ago live",
    ]
    for event_id in ("$half-hour-ago", "$five-minutes-ago", "$a-minute-ago"):
        assert await app.store.has_event(event_id)
    assert await answered(app) == {"$five-minutes-ago", "$a-minute-ago"}


async def test_a_running_meeting_is_told_what_came_in_while_the_bot_was_away(
    app: MeetBotApp,
) -> None:
    start = now_ms()
    homeserver = FakeHomeserver([
        said("$start", "!startmeeting", at_ms=start - 90 * MINUTE_MS, sender=ANA),
        said("$half-hour-ago", "an idea", at_ms=start - 30 * MINUTE_MS),
        said("$twenty-minutes-ago", "another", at_ms=start - 20 * MINUTE_MS),
        said("$two-minutes-ago", "and one more", at_ms=start - 2 * MINUTE_MS),
    ])
    await record(app, homeserver, "$start")
    await app.store.set_value(LAST_SYNC_KEY, str(start - 90 * MINUTE_MS))
    bot, _handled = bot_over(app, homeserver)

    await bot.handle_sync(homeserver.sync(1, limited=True), catch_up=True, since="s1")

    told = [n for n in await notices(app) if "I was away" in n]
    assert len(told) == 1
    assert "3 messages came in meanwhile" in told[0]
    assert "2 of them were older than 10m" in told[0]


async def test_an_error_mid_paging_still_handles_what_was_fetched_and_the_sync(
    app: MeetBotApp,
) -> None:
    homeserver = FakeHomeserver(chatter(8, from_ms=now_ms() + MINUTE_MS), page_size=2)
    homeserver.errors[2] = server_error()
    bot, handled = bot_over(app, homeserver)

    await bot.handle_sync(homeserver.sync(2, limited=True), catch_up=False)

    # $e1-$e4, behind the error, are never handled; the sync goes on with what it has.
    assert handled == ["$e5 live", "$e6 live", "$e7 live", "$e8 live"]
    assert homeserver.requests == ["t6", "t4"]


async def test_one_sync_of_several_rooms_is_recorded_in_one_ingest(app: MeetBotApp) -> None:
    """A command in the last of several busy rooms waits for no other room's transaction."""
    other = "!other:example.org"
    homeserver = FakeHomeserver([])
    homeserver.rooms[other] = MatrixRoom(other, BOT)
    bot, handled = bot_over(app, homeserver)
    calls: list[list[str]] = []
    spy = app.ingest_many

    async def counting(incoming: Any, *args: Any) -> Any:
        calls.append([p.event_id for p in incoming])
        return await spy(incoming, *args)

    app.ingest_many = counting  # type: ignore[method-assign]
    now = int(time.time() * 1000)
    response = SyncResponse.from_dict({"next_batch": "s2", "rooms": {"join": {
        ROOM: {"timeline": {"events": [said("$a1", "one", at_ms=now), said("$a2", "two",
                                                                             at_ms=now + 1)]}},
        other: {"timeline": {"events": [said("$b1", "!here", at_ms=now + 2, sender=ANA)]}},
    }}})
    assert isinstance(response, SyncResponse)
    await bot.handle_sync(response, catch_up=False)
    assert calls == [["$a1", "$a2", "$b1"]]
    assert handled == ["$a1 live", "$a2 live", "$b1 live"]
