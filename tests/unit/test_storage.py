"""The database: migrations as data, idempotent events and outbox, scrubbing."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import pytest

from meetbot.core.events import Attachment, Message, Reaction
from meetbot.runtime.features import features
from meetbot.storage.codec import decode_event, encode_event, encode_event_at
from meetbot.storage.database import Database, DatabaseTooNew
from meetbot.storage.json_text import read_json
from meetbot.storage.migrations import MIGRATIONS
from meetbot.storage.store import Store

AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)


async def open_store(tmp_path: Path) -> Store:
    return Store(await Database.open(tmp_path / "db.sqlite3"))


async def test_migrations_run_once_and_a_newer_database_is_refused(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await store.db.close()
    store = await open_store(tmp_path)  # second open: nothing to do
    await store.db.close()
    con = sqlite3.connect(tmp_path / "db.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    newest = max(m.version for m in MIGRATIONS)
    con.execute("INSERT INTO schema_version VALUES (?, 'from the future', 'now')", (newest + 1,))
    con.commit()
    con.close()
    with pytest.raises(DatabaseTooNew, match="newer than this meetbot"):
        await Database.open(tmp_path / "db.sqlite3")


def test_events_round_trip_through_json() -> None:
    message = Message("$1", "!r", "@a:x", AT, body="héllo <b>", mentions=("@b:x",), live=False)
    assert decode_event(*encode_event(message)) == message
    reaction = Reaction("$2", "!r", "@a:x", AT, target="$1", key="✅")
    assert decode_event(*encode_event(reaction)) == reaction


def test_a_stored_payload_is_the_events_fields_as_compact_json() -> None:
    """What the json module wrote before, without the spaces (both read the same), also for
    an instance carrying an attribute of its own; what orjson cannot write, the json module
    does (an int beyond 64 bits from a client's file size)."""
    attachment = Attachment("m.image", "a \"b\".png", "mxc://x/y", "image/png", 12, True)
    message = Message("$1", "!r", "@a:x", AT, body="héllo\n<b> \u2028 😀\x01\x7f",
                      mentions=("@b:x",), reply_to="$0", sender_power=50,
                      attachment=attachment, live=False)
    plain = {f.name: getattr(message, f.name) for f in fields(message)}
    plain["at"] = AT.isoformat()
    plain["attachment"] = {f.name: getattr(attachment, f.name) for f in fields(attachment)}
    compact = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    assert encode_event(message) == ("Message", compact)
    assert encode_event_at(message) == ("Message", compact, AT.isoformat())
    odd = Reaction("$2", "!r", "@a:x", AT, target="$1", key="✅")
    object.__setattr__(odd, "extra", 1)
    assert json.loads(encode_event(odd)[1]) == {
        "event_id": "$2", "room_id": "!r", "sender": "@a:x", "at": AT.isoformat(),
        "live": True, "target": "$1", "key": "✅"}
    huge = Message("$3", "!r", "@a:x", AT, body="big", attachment=Attachment(
        "m.file", "f", "mxc://x/z", size=10**30))
    assert decode_event(*encode_event(huge)) == huge


def test_payloads_read_back_as_the_json_module_reads_them() -> None:
    """Compact payloads (orjson's) are read by orjson; what it would read otherwise (a lone
    surrogate's escape, an int beyond 64 bits: a float to orjson) the encoder writes with the
    json module, spaced, as older versions wrote every payload, and the json module reads."""
    huge = Message("$3", "!r", "@a:x", AT, body="\ud800", attachment=Attachment(
        "m.file", "f", "mxc://x/z", size=10**30))
    for payload in (
        '{"a": "\\ud800 x", "b": [1, 2]}',
        '{"size": 123456789012345678901234567890, "big": -18446744073709551616}',
        '{"body":"call 1234567890123456789 now","n":1.5,"m":null}',
        '{"event_id":"$1","body":"h\\u00e9llo \\u2028 \\": x"}',
        encode_event(huge)[1],
    ):
        assert read_json(payload) == json.loads(payload)
        assert type(read_json(payload).get("size")) is type(json.loads(payload).get("size"))


async def test_outside_meetings_only_the_event_id_is_kept(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    async with store.db.transaction():
        await store.add_event(Message("$1", "!r", "@a:x", AT, body="private chat"), None)
    assert await store.has_event("$1")
    async with store.conn.execute("SELECT sender, payload FROM events") as cur:
        assert tuple(await cur.fetchone()) == (None, None)
    await store.db.close()


async def test_the_outbox_never_holds_a_message_twice(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    async with store.db.transaction():
        await store.enqueue("!r", "txn-1", {"body": "a"})
        await store.enqueue("!r", "txn-1", {"body": "a again"})
        await store.enqueue("!r", "txn-2", {"body": "b"})
    pending = await store.pending_outbox()
    assert [m.content["body"] for m in pending] == ["a", "b"]
    async with store.db.transaction():
        await store.mark_sent(pending[0].id, "$sent")
    assert [m.txn_id for m in await store.pending_outbox()] == ["txn-2"]
    assert await store.sent_event_id("txn-1") == "$sent"
    await store.db.close()


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    with pytest.raises(RuntimeError):
        async with store.db.transaction():
            await store.add_event(Message("$1", "!r", "@a:x", AT, body="x"), "m1")
            raise RuntimeError("crash in the middle")
    assert not await store.has_event("$1")
    await store.db.close()


async def test_keys_with_a_value(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    async with store.db.transaction():
        await store.set_value("translation-off:!a:x", "off")
        await store.set_value("translation-off:!b:x", "on")
        await store.set_value("other:!c:x", "off")
    assert await store.keys_with_value("translation-off:", "off") == {"!a:x"}
    await store.db.close()


async def test_scrubbing_removes_text_but_keeps_the_place(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    async with store.db.transaction():
        await store.add_event(Message("$1", "!r", "@a:x", AT, body="!idea secret plan"), "m1")
        await store.save_translations("$1", "en", {"es": "plan secreto"}, "test")
        await store.scrub_events(
            ["$1"], created_items={"$1"}, prefix="!", commands=features().commands
        )
    (event,) = await store.meeting_events("m1")
    assert isinstance(event, Message)
    assert (event.body, event.withdrawn, event.created_item) == ("", True, True)
    texts, _ = await store.translations_for(["$1"])
    assert texts == {}
    async with store.conn.execute("SELECT payload FROM events") as cur:
        assert "secret" not in json.dumps([tuple(r) for r in await cur.fetchall()])
    await store.db.close()


async def test_encrypted_events_waiting_for_keys_survive_a_restart(tmp_path: Path) -> None:
    from nio import MegolmEvent

    source = {
        "type": "m.room.encrypted", "event_id": "$secret", "sender": "@a:x",
        "origin_server_ts": 1_800_000_000_000, "room_id": "!r:x",
        "content": {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEi...",
                    "sender_key": "curve", "session_id": "session", "device_id": "DEV"},
    }
    store = await open_store(tmp_path)
    async with store.db.transaction():
        await store.keep_undecrypted("$secret", "!r:x", source, 1_800_000_000.0)
        await store.keep_undecrypted("$secret", "!r:x", source, 1_800_000_001.0)  # once
    await store.db.close()

    store = await open_store(tmp_path)
    (room_id, kept, first_seen), = await store.undecrypted()
    event = MegolmEvent.from_dict(kept)
    assert isinstance(event, MegolmEvent) and event.event_id == "$secret"
    assert (room_id, first_seen) == ("!r:x", 1_800_000_000.0)
    async with store.db.transaction():
        await store.forget_undecrypted("$secret")
    assert await store.undecrypted() == []
    await store.db.close()
