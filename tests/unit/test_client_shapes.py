"""What real clients send, as the Matrix client-server spec writes it, and what the core sees.

The fixtures are the spec's own examples (rich replies and their fallbacks, threads, edits,
mentions, emotes, notices, attachments in clear and encrypted rooms, stickers, polls in their
stable and unstable shapes, locations), not what nio sends by default. Each is parsed by nio's
own classes, converted by the Matrix shell, then played through the app over a temporary
database: the record, the minutes and the exports must carry the reply relation and the
shared files, never a reply's quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import BadEvent, MatrixRoom, StickerEvent, UnknownEvent
from nio import Event as NioEvent

from meetbot.app import MeetBotApp
from meetbot.config.schema import load_config
from meetbot.core.effects import Notice, Translate
from meetbot.core.events import Attachment, Edit, Message, Redaction
from meetbot.matrix.convert import convert, without_reply_fallback
from meetbot.minutes.delivery import minutes_data
from meetbot.minutes.document import coordinator_summary, render_html, render_markdown
from meetbot.research.consent import withdraw
from meetbot.research.dataset import held_meetings
from meetbot.research.export import message_rows, to_csv, to_jsonl
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import transcript
from meetbot.runtime.features import open_app
from meetbot.storage.codec import decode_event, encode_event

ROOM = "!somewhere:example.org"
BOT = "@meetbot:example.org"
ALICE = "@alice:example.org"  # facilitator
BOB = "@bob:example.org"
CARLA = "@carla:example.org"
OTHER_BOT = "@otherbot:example.org"
START_MS = 1_700_000_000_000
_ids = count(1)
_clock = count(1)


# -- spec-shaped events -------------------------------------------------------------------


def nio_room() -> MatrixRoom:
    room = MatrixRoom(ROOM, BOT)
    for user, name in ((ALICE, "Alice"), (BOB, "Bob"), (CARLA, "carla"), (OTHER_BOT, "Other")):
        room.add_member(user, name, None)
    return room


def raw(content: dict[str, Any], *, sender: str = BOB, kind: str = "m.room.message",
        event_id: str | None = None) -> dict[str, Any]:
    """A client-server event as /sync returns it (the spec's "ClientEvent" shape)."""
    return {
        "content": content,
        "event_id": event_id or f"$shape{next(_ids)}:example.org",
        "origin_server_ts": START_MS + next(_clock) * 1000,
        "room_id": ROOM,
        "sender": sender,
        "type": kind,
        "unsigned": {"age": 1234},
    }


def parsed(event: dict[str, Any], *, decrypted: bool = False) -> NioEvent:
    """The event as nio hands it to the bot (after decryption, for encrypted rooms)."""
    if decrypted:
        return NioEvent.parse_decrypted_event(event)
    return NioEvent.parse_event(event)


def core(event: dict[str, Any], *, decrypted: bool = False, opted_out: tuple[str, ...] = ()):
    return convert(nio_room(), parsed(event, decrypted=decrypted), live=True, opted_out=opted_out)


def reply_content(original: str, reply: str, *, to: str = "$original:example.org",
                  quoted_sender: str = ALICE, emote: bool = False) -> dict[str, Any]:
    """The spec's rich reply with its legacy fallback (as Element still sends it)."""
    lines = original.split("\n")
    star = "* " if emote else ""
    quoted = "\n".join([f"> {star}<{quoted_sender}> {lines[0]}", *(f"> {ln}" for ln in lines[1:])])
    html_quote = "<br />".join(lines)
    return {
        "body": f"{quoted}\n\n{reply}",
        "format": "org.matrix.custom.html",
        "formatted_body": (
            f'<mx-reply><blockquote><a href="https://matrix.to/#/{ROOM}/{to}">In reply to</a> '
            f'<a href="https://matrix.to/#/{quoted_sender}">{quoted_sender}</a><br />'
            f"{html_quote}</blockquote></mx-reply>{reply}"
        ),
        "m.relates_to": {"m.in_reply_to": {"event_id": to}},
        "msgtype": "m.text",
    }


IMAGE = {  # the spec's m.image example
    "body": "filename.jpg",
    "info": {"h": 398, "w": 394, "mimetype": "image/jpeg", "size": 31037},
    "msgtype": "m.image",
    "url": "mxc://example.org/JWEIFJgwEIhweiWJE",
}
FILE = {  # the spec's m.file example
    "body": "something-important.doc",
    "filename": "something-important.doc",
    "info": {"mimetype": "application/msword", "size": 46144},
    "msgtype": "m.file",
    "url": "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe",
}
AUDIO = {  # the spec's m.audio example
    "body": "Bee Gees - Stayin' Alive",
    "info": {"duration": 2140786, "mimetype": "audio/mpeg", "size": 1563685},
    "msgtype": "m.audio",
    "url": "mxc://example.org/ffed755USFFxlgbQYZGtryd",
}
VIDEO = {  # the spec's m.video example
    "body": "Gangnam Style",
    "info": {
        "duration": 2140786, "h": 320, "w": 480, "mimetype": "video/mp4", "size": 1563685,
        "thumbnail_info": {"h": 300, "w": 300, "mimetype": "image/jpeg", "size": 46144},
        "thumbnail_url": "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe",
    },
    "msgtype": "m.video",
    "url": "mxc://example.org/a526eYUSFFxlgbQYZmo442",
}
ENCRYPTED_FILE = {  # the spec's EncryptedFile example, as an m.image of an encrypted room
    "url": "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe",
    "v": "v2",
    "key": {"alg": "A256CTR", "ext": True, "k": "aWF6-32KGYaC3A_FEUCk1Bt0JA37zP0wrStgmdCaW-0",
            "key_ops": ["encrypt", "decrypt"], "kty": "oct"},
    "iv": "w+sE15fzSc0AAAAAAAAAAA",
    "hashes": {"sha256": "fdSLu/YkRx3Wyh3KQabP3rd6+SFiKg5lsJZQHtkSAYA"},
}
ENCRYPTED_IMAGE = {
    "body": "something-important.jpg",
    "file": ENCRYPTED_FILE,
    "info": {"mimetype": "image/jpeg", "h": 1536, "w": 2048, "size": 422018},
    "msgtype": "m.image",
}
STICKER = {  # the spec's m.sticker example
    "body": "Landing",
    "info": {"mimetype": "image/png", "h": 200, "w": 140, "size": 73602,
             "thumbnail_url": "mxc://matrix.org/sHhqkFCvSkFwtmvtETOtKnLP"},
    "url": "mxc://matrix.org/sHhqkFCvSkFwtmvtETOtKnLP",
}
LOCATION = {  # the spec's m.location example
    "body": "Big Ben, London, UK",
    "geo_uri": "geo:51.5008,0.1247",
    "info": {"thumbnail_url": "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe"},
    "msgtype": "m.location",
}
POLL_TEXT = "What should we order for the party?\n1. Pizza 🍕\n2. Poutine 🍟\n3. Italian 🍝"
POLL_STABLE = {  # MSC3381 (m.poll.start), with its m.text fallback
    "m.text": [{"mimetype": "text/plain", "body": POLL_TEXT}],
    "m.poll": {
        "kind": "m.disclosed",
        "max_selections": 1,
        "question": {"m.text": [{"body": "What should we order for the party?"}]},
        "answers": [
            {"m.id": "pizza", "m.text": [{"body": "Pizza 🍕"}]},
            {"m.id": "poutine", "m.text": [{"body": "Poutine 🍟"}]},
            {"m.id": "italian", "m.text": [{"body": "Italian 🍝"}]},
        ],
    },
}
POLL_UNSTABLE = {  # what Element sends today (org.matrix.msc3381.poll.start)
    "org.matrix.msc1767.text": POLL_TEXT,
    "org.matrix.msc3381.poll.start": {
        "kind": "org.matrix.msc3381.poll.disclosed",
        "max_selections": 1,
        "question": {"org.matrix.msc1767.text": "What should we order for the party?"},
        "answers": [
            {"id": "pizza", "org.matrix.msc1767.text": "Pizza 🍕"},
            {"id": "poutine", "org.matrix.msc1767.text": "Poutine 🍟"},
            {"id": "italian", "org.matrix.msc1767.text": "Italian 🍝"},
        ],
    },
}


# -- replies ------------------------------------------------------------------------------


def test_the_spec_reply_loses_its_fallback_and_keeps_its_relation() -> None:
    event = core(raw(reply_content("This is the original body", "This is where the reply goes")))
    assert isinstance(event, Message)
    assert event.body == "This is where the reply goes"
    assert event.reply_to == "$original:example.org"
    assert event.mentions == (), "the quote's pill of its sender is no mention"


def test_a_multi_line_quote_goes_whole() -> None:
    original = "first line of the original\nsecond line\n\nfourth, after a blank one"
    event = core(raw(reply_content(original, "my answer\non two lines")))
    assert isinstance(event, Message)
    assert event.body == "my answer\non two lines"
    assert "original" not in event.body and "second line" not in event.body


def test_an_emote_quote_goes_too() -> None:
    event = core(raw(reply_content("waves", "hello back", emote=True)))
    assert isinstance(event, Message) and event.body == "hello back"


def test_a_reply_without_fallback_is_kept_as_sent() -> None:
    content = {"body": "> my own quote\n\nand my words", "msgtype": "m.text",
               "format": "org.matrix.custom.html",
               "formatted_body": "<blockquote><p>my own quote</p></blockquote><p>and my words</p>",
               "m.relates_to": {"m.in_reply_to": {"event_id": "$original:example.org"}}}
    event = core(raw(content))
    assert isinstance(event, Message)
    assert event.body == "> my own quote\n\nand my words", "a person's own quote stays"
    assert event.reply_to == "$original:example.org"


def test_quoted_lines_stay_when_the_message_is_no_reply() -> None:
    body = f"> <{ALICE}> something Alice said\n\nI quoted it by hand"
    event = core(raw({"body": body, "msgtype": "m.text"}))
    assert isinstance(event, Message) and event.body == body and event.reply_to is None


def test_the_plain_fallback_alone_is_recognised_by_its_shape() -> None:
    content = reply_content("the original", "the reply")
    del content["formatted_body"], content["format"]
    event = core(raw(content))
    assert isinstance(event, Message) and event.body == "the reply"
    assert without_reply_fallback("> not a fallback\n\ntext") == "> not a fallback\n\ntext"


def test_a_reply_that_is_a_command_is_a_command() -> None:
    event = core(raw(reply_content("we could meet on Saturdays", "!idea meet on Saturdays")))
    assert isinstance(event, Message) and event.body == "!idea meet on Saturdays"


# -- threads, edits, mentions, emotes, notices -----------------------------------------------


def test_a_thread_fallback_is_no_reply() -> None:
    content = {"body": "in the thread", "msgtype": "m.text",
               "m.relates_to": {"rel_type": "m.thread", "event_id": "$root:example.org",
                                "is_falling_back": True,
                                "m.in_reply_to": {"event_id": "$latest:example.org"}}}
    event = core(raw(content))
    assert isinstance(event, Message)
    assert (event.thread_root, event.reply_to) == ("$root:example.org", None)
    content["m.relates_to"]["is_falling_back"] = False
    event = core(raw(content))
    assert isinstance(event, Message)
    assert (event.thread_root, event.reply_to) == ("$root:example.org", "$latest:example.org")


def test_an_edit_takes_the_new_content_not_the_star_fallback() -> None:
    content = {"body": "* Hello! My name is bar", "msgtype": "m.text",
               "m.new_content": {"body": "Hello! My name is bar", "msgtype": "m.text"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$some_event_id"}}
    event = core(raw(content))
    assert isinstance(event, Edit)
    assert (event.target, event.body) == ("$some_event_id", "Hello! My name is bar")
    del content["m.new_content"]
    event = core(raw(content))
    assert isinstance(event, Edit) and event.body == "Hello! My name is bar"


def test_an_edit_of_a_reply_never_brings_the_quote_back() -> None:
    reply = reply_content("the original", "!idea the edited idea")
    content = {"body": "* " + reply["body"], "msgtype": "m.text",
               "m.new_content": {k: reply[k] for k in ("body", "format", "formatted_body",
                                                     "msgtype")},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$reply:example.org"}}
    event = core(raw(content))
    assert isinstance(event, Edit) and event.body == "!idea the edited idea"


def test_a_pill_names_the_person_the_body_only_shows() -> None:
    content = {"body": "!action carla will draft the letter", "msgtype": "m.text",
               "format": "org.matrix.custom.html",
               "formatted_body": f'!action <a href="https://matrix.to/#/{CARLA}">carla</a> '
                                 "will draft the letter",
               "m.mentions": {"user_ids": [CARLA]}}
    event = core(raw(content))
    assert isinstance(event, Message) and event.mentions == (CARLA,)


def test_an_emote_is_recorded_as_an_emote() -> None:
    event = core(raw({"body": "thinks this is a good idea", "msgtype": "m.emote"}))
    assert isinstance(event, Message) and event.msgtype == "m.emote"


def test_a_notice_is_a_notice() -> None:
    event = core(raw({"body": "!idea from a bot", "msgtype": "m.notice"}, sender=OTHER_BOT))
    assert isinstance(event, Message) and event.msgtype == "m.notice"


# -- files, stickers, polls, locations ------------------------------------------------------


@pytest.mark.parametrize("content, expected", [
    (IMAGE, Attachment("m.image", "filename.jpg", "mxc://example.org/JWEIFJgwEIhweiWJE",
                       "image/jpeg", 31037)),
    (FILE, Attachment("m.file", "something-important.doc",
                      "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe", "application/msword", 46144)),
    (AUDIO, Attachment("m.audio", "Bee Gees - Stayin' Alive",
                       "mxc://example.org/ffed755USFFxlgbQYZGtryd", "audio/mpeg", 1563685)),
    (VIDEO, Attachment("m.video", "Gangnam Style", "mxc://example.org/a526eYUSFFxlgbQYZmo442",
                       "video/mp4", 1563685)),
], ids=["image", "file", "audio", "video"])
def test_each_attachment_is_recorded_never_downloaded(content, expected) -> None:
    event = core(raw(content))
    assert isinstance(event, Message)
    assert event.attachment == expected
    assert event.msgtype == content["msgtype"] and event.body == ""


@pytest.mark.parametrize("msgtype", ["m.image", "m.file", "m.audio", "m.video"])
def test_an_encrypted_attachment_keeps_its_address_not_its_key(msgtype: str) -> None:
    event = core(raw({**ENCRYPTED_IMAGE, "msgtype": msgtype}), decrypted=True)
    assert isinstance(event, Message) and event.attachment is not None
    assert event.attachment == Attachment(
        msgtype, "something-important.jpg", "mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe",
        "image/jpeg", 422018, encrypted=True,
    )
    _, payload = encode_event(event)
    assert ENCRYPTED_FILE["key"]["k"] not in payload and ENCRYPTED_FILE["iv"] not in payload


def test_a_file_with_a_caption_keeps_both() -> None:
    content = {**FILE, "body": "the minutes of last time, please read"}
    event = core(raw(content))
    assert isinstance(event, Message) and event.attachment is not None
    assert event.body == "the minutes of last time, please read"
    assert event.attachment.name == "something-important.doc"


def test_a_file_is_never_a_command() -> None:
    app_event = core(raw({**FILE, "body": "!endmeeting", "filename": "!endmeeting"}))
    assert isinstance(app_event, Message) and app_event.attachment is not None


def test_stickers_clear_and_encrypted() -> None:
    sticker = parsed(raw(STICKER, kind="m.sticker"))
    assert isinstance(sticker, StickerEvent)
    event = convert(nio_room(), sticker, live=True)
    assert isinstance(event, Message) and event.msgtype == "m.sticker"
    assert event.attachment == Attachment("m.sticker", "Landing",
                                          "mxc://matrix.org/sHhqkFCvSkFwtmvtETOtKnLP",
                                          "image/png", 73602)
    encrypted = {k: v for k, v in STICKER.items() if k != "url"} | {"file": ENCRYPTED_FILE}
    bad = parsed(raw(encrypted, kind="m.sticker"), decrypted=True)
    assert isinstance(bad, BadEvent), "nio cannot parse an encrypted sticker"
    event = convert(nio_room(), bad, live=True)
    assert isinstance(event, Message) and event.attachment is not None
    assert event.attachment.encrypted and event.attachment.url == ENCRYPTED_FILE["url"]


@pytest.mark.parametrize("kind, content", [
    ("m.poll.start", POLL_STABLE),
    ("org.matrix.msc3381.poll.start", POLL_UNSTABLE),
], ids=["stable", "msc3381"])
def test_a_poll_is_its_question_and_answers(kind: str, content: dict[str, Any]) -> None:
    nio_event = parsed(raw(content, kind=kind))
    assert isinstance(nio_event, UnknownEvent)
    event = convert(nio_room(), nio_event, live=True)
    assert isinstance(event, Message) and event.msgtype == "m.poll"
    assert event.body == POLL_TEXT


def test_a_poll_without_its_block_falls_back_to_its_text() -> None:
    event = core(raw({"org.matrix.msc1767.text": "Lunch?\n1. yes\n2. no"},
                     kind="org.matrix.msc3381.poll.start"))
    assert isinstance(event, Message) and event.body == "Lunch?\n1. yes\n2. no"


def test_a_location_is_its_description_and_its_geo_uri() -> None:
    event = core(raw(LOCATION))
    assert isinstance(event, Message) and event.msgtype == "m.location"
    assert event.body == "Big Ben, London, UK\ngeo:51.5008,0.1247"


def test_an_opted_out_persons_file_is_not_recorded() -> None:
    event = core(raw(FILE), opted_out=(BOB,))
    assert isinstance(event, Message) and event.withdrawn
    assert event.attachment is None and event.body == ""


def test_an_attachment_round_trips_through_the_store_codec() -> None:
    event = core(raw(ENCRYPTED_IMAGE), decrypted=True)
    assert isinstance(event, Message)
    assert decode_event(*encode_event(event)) == event
    replied = core(raw(reply_content("original", "reply")))
    assert isinstance(replied, Message)
    assert decode_event(*encode_event(replied)) == replied
    # Records written before attachments existed still load.
    type_name, payload = encode_event(replied)
    old = {k: v for k, v in json.loads(payload).items() if k != "attachment"}
    assert decode_event(type_name, json.dumps(old)) == replied


# -- through the app: the record, the minutes, the exports ----------------------------------


def make_config(tmp_path: Path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "default.yaml").write_text(yaml.safe_dump(
        {"prompts": [{"id": "q1", "text": {"en": "What can we do together?"}}]}
    ))
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": BOT, "password": "x",
        "facilitators": [ALICE], "translation": {"backend": "none"},
        "regions": [{"id": "europe", "name": "Europe", "room": ROOM, "languages": ["en", "es"]}],
    }))
    return load_config(path)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[MeetBotApp]:
    app = await open_app(make_config(tmp_path))
    try:
        yield app
    finally:
        await app.store.db.close()


async def play(app: MeetBotApp, event: dict[str, Any], *, decrypted: bool = False):
    converted = convert(nio_room(), parsed(event, decrypted=decrypted), live=True,
                        opted_out=app.opted_out)
    assert converted is not None
    return await app.ingest(converted)


async def stored_payloads(app: MeetBotApp) -> str:
    rows = await app.store.conn.execute_fetchall("SELECT payload FROM events")
    return "\n".join(str(row[0]) for row in rows)


QUOTE = "a private remark from Alice that only the room saw"


async def test_the_minutes_show_replies_and_files_never_the_quote(app: MeetBotApp) -> None:
    await play(app, raw({"body": "!startmeeting", "msgtype": "m.text"}, sender=ALICE))
    original = raw({"body": QUOTE, "msgtype": "m.text"}, sender=ALICE,
                   event_id="$quoted:example.org")
    await play(app, original)
    outcome = await play(app, raw(reply_content(QUOTE, "I agree, let us do it",
                                                 to="$quoted:example.org")))
    assert outcome is not None
    translated = [e.text for e in outcome.effects if isinstance(e, Translate)]
    assert translated == ["I agree, let us do it"], "the translation is never fed the quote"
    await play(app, raw(reply_content(QUOTE, "!idea meet every Saturday",
                                      to="$quoted:example.org")))
    await play(app, raw({**FILE, "body": "our budget <b>draft</b>"}))
    await play(app, raw(ENCRYPTED_IMAGE, sender=CARLA), decrypted=True)
    await play(app, raw(STICKER, kind="m.sticker"))
    await play(app, raw(POLL_UNSTABLE, sender=ALICE, kind="org.matrix.msc3381.poll.start"))
    await play(app, raw(LOCATION, sender=CARLA))
    await play(app, raw({"body": "!endmeeting", "msgtype": "m.text"}, sender=ALICE))

    assert QUOTE in await stored_payloads(app)  # Alice's own message, once
    assert (await stored_payloads(app)).count(QUOTE) == 1, "no reply stored the quote"
    meeting_id = (await app.store.meetings())[0].meeting_id
    data = await minutes_data(app, meeting_id)
    items = [(i["kind"], i["text"]) for i in data["items"]]
    assert ("idea", "meet every Saturday") in items, "a command in a reply runs"
    log = {line["event_id"]: line for line in data["log"]}
    replies = [line for line in data["log"] if line["reply_to"]]
    assert [r["body"] for r in replies] == ["I agree, let us do it", "!idea meet every Saturday"]
    assert replies[0]["reply_to"]["line"] == log["$quoted:example.org"]["line"]
    assert replies[0]["reply_to"]["display_name"] == "Alice"
    shared = [line["attachment"] for line in data["log"] if line["attachment"]]
    assert [(a["kind"], a["name"]) for a in shared] == [
        ("m.file", "something-important.doc"), ("m.image", "something-important.jpg"),
        ("m.sticker", "Landing"),
    ]
    assert shared[0]["url"] == FILE["url"] and shared[0]["size"] == 46144
    assert shared[1]["encrypted"] is True
    assert any(line["msgtype"] == "m.poll" and line["body"] == POLL_TEXT for line in data["log"])
    assert any(line["msgtype"] == "m.location" for line in data["log"])

    markdown_text = render_markdown(data, "en")
    html_text = render_html(data, "en")
    for text in (markdown_text, html_text, json.dumps(data, ensure_ascii=False)):
        assert text.count(QUOTE) == 1, "the quote is shown once, as Alice's own line"
    assert "↪ [Alice](https://matrix.to/#/" in markdown_text
    assert "[something-important.doc](mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe)" in \
        markdown_text
    assert "application/msword, 46 kB" in markdown_text
    assert "our budget <b>draft</b>" not in markdown_text and "&lt;b>" in markdown_text
    quoted_line = log["$quoted:example.org"]["line"]
    assert f'↪ <a href="#L{quoted_line}"><span dir="auto">Alice</span></a>' in html_text
    assert '<a href="mxc://example.org/FHyPlCeYUSFFxlgbQYZmoEoe"' in html_text
    assert "our budget &lt;b&gt;draft&lt;/b&gt;" in html_text
    assert "(image/jpeg, 422 kB, 🔒)" in html_text
    # A file others endorsed is named in the coordinator's summary.
    file_line = next(line for line in data["log"] if line["msgtype"] == "m.file")
    data["endorsements"] = [{"event_id": file_line["event_id"], "line": file_line["line"],
                             "count": 2, "keys": {"👍": 2}}]
    assert "our budget" in coordinator_summary(data, "en")
    sticker_line = next(line for line in data["log"] if line["msgtype"] == "m.sticker")
    data["endorsements"] = [{"event_id": sticker_line["event_id"], "line": sticker_line["line"],
                             "count": 2, "keys": {"👍": 2}}]
    assert "Landing" in coordinator_summary(data, "en")


async def test_a_reply_to_an_item_names_the_item(app: MeetBotApp) -> None:
    await play(app, raw({"body": "!startmeeting", "msgtype": "m.text"}, sender=ALICE))
    await play(app, raw({"body": "!idea a shared notebook", "msgtype": "m.text"}, sender=CARLA,
                        event_id="$idea:example.org"))
    await play(app, raw(reply_content("!idea a shared notebook", "yes, on paper too",
                                      to="$idea:example.org", quoted_sender=CARLA)))
    await play(app, raw(reply_content("gone", "answering a message the bot never saw",
                                      to="$unknown:example.org")))
    await play(app, raw({"body": "!endmeeting", "msgtype": "m.text"}, sender=ALICE))
    data = await minutes_data(app, (await app.store.meetings())[0].meeting_id)
    replies = [line["reply_to"] for line in data["log"] if line["reply_to"]]
    assert (replies[0]["display_name"], replies[0]["item"], replies[0]["item_kind"]) == (
        "carla", 2, "idea")
    assert replies[1]["line"] is None and replies[1]["display_name"] is None
    markdown_text = render_markdown(data, "en")
    assert "↪ [carla, Idea #2](https://matrix.to/#/" in markdown_text
    assert "↪ [open in Matrix](https://matrix.to/#/" in markdown_text


async def test_notices_of_other_bots_are_never_commands(app: MeetBotApp) -> None:
    started = await play(app, raw({"body": "!startmeeting", "msgtype": "m.notice"},
                                  sender=OTHER_BOT))
    assert started is not None and app.meeting_in(ROOM) is None and not started.effects
    await play(app, raw({"body": "!startmeeting", "msgtype": "m.text"}, sender=ALICE))
    outcome = await play(app, raw({"body": "!idea from a bot", "msgtype": "m.notice"},
                                  sender=OTHER_BOT))
    assert outcome is not None
    assert not [e for e in outcome.effects if isinstance(e, Notice)], "no bot answers a bot"
    meeting = app.meeting_in(ROOM)
    assert meeting is not None
    assert [i.text for i in meeting.items] == ["What can we do together?"]
    entry = meeting.log[-1]
    assert (entry.body, entry.msgtype, entry.is_command) == ("!idea from a bot", "m.notice", False)
    await play(app, raw({"body": "!endmeeting", "msgtype": "m.notice"}, sender=OTHER_BOT))
    assert app.meeting_in(ROOM) is not None
    emote = await play(app, raw({"body": "agrees", "msgtype": "m.emote"}))
    assert emote is not None and meeting.log[-1].msgtype == "m.emote"


async def test_a_file_named_like_a_command_runs_nothing(app: MeetBotApp) -> None:
    await play(app, raw({"body": "!startmeeting", "msgtype": "m.text"}, sender=ALICE))
    await play(app, raw({**FILE, "body": "!endmeeting", "filename": "!endmeeting"}, sender=ALICE))
    assert app.meeting_in(ROOM) is not None


async def test_redaction_and_withdrawal_take_the_file_too(app: MeetBotApp) -> None:
    await play(app, raw({"body": "!startmeeting", "msgtype": "m.text"}, sender=ALICE))
    image = raw({**IMAGE, "body": "bob-at-home.jpg"}, event_id="$image:example.org")
    await play(app, image)
    await play(app, raw({**FILE, "filename": "carla-notes.pdf", "body": "carla-notes.pdf",
                         "url": "mxc://example.org/CarlaNotes"}, sender=CARLA))
    await play(app, raw(reply_content("x", "a reply of Carla's", to="$image:example.org"),
                        sender=CARLA))
    await play(app, raw({"body": "!idea keep this", "msgtype": "m.text"}, sender=CARLA))
    redaction = Redaction("$redact:example.org", ROOM, BOB,
                          datetime.fromtimestamp(START_MS / 1000 + 10_000, tz=timezone.utc),
                          target="$image:example.org")
    await app.ingest(redaction)
    stored = await stored_payloads(app)
    assert "bob-at-home.jpg" not in stored and IMAGE["url"] not in stored
    await play(app, raw({"body": "!endmeeting", "msgtype": "m.text"}, sender=ALICE))
    meeting_id = (await app.store.meetings())[0].meeting_id
    data = await minutes_data(app, meeting_id)
    assert "bob-at-home" not in json.dumps(data)
    reply = next(line for line in data["log"] if line["reply_to"])
    assert reply["reply_to"]["line"] is None, "a removed message leaves no name behind"

    # The research exports carry the file's facts, pseudonymously.
    pseudonyms = Pseudonyms(b"k" * 32)
    rows = list(message_rows(await held_meetings(app), pseudonyms))
    shared = next(r for r in rows if r["attachment"])
    assert shared["attachment"] == {"kind": "m.file", "name": "carla-notes.pdf",
                                    "mimetype": "application/msword", "size": 46144,
                                    "url": "mxc://example.org/CarlaNotes"}
    assert json.loads(to_jsonl([shared]))["attachment"]["name"] == "carla-notes.pdf"
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    row = next(r for r in table if r["attachment_name"])
    assert (row["attachment_kind"], row["attachment_name"], row["attachment_mimetype"],
            row["attachment_size"], row["attachment_url"]) == (
        "m.file", "carla-notes.pdf", "application/msword", "46144",
        "mxc://example.org/CarlaNotes")
    replied = next(r for r in table if r["text"] == "a reply of Carla's")
    assert replied["reply_to_line"] == ""  # the image it answered was removed
    held = await held_meetings(app)
    text, _spans = transcript(held[0], rows)
    assert "[file: carla-notes.pdf (application/msword)]" in text

    # Carla withdraws: her file's name and address leave the record with her words.
    await withdraw(app, CARLA, datetime.now(timezone.utc))
    stored = await stored_payloads(app)
    assert "carla-notes" not in stored and "CarlaNotes" not in stored
    assert "a reply of Carla's" not in stored
    data = await minutes_data(app, meeting_id)
    assert not [line for line in data["log"] if line["attachment"]]
