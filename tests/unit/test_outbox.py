"""The outbox sender: order within a room, rooms apart, references between rows, give-ups.

The sender runs over a real SQLite outbox and a fake homeserver that answers as Synapse does
(success, 429, M_FORBIDDEN, M_TOO_LARGE, a refused connection).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import ErrorResponse, JoinError, JoinResponse, RoomRedactResponse, RoomSendResponse

from meetbot.config.schema import load_config
from meetbot.matrix.delivery_policy import Action, Decision, Failure, Reason, backoff, decide
from meetbot.matrix.outbox import OutboxSender, failure_of
from meetbot.runtime.features import open_app

REGION = "!region:example.org"
KICKED = "!kicked:example.org"
COORD = "!coord:example.org"


def error(code: str, status: int | None = None, **extra: Any) -> ErrorResponse:
    response = ErrorResponse(f"{code} from the fake homeserver", code, **extra)
    if status is not None:
        response.transport_response = type("T", (), {"status": status})()
    return response


class FakeHomeserver:
    """Records what the bot sends; answers per room as scripted (default: accepted)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, Any]] = []  # (kind, room, txn, content)
        self.rooms: dict[str, Any] = {}
        self.answers: dict[str, list[Any]] = {}  # room -> answers to give, in turn
        self.joinable: set[str] = set()
        self.joins: list[str] = []

    def _answer(self, room_id: str) -> Any:
        queue = self.answers.get(room_id)
        if queue:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return None

    async def room_send(self, room_id: str, event_type: str, content: Any, **kw: Any) -> Any:
        answer = self._answer(room_id)
        if answer is not None:
            return answer
        self.sent.append(("send", room_id, kw["tx_id"], content))
        return RoomSendResponse(f"$sent-{kw['tx_id']}", room_id)

    async def room_redact(self, room_id: str, event_id: str, reason: Any, **kw: Any) -> Any:
        answer = self._answer(room_id)
        if answer is not None:
            return answer
        self.sent.append(("redact", room_id, kw["tx_id"], event_id))
        return RoomRedactResponse(f"$redaction-{kw['tx_id']}", room_id)

    async def join(self, room_id: str) -> Any:
        self.joins.append(room_id)
        if room_id in self.joinable:
            self.answers.pop(room_id, None)
            return JoinResponse(room_id)
        return JoinError("You are not invited to this room.", "M_FORBIDDEN")


@pytest.fixture
async def app(tmp_path: Path):
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": "@bot:example.org", "password": "x",
        "translation": {"backend": "none"},
        "regions": [{"id": "africa", "name": "Africa", "room": REGION},
                    {"id": "asia", "name": "Asia", "room": KICKED}],
        "coordinator": {"room": COORD, "users": ["@coord:example.org"]},
    }))
    app = await open_app(load_config(path))
    app.bind_region("africa", REGION)
    app.bind_region("asia", KICKED)
    app.coordinator_room = COORD
    yield app
    await app.store.db.close()


async def drain(app: Any, server: FakeHomeserver, *, until: Any = None, seconds: float = 5) -> None:
    """Run the sender until nothing is pending (or ``until()`` holds), then stop it."""
    sender = OutboxSender(app, server)  # type: ignore[arg-type]
    task = asyncio.create_task(sender.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if until is not None and until():
            break
        if until is None and not await app.store.pending_outbox():
            break
        await asyncio.sleep(0.01)
    sender.stop()
    await asyncio.wait_for(task, 2)


async def enqueue(app: Any, *rows: tuple[Any, ...]) -> None:
    async with app.store.db.transaction():
        for row in rows:
            await app.store.enqueue(*row)


# -- the policy, as a table ---------------------------------------------------------------

TABLE = [
    # failure, attempts, rejoined -> action, reason
    (Failure(exception="transport"), 0, False, Action.RETRY, None),
    (Failure(exception="transport"), 50, False, Action.RETRY, None),
    (Failure(exception="timeout"), 3, False, Action.RETRY, None),
    (Failure(errcode="M_LIMIT_EXCEEDED", http_status=429, retry_after_ms=2500), 0, False,
     Action.RATE_LIMITED, None),
    (Failure(http_status=502), 9, False, Action.RETRY, None),
    (Failure(errcode="M_UNKNOWN", http_status=500), 20, False, Action.RETRY, None),
    (Failure(errcode="M_FORBIDDEN", http_status=403), 0, False, Action.REJOIN, None),
    (Failure(errcode="M_FORBIDDEN", http_status=403), 0, True, Action.GIVE_UP, Reason.NOT_IN_ROOM),
    (Failure(errcode="M_TOO_LARGE", http_status=413), 0, False, Action.GIVE_UP, Reason.TOO_LARGE),
    (Failure(errcode="M_NOT_FOUND", http_status=404), 0, False, Action.REJOIN, None),
    (Failure(errcode="M_NOT_FOUND", http_status=404), 0, True, Action.GIVE_UP,
     Reason.UNKNOWN_ROOM),
    (Failure(exception="no_room"), 0, False, Action.REJOIN, None),
    (Failure(exception="no_room"), 0, True, Action.RETRY, None),
    (Failure(exception="no_room"), 7, True, Action.GIVE_UP, Reason.NOT_IN_ROOM),
    (Failure(exception="encryption"), 0, False, Action.RETRY, None),
    (Failure(exception="encryption"), 7, False, Action.GIVE_UP, Reason.ENCRYPTION),
    (Failure(errcode="M_UNKNOWN_TOKEN", http_status=401), 100, False, Action.RETRY, None),
    (Failure(errcode="M_BAD_JSON", http_status=400), 0, False, Action.RETRY, None),
    (Failure(errcode="M_BAD_JSON", http_status=400), 7, False, Action.GIVE_UP, Reason.REJECTED),
]


@pytest.mark.parametrize(("failure", "attempts", "rejoined", "action", "reason"), TABLE)
def test_the_delivery_policy(failure, attempts, rejoined, action, reason) -> None:
    decision = decide(failure, attempts, rejoined=rejoined)
    assert (decision.action, decision.reason) == (action, reason)


def test_back_off_doubles_and_is_capped() -> None:
    assert [backoff(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert decide(Failure(errcode="M_LIMIT_EXCEEDED", retry_after_ms=2500), 0) == Decision(
        Action.RATE_LIMITED, 2.5
    )


def test_failures_are_read_from_what_nio_returns_or_raises() -> None:
    assert failure_of(exc=ConnectionRefusedError()) == Failure(exception="transport")
    assert failure_of(exc=asyncio.TimeoutError()) == Failure(exception="timeout")
    assert failure_of(error("M_FORBIDDEN", 403)) == Failure(errcode="M_FORBIDDEN", http_status=403)


# -- the sender ---------------------------------------------------------------------------


async def test_a_row_waiting_for_a_later_row_does_not_block_the_others(app) -> None:
    # The redaction of a translation notice is queued before the notice itself.
    await enqueue(
        app,
        (REGION, "retract", {"redacts": "txn:notice"}, "m.room.redaction"),
        (REGION, "notice", {"body": "translation"}),
        (COORD, "answer", {"body": "another room's answer"}),
    )
    server = FakeHomeserver()
    await drain(app, server)
    # Rooms send side by side: order holds within each room.
    assert [(kind, txn) for kind, room, txn, _ in server.sent if room == REGION] == [
        ("send", "notice"), ("redact", "retract"),
    ]
    assert [txn for _kind, room, txn, _ in server.sent if room == COORD] == ["answer"]
    redaction = next(sent for sent in server.sent if sent[0] == "redact")
    assert redaction[3] == "$sent-notice", "the redaction points at the notice as sent"


class SlowRoom(FakeHomeserver):
    """Every send to REGION takes a while (a busy room, a slow server for it)."""

    async def room_send(self, room_id: str, event_type: str, content: Any, **kw: Any) -> Any:
        if room_id == REGION:
            await asyncio.sleep(0.05)
        return await super().room_send(room_id, event_type, content, **kw)


async def test_a_room_with_a_long_queue_does_not_hold_up_another_rooms_answer(app) -> None:
    await enqueue(app, *[(REGION, f"busy{n}", {"body": f"translation {n}"}) for n in range(10)])
    await enqueue(app, (COORD, "answer", {"body": "another room's answer"}))
    server = SlowRoom()
    await drain(app, server)
    order = [txn for _kind, _room, txn, _ in server.sent]
    assert order.index("answer") < 2, order
    assert [t for t in order if t != "answer"] == [f"busy{n}" for n in range(10)]


async def test_a_row_pointing_at_nothing_is_dropped_not_retried(app) -> None:
    await enqueue(
        app,
        (REGION, "edit", {"m.relates_to": {"event_id": "txn:never"}}),
        (REGION, "after", {"body": "next"}),
    )
    server = FakeHomeserver()
    await drain(app, server)
    assert [txn for _, _, txn, _ in server.sent] == ["after"]
    assert await app.store.outbox_state("edit") == ("failed", None)


async def test_a_room_that_fails_delays_only_itself(app) -> None:
    server = FakeHomeserver()
    server.answers[KICKED] = [ConnectionResetError("the room's server is away")]
    await enqueue(app, (KICKED, "k1", {"body": "first for the failing room"}))
    await enqueue(app, *[(REGION, f"r{n}", {"body": f"answer {n}"}) for n in range(30)])
    await drain(app, server, until=lambda: len(server.sent) == 30)
    assert [txn for _, _, txn, _ in server.sent] == [f"r{n}" for n in range(30)]
    assert await app.store.outbox_state("k1") == ("pending", None), "kept, to be sent later"


async def test_order_is_kept_within_a_room_across_retries(app) -> None:
    server = FakeHomeserver()
    server.answers[REGION] = [error("M_UNKNOWN", 502), None]
    await enqueue(app, *[(REGION, f"r{n}", {"body": str(n)}) for n in range(5)])
    await drain(app, server, seconds=10)
    assert [txn for _, _, txn, _ in server.sent] == [f"r{n}" for n in range(5)]


async def test_a_rate_limit_waits_as_told_then_sends_everything_once(app) -> None:
    server = FakeHomeserver()
    server.answers[REGION] = [error("M_LIMIT_EXCEEDED", 429, retry_after_ms=200), None]
    await enqueue(app, *[(REGION, f"r{n}", {"body": str(n)}) for n in range(3)])
    await drain(app, server)
    assert [txn for _, _, txn, _ in server.sent] == ["r0", "r1", "r2"]


async def test_kicked_from_a_room_the_bot_tries_to_join_then_tells_the_coordinator_once(
    app,
) -> None:
    server = FakeHomeserver()
    server.answers[KICKED] = [error("M_FORBIDDEN", 403)]
    await enqueue(app, *[(KICKED, f"k{n}", {"body": f"lost {n}"}) for n in range(3)])
    await enqueue(app, (REGION, "fine", {"body": "still delivered"}))
    await drain(app, server)
    assert KICKED in server.joins, "it tried to join again first"
    failed = await app.store.failed_outbox(KICKED)
    assert [txn for _, txn, _ in failed] == ["k0", "k1", "k2"], "every give-up is kept"
    told = [c for kind, room, _, c in server.sent if room == COORD]
    assert len(told) == 1, "told once, not once per message"
    assert "Asia" in told[0]["body"] and "not in that room" in told[0]["body"]
    assert KICKED in app.unreachable_rooms
    assert any(room == REGION for _, room, _, _ in server.sent)


async def test_a_room_that_lets_the_bot_back_in_gets_its_messages(app) -> None:
    server = FakeHomeserver()
    server.answers[KICKED] = [error("M_FORBIDDEN", 403)]
    server.joinable.add(KICKED)
    await enqueue(app, (KICKED, "k0", {"body": "after the rejoin"}))
    await drain(app, server)
    assert [txn for _, room, txn, _ in server.sent if room == KICKED] == ["k0"]
    assert not await app.store.failed_outbox()


async def test_a_message_too_large_is_given_up_and_told_in_its_own_room(app) -> None:
    server = FakeHomeserver()
    server.answers[REGION] = [error("M_TOO_LARGE", 413), None]
    await enqueue(app, (REGION, "huge", {"body": "x" * 10}), (REGION, "next", {"body": "ok"}))
    await drain(app, server)
    assert await app.store.outbox_state("huge") == ("failed", None)
    bodies = [c["body"] for _, room, _, c in server.sent if room == REGION]
    assert bodies[0] == "ok"
    assert "could not be sent" in bodies[1] and "too large" in bodies[1]
    assert KICKED not in app.unreachable_rooms and REGION not in app.unreachable_rooms


async def test_stop_interrupts_a_long_back_off_at_once(app) -> None:
    server = FakeHomeserver()
    server.answers[REGION] = [ConnectionRefusedError()]
    await enqueue(app, (REGION, "r", {"body": "waits"}))
    async with app.store.db.transaction():
        await app.store.conn.execute("UPDATE outbox SET attempts = 40")
    sender = OutboxSender(app, server)  # type: ignore[arg-type]
    task = asyncio.create_task(sender.run())
    await asyncio.sleep(0.2)
    sender.stop()
    await asyncio.wait_for(task, 1)


async def test_a_rooms_answer_does_not_queue_behind_its_live_translations(app) -> None:
    async with app.store.db.transaction():
        for n in range(10):
            await app.store.enqueue(REGION, f"tr{n}", {"body": f"[es] {n}"}, background=True)
        await app.store.enqueue(REGION, "answer", {"body": "!status answered"})
    server = SlowRoom()
    await drain(app, server)
    order = [txn for _kind, _room, txn, _ in server.sent]
    assert order.index("answer") < 2, order
    assert [t for t in order if t != "answer"] == [f"tr{n}" for n in range(10)]
