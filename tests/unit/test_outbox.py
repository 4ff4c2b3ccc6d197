"""The outbox sender: order, references between rows, and rows that can never go."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nio import RoomRedactResponse, RoomSendResponse

from meetbot.matrix.bot import MatrixBot
from meetbot.storage.database import Database
from meetbot.storage.store import Store


class FakeClient:
    """Records what the bot sends; answers like a homeserver would."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.rooms: dict[str, Any] = {}

    async def room_send(self, room_id: str, event_type: str, content: Any, **kw: Any) -> Any:
        self.sent.append(("send", kw["tx_id"], content))
        return RoomSendResponse(f"$sent-{kw['tx_id']}", room_id)

    async def room_redact(self, room_id: str, event_id: str, reason: Any, **kw: Any) -> Any:
        self.sent.append(("redact", kw["tx_id"], event_id))
        return RoomRedactResponse(f"$redaction-{kw['tx_id']}", room_id)


async def run_outbox(store: Store) -> FakeClient:
    client = FakeClient()
    app = SimpleNamespace(store=store, config=None, outbox_ready=asyncio.Event())
    bot = MatrixBot(app, client)  # type: ignore[arg-type]
    task = asyncio.create_task(bot._outbox_loop())
    for _ in range(100):
        if not await store.pending_outbox():
            break
        await asyncio.sleep(0.02)
    bot.stop()
    await task
    return client


async def test_a_row_waiting_for_a_later_row_does_not_block_the_others(tmp_path: Path) -> None:
    store = Store(await Database.open(tmp_path / "db.sqlite3"))
    async with store.db.transaction():
        # The redaction of a translation notice is queued before the notice itself.
        await store.enqueue("!r", "retract", {"redacts": "txn:notice"}, "m.room.redaction")
        await store.enqueue("!r", "notice", {"body": "translation"})
        await store.enqueue("!other", "answer", {"body": "another room's answer"})
    client = await run_outbox(store)
    kinds = [(kind, txn) for kind, txn, _ in client.sent]
    assert kinds == [("send", "notice"), ("send", "answer"), ("redact", "retract")]
    assert client.sent[-1][2] == "$sent-notice", "the redaction points at the notice as sent"
    await store.db.close()


async def test_a_row_pointing_at_nothing_is_dropped_not_retried(tmp_path: Path) -> None:
    store = Store(await Database.open(tmp_path / "db.sqlite3"))
    async with store.db.transaction():
        await store.enqueue("!r", "edit", {"m.relates_to": {"event_id": "txn:never"}})
        await store.enqueue("!r", "after", {"body": "next"})
    client = await run_outbox(store)
    assert [txn for _, txn, _ in client.sent] == ["after"]
    assert await store.outbox_state("edit") == ("failed", None)
    assert await store.outbox_state("after") == ("sent", "$sent-after")
    await store.db.close()
