"""The research coordinator's side on a real Synapse: summaries, the cross-region report,
exports without Matrix ids, opting out, withdrawal, and who may do what."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


async def _programme(make_participant, make_bot):
    """Two regions and a coordinator room; Alice facilitates, Bob is in Latin America,
    Chloé in the Sahel."""
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob", display_name="Bob")
    chloe = await make_participant("chloe", display_name="Chloé")
    bot = make_bot()
    latam = await alice.create_room("LatAm", invite=[bob.user_id, bot.user_id])
    sahel = await alice.create_room("Sahel", invite=[chloe.user_id, bot.user_id])
    coordination = await alice.create_room("Coordination", invite=[bot.user_id, bob.user_id])
    await bob.join(latam)
    await chloe.join(sahel)
    await bob.join(coordination)
    bot.configure(
        facilitators=[alice.user_id],
        coordinator={"room": coordination, "language": "en"},
        regions=[
            {"id": "latam", "name": "Latin America", "room": latam, "languages": ["es", "en"],
             "timezone": "America/Bogota"},
            {"id": "sahel", "name": "Sahel", "room": sahel, "languages": ["fr", "en"],
             "timezone": "Africa/Dakar"},
        ],
    )
    await bot.start()
    await alice.wait_for_member(latam, bot.user_id)
    await alice.wait_for_member(sahel, bot.user_id)
    # The rooms read Spanish and French first; these people want the bot's answers in English.
    for person, room in ((alice, latam), (bob, latam), (chloe, sahel)):
        chosen = await person.send(room, "!lang en")
        await person.wait_for_notice(room, "Your language is now", after=chosen)
    return alice, bob, chloe, bot, latam, sahel, coordination


async def _meeting(facilitator, room, lines, bot) -> None:
    """A meeting: each (person, text) in turn, every command answered before the next."""
    start = await facilitator.send(room, "!startmeeting")
    await facilitator.wait_for_notice(room, "Meeting started", sender=bot.user_id, after=start)
    for person, text in lines:
        sent = await person.send(room, text)
        if text.startswith("!"):
            await person.wait_for(room, lambda e, s=sent: _answers(e, s, bot), timeout=20)
    end = await facilitator.send(room, "!endmeeting")
    await facilitator.wait_for_notice(room, "Meeting ended", after=end)


def _answers(event, sent: str, bot) -> bool:
    return getattr(event, "sender", None) == bot.user_id and getattr(event, "event_id", "") != sent


def _cli(bot, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "meetbot", *args, "--config", str(bot.config_path)],
        capture_output=True, text=True, check=True, timeout=180,
    ).stdout


def _database_bytes(bot) -> bytes:
    db = Path(bot.settings["data_dir"]) / "meetbot.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _files_text(folder: Path) -> str:
    texts = []
    for path in folder.rglob("*"):
        if path.suffix == ".qdpx":
            with zipfile.ZipFile(path) as archive:
                texts += [archive.read(n).decode("utf-8") for n in archive.namelist()]
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


async def test_summary_report_and_exports_across_two_regions(make_participant, make_bot):
    alice, bob, chloe, bot, latam, sahel, coordination = await _programme(
        make_participant, make_bot)

    start = await alice.send(latam, "!startmeeting")
    await alice.wait_for_notice(latam, "Meeting started", after=start)
    said = await bob.send(latam, "Compartamos las notas cada semana")
    await alice.react(latam, said, "👍")
    idea = await bob.send(latam, "!idea un cuaderno compartido")
    await bob.wait_for_notice(latam, "Idea #2 recorded", after=idea)
    end = await alice.send(latam, "!endmeeting")
    await alice.wait_for_notice(latam, "Meeting ended", after=end)

    summary = await alice.wait_for_notice(coordination, "Meeting 1 of 4", sender=bot.user_id)
    assert "Latin America" in summary.body and " America/Bogota (" in summary.body
    assert "Prompt 1/3 (work-learn-together): At this moment" in summary.body
    assert "un cuaderno compartido" in summary.body
    assert "★ 1: Compartamos las notas cada semana" in summary.body
    await alice.wait_for(coordination, lambda e: getattr(e, "source", {}).get("content", {})
                         .get("msgtype") == "m.file")
    await alice.wait_for_notice(coordination, "Research report", sender=bot.user_id)

    await _meeting(alice, sahel, [(chloe, "Les ateliers ont bien marché"),
                                  (chloe, "!idea une radio communautaire")], bot)
    await bot.settled()

    # Only facilitators and the coordinator run reports.
    refused = await bob.send(coordination, "!report")
    await bob.wait_for_notice(coordination, "Only a facilitator", after=refused)
    asked = await alice.send(coordination, "!report")
    # The report is drawn in the rendering thread: people in the regions are answered meanwhile.
    status = await bob.send(latam, "!status")
    await bob.wait_for_notice(latam, "No meeting is running here", after=status)
    await alice.wait_for_notice(coordination, "Building the report", after=asked)
    uploaded = await alice.wait_for(
        coordination, lambda e: getattr(e, "source", {}).get("content", {})
        .get("msgtype") == "m.file", after=asked)
    await bot.settled()
    # What is posted is the page the bot wrote, not a second rendering of it.
    written = Path(bot.settings["data_dir"]) / "reports" / "report.html"
    assert uploaded.source["content"]["info"]["size"] == written.stat().st_size

    out = Path(bot.settings["data_dir"]) / "cli-report"
    _cli(bot, "report", "--format", "json", "--format", "html", "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    row = next(r for r in report["matrix"] if r["prompt_id"] == "work-learn-together")
    cells = {c["region"]: c["meetings"] for c in row["cells"]}
    assert [i["text"] for i in cells["latam"][0]["items"]] == ["un cuaderno compartido"]
    assert [i["text"] for i in cells["sahel"][0]["items"]] == ["une radio communautaire"]
    assert {r["region"]: r["cells"][0]["status"]
            for r in report["progress"]} == {"latam": "held", "sahel": "held"}
    assert "data:image/svg+xml;base64," in (out / "report.html").read_text()

    exports = Path(bot.settings["data_dir"]) / "cli-exports"
    _cli(bot, "export", "--format", "csv", "--format", "jsonl", "--format", "qdpx",
         "--out", str(exports))
    exported = _files_text(exports)
    assert "un cuaderno compartido" in exported and "une radio communautaire" in exported
    for person in (alice, bob, chloe):
        assert person.user_id not in exported
        assert person.user_id.split(":")[0] not in exported
    assert bot.homeserver.server_name not in exported
    assert "Alice" not in exported and "Bob" not in exported and "Chloé" not in exported
    jsonl = (exports / "meetbot-export.jsonl").read_text()
    rows = [json.loads(line) for line in jsonl.splitlines()]
    assert {r["speaker"][:2] for r in rows} == {"P-"}
    assert not list(exports.glob("*mapping*"))


async def test_opting_out_and_withdrawing_leave_no_trace(make_participant, make_bot) -> None:
    alice, bob, _chloe, bot, latam, _sahel, coordination = await _programme(
        make_participant, make_bot)
    start = await alice.send(latam, "!startmeeting")
    await alice.wait_for_notice(latam, "Meeting started", after=start)
    said = await bob.send(latam, "SECRET-ONE about the river")
    await alice.react(latam, said, "👍")
    idea = await bob.send(latam, "!idea SECRET-TWO a shared boat")
    await bob.wait_for_notice(latam, "Idea #2 recorded", after=idea)
    decided = await alice.send(latam, "!agreed we meet by the river")
    await alice.wait_for_notice(latam, "Decision #3 recorded", after=decided)
    # Others name Bob too: an action assigned to him, and the chair he is given.
    assigned = await alice.send(latam, f"!action {bob.user_id} rows the boat",
                                mentions=[bob.user_id])
    await alice.wait_for_notice(latam, "Action #4 recorded", after=assigned)
    chaired = await alice.send(latam, f"!chair {bob.user_id}", mentions=[bob.user_id])
    await alice.wait_for_notice(latam, "is now a chair", after=chaired)
    moved = await bob.send(latam, "!next")  # as a chair
    await bob.wait_for_notice(latam, "Prompt 2/3", after=moved)

    out = await bob.send(latam, "!optout")
    notice = await bob.wait_for_notice(latam, "Someone opted out", after=out)
    assert "Bob" not in notice.body and bob.user_id not in notice.body
    quiet = await bob.send(latam, "SECRET-THREE said while opted out")
    back = await bob.send(latam, "!optin")
    await bob.wait_for_notice(latam, "Welcome back", after=back)
    await bob.send(latam, "SECRET-FOUR said after opting in")
    end = await alice.send(latam, "!endmeeting")
    await alice.wait_for_notice(latam, "Meeting ended", after=end)
    await bot.settled()
    stored = _database_bytes(bot)
    for gone in (b"SECRET-ONE", b"SECRET-TWO", b"SECRET-THREE"):
        assert gone not in stored, gone
    assert b"SECRET-FOUR" in stored
    assert quiet  # the message reached the room; the bot kept nothing of it

    await _meeting(alice, latam, [(bob, "SECRET-FIVE in the second meeting")], bot)
    _cli(bot, "export", "--format", "csv", "--format", "qdpx")  # into DATA_DIR/exports
    _cli(bot, "report")
    data_dir = Path(bot.settings["data_dir"])
    assert "SECRET-FIVE" in _files_text(data_dir / "exports")

    # Nobody can withdraw someone else; the person's own withdrawal asks first.
    other = await alice.send(latam, f"!withdraw {bob.user_id} confirm")
    await alice.wait_for_notice(latam, "Nobody can withdraw someone else", after=other)
    ask = await bob.send(latam, "!withdraw")
    await bob.wait_for_notice(latam, "!withdraw confirm", after=ask)
    confirm = await bob.send(latam, "!withdraw confirm")
    await bob.wait_for_notice(latam, "withdrawal is under way", after=confirm)
    dm = await bob.direct_chat(known={latam, coordination})
    await bob.join(dm)
    confirmation = await bob.wait_for_notice(dm, "have been withdrawn", timeout=60)
    assert "in 2 meetings" in confirmation.body
    await bot.settled()
    await bot.stop()  # the database closed: everything is in the file, nothing in a log

    stored = _database_bytes(bot)
    outputs = _files_text(data_dir / "minutes") + _files_text(data_dir / "reports") + \
        _files_text(data_dir / "exports")
    for gone in ("SECRET-FOUR", "SECRET-FIVE", "SECRET-TWO", "SECRET-ONE"):
        assert gone.encode() not in stored, gone
        assert gone not in outputs, gone
    assert bob.user_id.encode() not in stored
    assert bob.user_id not in outputs
    # The meetings themselves are still whole: Alice's decision stands, numbered as before.
    minutes = [json.loads(p.read_text()) for p in (data_dir / "minutes").glob("*.json")]
    assert len(minutes) == 2
    first = next(m for m in minutes if any(i["kind"] == "decision" for i in m["items"]))
    assert [(i["n"], i["text"]) for i in first["items"] if i["kind"] == "decision"] == [
        (3, "we meet by the river")]
    # Bob's !next as a chair still counts on replay: the second prompt is still there.
    assert [i["prompt_id"] for i in first["items"] if i["kind"] == "prompt"] == [
        "work-learn-together", "how-we-decide"]
    # The audit trail says that a withdrawal happened, never who or what.
    con = sqlite3.connect(data_dir / "meetbot.sqlite3")
    audit = con.execute("SELECT kind, meetings FROM research_audit ORDER BY id").fetchall()
    con.close()
    assert ("withdrawal", 2) in audit and ("optout", 1) in audit
    assert coordination
