"""The record: edits, redactions, hostile text, and who may do what — on a real Synapse."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


async def _room(make_participant, make_bot, *, power: dict | None = None, **region):
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob", display_name="Bob")
    bot = make_bot()
    levels = {bot.user_id: 50, **(power or {})}
    room = await alice.create_room(
        "Room", invite=[bob.user_id, bot.user_id], power_level_users=levels
    )
    await bob.join(room)
    bot.configure(
        facilitators=[alice.user_id],
        regions=[
            {
                "id": "europe",
                "name": "Europe",
                "room": room,
                "languages": ["en", "fr"],
                "timezone": "Europe/Paris",
                **region,
            }
        ],
    )
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    return alice, bob, bot, room


def _minutes(bot) -> tuple[dict, dict[str, str]]:
    folder = Path(bot.settings["data_dir"]) / "minutes"
    data = json.loads(next(folder.glob("*.json")).read_text())
    texts = {p.name: p.read_text() for p in folder.iterdir()}
    return data, texts


async def _end(alice, bot, room) -> None:
    end = await alice.send(room, "!endmeeting")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()


async def test_edits_replace_text_and_redactions_remove_it(make_participant, make_bot) -> None:
    alice, bob, bot, room = await _room(make_participant, make_bot)
    await alice.send(room, "!startmeeting")
    said = await bob.send(room, "I think we shuold meet monthly")
    await bob.edit(room, said, "I think we should meet monthly")
    action = await bob.send(room, "!action write the report")
    await bob.wait_for_notice(room, "Action #2 recorded", after=action)
    await bob.edit(room, action, f"!action {alice.user_id} writes the report")
    secret = await bob.send(room, "my phone number is 555-0199")
    idea = await bob.send(room, "!idea a secret idea")
    await bob.wait_for_notice(room, "Idea #3 recorded", after=idea)
    await bob.redact(room, secret)
    await bob.redact(room, idea)
    later = await bob.send(room, "!items")
    listing = await bob.wait_for_notice(room, "Items", after=later)
    assert "secret idea" not in listing.body
    assert "writes the report" in listing.body
    # An edited command is never run twice: still exactly one answer to the !action.
    await _end(alice, bot, room)

    data, texts = _minutes(bot)
    line = next(entry for entry in data["log"] if entry["event_id"] == said)
    assert line["body"] == "I think we should meet monthly" and line["edited"]
    action_item = next(item for item in data["items"] if item["kind"] == "action")
    assert action_item["assignees"] == [alice.user_id]
    for name, text in texts.items():
        assert "555-0199" not in text, name
        assert "secret idea" not in text, name
    replies = [n for n in bob.notices(room) if "Action #2" in n.body]
    assert len(replies) == 1
    # The redacted text is gone from the database too, not only from the minutes.
    db = Path(bot.settings["data_dir"]) / "meetbot.sqlite3"
    await bot.stop()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dump = "\n".join(con.iterdump())
    con.close()
    assert "555-0199" not in dump and "a secret idea" not in dump


HOSTILE = [
    "<script>alert('x')</script><b>bold</b><img src=x onerror=alert(1)>",
    "مرحبا بالجميع \u202eevil\u202c and zero\u200bwidth\u200d joiners \ufeff",
    "[click](javascript:alert(1)) **not bold** `code` <!-- comment -->",
]


async def test_hostile_text_is_stored_faithfully_and_rendered_escaped(make_participant, make_bot):
    alice, bob, bot, room = await _room(make_participant, make_bot)
    await alice.send(room, "!startmeeting <i>Title</i> & co")
    for text in HOSTILE:
        await bob.send(room, text)
    huge = "x" * 20_000 + " ça va? " + "y" * 20_000 + " <script>tail</script> " + "z" * 20_000
    await bob.send(room, huge)
    tagged = await bob.send(room, "!info <script>alert(2)</script>")
    reply = await bob.wait_for_notice(room, "Info #2 recorded", after=tagged)
    await bob.send(room, "!items")
    listing = await bob.wait_for_notice(room, "alert(2)")
    assert "<script>" not in listing.source["content"]["formatted_body"]
    assert "&lt;script&gt;" in listing.source["content"]["formatted_body"]
    assert reply
    await _end(alice, bot, room)

    data, texts = _minutes(bot)
    bodies = [entry["body"] for entry in data["log"]]
    for text in HOSTILE:
        assert text in bodies, "stored faithfully, byte for byte"
    assert huge in bodies
    assert data["title"] == "<i>Title</i> & co"
    for name, text in texts.items():
        if name.endswith(".html"):
            assert "<script>alert" not in text and "<img src=x" not in text, name
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text, name
            assert "<i>Title</i>" not in text, name


async def test_a_topic_too_long_to_quote_in_every_language_still_reaches_the_room(
    make_participant, make_bot
) -> None:
    """30,000 characters are a valid message; quoted in English and French, with HTML, the
    topic notice would weigh 120 KB and Synapse would refuse it. It arrives cut to fit, and
    the answers after it are not held up; the record keeps the topic whole."""
    alice, _bob, bot, room = await _room(make_participant, make_bot)
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    long = "budget " * 4_300
    asked = await alice.send(room, f"!topic {long}")
    cut = await alice.wait_for_notice(room, "✂", after=asked)
    assert len(json.dumps(cut.source["content"], ensure_ascii=False).encode()) < 65_536
    here = await alice.send(room, "!here")
    await alice.wait_for_notice(room, "is present", after=here)
    await _end(alice, bot, room)
    data, _texts = _minutes(bot)
    assert any(item["text"] == long.strip() for item in data["items"])


async def test_who_may_do_what(make_participant, make_bot) -> None:
    alice, bob, bot, room = await _room(make_participant, make_bot)
    carol = await make_participant("carol", display_name="Carol")
    await alice.invite(room, carol.user_id)
    await carol.join(room)
    denied = await bob.send(room, "!startmeeting")
    await bob.wait_for_notice(
        room, "Only a facilitator or chair can use !startmeeting", after=denied
    )
    await alice.send(room, "!startmeeting")
    await alice.wait_for_notice(room, "Prompt 1/3")
    for command in (
        "!next",
        "!topic budget",
        "!undo",
        "!strike 1",
        f"!chair {carol.user_id}",
        "!endmeeting",
        "!prompt next-steps",
    ):
        sent = await bob.send(room, command)
        await bob.wait_for_notice(room, "Only a facilitator or chair", after=sent)
    chaired = await alice.send(room, f"!chair {bob.user_id}", mentions=[bob.user_id])
    await alice.wait_for_notice(room, "is now a chair", after=chaired)
    topic = await bob.send(room, "!topic budget")
    await bob.wait_for_notice(room, "Topic #2", after=topic)
    idea = await carol.send(room, "!idea a bake sale")
    await carol.wait_for_notice(room, "Idea #3 recorded", after=idea)
    link = await carol.send(room, "!link https://example.org/plan the plan")
    await carol.wait_for_notice(room, "Link #4 recorded", after=link)
    bad_link = await carol.send(room, "!link javascript:alert(1)")
    await carol.wait_for_notice(room, "A link starts with https://", after=bad_link)
    struck = await bob.send(room, "!strike 3")
    await bob.wait_for_notice(room, "Item #3 removed", after=struck)
    undone = await bob.send(room, "!undo")
    await bob.wait_for_notice(room, "Removed #4", after=undone)
    unchaired = await alice.send(room, f"!unchair {bob.user_id}", mentions=[bob.user_id])
    await alice.wait_for_notice(room, "no longer a chair", after=unchaired)
    again = await bob.send(room, "!topic other")
    await bob.wait_for_notice(room, "Only a facilitator or chair", after=again)
    named = await alice.send(room, "!prompt next-steps")
    await alice.wait_for_notice(room, "Prompt 3/3", after=named)
    missing = await alice.send(room, "!prompt nope")
    await alice.wait_for_notice(room, "No prompt nope in this agenda", after=missing)
    here = await carol.send(room, "!here")
    await carol.wait_for_notice(room, "Carol is present", after=here)
    decided = await alice.send(room, "!decision a bake sale in May")
    await alice.wait_for_notice(room, "Decision #6 recorded", after=decided)
    end = await alice.send(room, "!end")
    await alice.wait_for_notice(room, "Meeting ended", after=end)
    await bot.settled()
    data, _texts = _minutes(bot)
    assert [i["kind"] for i in data["items"]] == ["prompt", "topic", "prompt", "decision"]
    carol_row = next(p for p in data["participants"] if p["user_id"] == carol.user_id)
    assert carol_row["present"]


async def test_room_power_level_makes_a_facilitator(make_participant, make_bot) -> None:
    alice = await make_participant("alice")
    mod = await make_participant("moderator")
    bot = make_bot()
    room = await alice.create_room(
        "Room", invite=[mod.user_id, bot.user_id], power_level_users={mod.user_id: 50}
    )
    await mod.join(room)
    bot.configure(facilitators=[], regions=[{"id": "asia", "name": "Asia", "room": room}])
    await bot.start()
    await alice.wait_for_member(room, bot.user_id)
    started = await mod.send(room, "!startmeeting")
    await mod.wait_for_notice(room, "Meeting started", after=started)


async def test_invites_are_accepted_only_from_facilitators(make_participant, make_bot) -> None:
    alice = await make_participant("alice")
    stranger = await make_participant("stranger")
    bot = make_bot()
    bot.configure(facilitators=[alice.user_id], regions=[])
    await bot.start()
    theirs = await stranger.create_room("Spam", invite=[bot.user_id])
    ours = await alice.create_room("Ad hoc", invite=[bot.user_id])
    await alice.wait_for_member(ours, bot.user_id)
    started = await alice.send(ours, "!startmeeting Ad hoc meeting")
    await alice.wait_for_notice(ours, "Meeting started", after=started)
    await stranger.wait_for(
        theirs,
        lambda e: (
            getattr(e, "state_key", None) == bot.user_id
            and getattr(e, "membership", None) == "leave"
        ),
    )


async def test_two_rooms_hold_meetings_at_once(make_participant, make_bot) -> None:
    alice = await make_participant("alice")
    bot = make_bot()
    north = await alice.create_room("North", invite=[bot.user_id])
    south = await alice.create_room("South", invite=[bot.user_id])
    bot.configure(
        facilitators=[alice.user_id],
        regions=[
            {"id": "north", "name": "North", "room": north},
            {"id": "south", "name": "South", "room": south, "languages": ["es", "en"]},
        ],
    )
    await bot.start()
    await alice.wait_for_member(north, bot.user_id)
    await alice.wait_for_member(south, bot.user_id)
    chosen = await alice.send(north, "!lang en")  # the south room reads Spanish
    await alice.wait_for_notice(north, "Your language is now", after=chosen)
    await asyncio.gather(alice.send(north, "!startmeeting N"), alice.send(south, "!startmeeting S"))
    await alice.send(north, "!idea northern idea")
    await alice.send(south, "!idea southern idea")
    await alice.wait_for_notice(north, "Idea #2")
    await alice.wait_for_notice(south, "Idea #2")
    await alice.send(north, "!endmeeting")
    await alice.wait_for_notice(north, "Meeting ended")
    status = await alice.send(south, "!status")
    await alice.wait_for_notice(south, "S — running", after=status)
    await alice.send(south, "!endmeeting")
    await alice.wait_for_notice(south, "Meeting ended")
    await bot.settled()
    folder = Path(bot.settings["data_dir"]) / "minutes"
    regions = sorted(json.loads(p.read_text())["region"] for p in folder.glob("*.json"))
    assert regions == ["north", "south"]


async def test_default_rate_limits_lose_no_answer(
    make_participant, homeserver_ratelimited, tmp_path
):
    from bot_helpers import BotHarness

    alice = await make_participant("alice", homeserver=homeserver_ratelimited)
    bot = BotHarness(homeserver_ratelimited, tmp_path / "bot")
    bot.workdir.mkdir()
    room = await alice.create_room("Busy", invite=[bot.user_id])
    bot.configure(
        facilitators=[alice.user_id], regions=[{"id": "busy", "name": "Busy", "room": room}]
    )
    try:
        await bot.start()
        await alice.wait_for_member(room, bot.user_id)
        await alice.send(room, "!startmeeting")
        await alice.wait_for_notice(room, "Prompt 1/3", timeout=60)
        # With the two start notices, 12 answers go past Synapse's default burst of 10: the
        # bot meets 429s (alice too; nio waits retry_after_ms for her).
        ideas = 12
        for n in range(ideas):
            await alice.send(room, f"!idea idea number {n}")
        for n in range(ideas):
            await alice.wait_for_notice(room, f"Idea #{n + 2} recorded", timeout=120)
        counts = [
            sum(1 for x in alice.notices(room) if x.body == f"Idea #{n + 2} recorded.")
            for n in range(ideas)
        ]
        assert counts == [1] * ideas
    finally:
        await bot.stop()
