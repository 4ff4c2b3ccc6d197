"""What Element sends, on a real Synapse: a reply with its legacy fallback, shared files, a
notice from another bot. The minutes keep the reply's relation and the files, never the quote;
the translation is never fed the quote; no bot answers another bot."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from components import require_component
from matrix_helpers import element_reply
from nio import RoomMessageNotice, UploadResponse

pytestmark = pytest.mark.integration

# A word no dictionary knows passes through translation as it is: if the quote were fed to
# the translator, it would show in the translation.
QUOTED = "Zorblax keeps the keys of the garden"
NOTES = b"Agenda for next time: the shared notebook.\n"


async def test_element_replies_and_files_reach_the_minutes_without_the_quote(
    make_participant, make_bot
) -> None:
    require_component(
        "apertium",
        shutil.which("apertium") is not None,
        "apt-get install apertium apertium-eng-spa",
    )
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob", display_name="Bob")
    other_bot = await make_participant("otherbot", display_name="Other bot")
    bot = make_bot()
    room = await alice.create_room(
        "Shapes", invite=[bob.user_id, other_bot.user_id, bot.user_id],
        power_level_users={bot.user_id: 50},
    )
    await bob.join(room)
    await other_bot.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[{"id": "europe", "name": "Europe", "room": room, "languages": ["en", "es"],
                  "timezone": "Europe/Madrid"}],
        translation={"backend": "apertium"},
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/")

    original = await alice.send(room, QUOTED)
    reply = await bob.send_event(room, "m.room.message", element_reply(
        room, original, alice.user_id, QUOTED, "The house is big"))
    translation = await alice.wait_for(
        room,
        lambda e: isinstance(e, RoomMessageNotice) and "[es]" in e.body
        and e.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
        .get("event_id") == reply,
        timeout=40,
    )
    assert "casa" in translation.body.lower()
    assert "Zorblax" not in translation.body, "the translator was fed the quote"

    idea = await bob.send_event(room, "m.room.message", element_reply(
        room, original, alice.user_id, QUOTED, "!idea a shared notebook"))
    await bob.wait_for_notice(room, "Idea #2", after=idea)

    upload, _keys = await bob.client.upload(
        io.BytesIO(NOTES), content_type="text/plain", filename="notes.txt",
        filesize=len(NOTES),
    )
    assert isinstance(upload, UploadResponse), upload
    shared_file = await bob.send_event(room, "m.room.message", {
        "msgtype": "m.file", "body": "notes.txt", "filename": "notes.txt",
        "info": {"mimetype": "text/plain", "size": len(NOTES)}, "url": upload.content_uri,
    })
    image_url = "mxc://localhost/madeUpGardenPhoto"
    shared_image = await alice.send_event(room, "m.room.message", {
        "msgtype": "m.image", "body": "garden.jpg",
        "info": {"mimetype": "image/jpeg", "size": 31037, "w": 394, "h": 398},
        "url": image_url,
    })

    # Another bot's notice is never a command: nothing answers it, nothing is recorded.
    from_bot = await other_bot.send(room, "!idea bots talking to bots", msgtype="m.notice")
    listed = await alice.send(room, "!items")
    listing = await alice.wait_for_notice(room, "a shared notebook", after=listed)
    assert "bots talking to bots" not in listing.body
    assert alice.replies_to(room, from_bot) == []

    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()
    assert alice.replies_to(room, from_bot) == []

    folder = Path(bot.settings["data_dir"]) / "minutes"
    data = json.loads(next(folder.glob("*.json")).read_text())
    log = {line["event_id"]: line for line in data["log"]}
    answered = log[reply]
    assert answered["body"] == "The house is big"
    assert answered["reply_to"]["event_id"] == original
    assert answered["reply_to"]["line"] == log[original]["line"]
    assert answered["reply_to"]["display_name"] == "Alice"
    assert "Zorblax" not in json.dumps(answered, ensure_ascii=False)
    assert log[idea]["body"] == "!idea a shared notebook"
    assert log[idea]["reply_to"]["event_id"] == original
    assert log[shared_file]["attachment"] == {
        "kind": "m.file", "name": "notes.txt", "url": upload.content_uri,
        "media_url": upload.content_uri, "mimetype": "text/plain", "size": len(NOTES),
        "encrypted": False,
    }
    assert log[shared_image]["attachment"]["url"] == image_url
    assert log[from_bot]["msgtype"] == "m.notice" and not log[from_bot]["is_command"]
    assert [i["text"] for i in data["items"] if i["kind"] == "idea"] == ["a shared notebook"]

    markdown_text = next(p for p in folder.glob("*-en.md")).read_text()
    reply_lines = [line for line in markdown_text.splitlines() if "↪" in line]
    assert len(reply_lines) == 2 and all("[Alice](" in line for line in reply_lines)
    assert not any("Zorblax" in line for line in reply_lines)
    assert markdown_text.count("Zorblax") == 1, "only Alice's own line says it"
    assert f"[notes.txt]({upload.content_uri})" in markdown_text
    html_text = next(p for p in folder.glob("*-en.html")).read_text()
    assert f'href="{upload.content_uri}"' in html_text and f'href="{image_url}"' in html_text
    assert html_text.count("Zorblax") == 1

    # The stored record holds the reply's own words, and translations of them alone.
    db = Path(bot.settings["data_dir"]) / "meetbot.sqlite3"
    await bot.stop()
    con = sqlite3.connect(db)
    try:
        payload = con.execute("SELECT payload FROM events WHERE event_id = ?", (reply,)).fetchone()
        stored = json.loads(payload[0])
        assert stored["body"] == "The house is big" and stored["reply_to"] == original
        texts = [row[0] for row in con.execute(
            "SELECT text FROM translations WHERE event_id IN (?, ?)", (reply, idea))]
        assert texts and not any("Zorblax" in text for text in texts)
    finally:
        con.close()
