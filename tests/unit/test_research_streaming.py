"""Reports and exports read the record one meeting at a time, and give what they gave when
every meeting was in memory at once.

A small programme is played through the real app (``open_app`` and ``ingest`` on a SQLite
file, translations stored as the live worker stores them, reactions that endorse). The
report built from :func:`report_part` of each meeting equals the one built from the whole
documents; the exports written meeting by meeting equal the ones written from the list of
meetings; the REFI-QDA project built meeting by meeting is, byte for byte, the one the
ElementTree of the whole project gave (that builder is kept below as the reference).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from meetbot.app import MeetBotApp
from meetbot.config.schema import load_config
from meetbot.core.events import Edit, Event, Message, Reaction
from meetbot.research.dataset import HeldMeeting, held_meetings
from meetbot.research.export import message_rows, write_export
from meetbot.research.outputs import agenda_prompts, build_full_report, write_exports
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import NS, QdpxProject, _el, build_qdpx, guid, transcript
from meetbot.research.report import build_report, report_part
from meetbot.runtime.features import open_app

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
FACILITATOR = "@maya:example.org"
LANGUAGES = {"latam": ["es", "en"], "sahel": ["fr", "en"]}


async def programme(tmp_path: Path) -> MeetBotApp:
    config_path = tmp_path / "meetbot.yaml"
    config_path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:9", "user_id": "@meetbot:example.org",
        "password": "x", "data_dir": str(tmp_path / "data"),
        "prompts_dir": str(ROOT / "prompts"), "translation": {"backend": "none"},
        "facilitators": [FACILITATOR],
        "regions": [{"id": rid, "name": rid.title(), "room": f"!{rid}:example.org",
                     "languages": langs, "timezone": "UTC"}
                    for rid, langs in LANGUAGES.items()],
    }))
    app = await open_app(load_config(config_path))
    for number in (1, 2):
        for rid, langs in LANGUAGES.items():
            events, spoken = meeting(rid, number, langs)
            for event in events:
                await app.ingest(event)
            async with app.store.db.transaction():
                for event_id, lang in spoken.items():
                    await app.store.save_translations(
                        event_id, lang, {t: f"[{t}] {event_id}" for t in langs if t != lang},
                        "test")
    return app


def meeting(rid: str, number: int, langs: list[str]) -> tuple[list[Event], dict[str, str]]:
    room = f"!{rid}:example.org"
    people = [f"@{rid}{i}:example.org" for i in range(4)]
    start = datetime(2025, 1, 1, 9, tzinfo=timezone.utc) + timedelta(weeks=number)
    events: list[Event] = []
    spoken: dict[str, str] = {}

    def add(event_type: type, sender: str, **fields: Any) -> str:
        event_id = f"${rid}{number}-{len(events)}"
        events.append(event_type(event_id, room, sender, start + timedelta(seconds=len(events)),
                                 **fields))
        return event_id

    def say(sender: str, body: str, **fields: Any) -> str:
        return add(Message, sender, body=body, display_name=sender[1:5].title(),
                   sender_power=50 if sender == FACILITATOR else 0, **fields)

    say(FACILITATOR, f"!startmeeting {rid} {number}")
    last = ""
    for n in range(30):
        who = people[n % 4]
        if n in (5, 17):
            say(FACILITATOR, "!next")
        elif n == 9:
            say(who, f"!idea {rid} <b>radio</b> * {n}")
        elif n == 11:
            say(FACILITATOR, f"!agreed {rid} meets again")
        elif n == 13:
            say(FACILITATOR, f"!action {people[1]} books the room")
        else:
            lang = langs[n % len(langs)]
            event_id = say(who, f"{lang} message {n} of {rid} <i>{number}</i>",
                           reply_to=last if n % 7 == 0 and last else None)
            spoken[event_id] = lang
            if n % 4 == 1:
                add(Reaction, people[(n + 1) % 4], target=event_id, key="👍")
                add(Reaction, people[(n + 2) % 4], target=event_id, key="❤️")
            if n == 20:
                add(Edit, who, target=event_id, body=f"{lang} edited {n}")
            last = event_id
    say(FACILITATOR, "!endmeeting")
    return events, spoken


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    app = await programme(tmp_path)
    yield app
    await app.store.db.close()


async def test_the_report_from_report_parts_is_the_report_from_whole_documents(
    app: MeetBotApp,
) -> None:
    whole = await held_meetings(app)
    assert len(whole) == 4 and any(m.doc["endorsements"] for m in whole)
    expected = build_report(app.config, whole, agenda_prompts(app), NOW, "en")
    assert await build_full_report(app, now=NOW) == expected
    parts = [report_part(m) for m in whole]
    assert sum(len(str(p.doc)) for p in parts) < sum(len(str(m.doc)) for m in whole) / 2


def _contents(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: re.sub(r'creationDateTime="[^"]*"', "T", archive.read(name).decode())
                for name in archive.namelist()}


async def test_exports_written_meeting_by_meeting_are_the_exports_of_all_at_once(
    app: MeetBotApp, tmp_path: Path
) -> None:
    streamed = await write_exports(app, ["csv", "jsonl", "qdpx"], tmp_path / "streamed")
    whole = await held_meetings(app)
    pseudonyms = Pseudonyms.load(app.config.data_path)
    for path in streamed:
        fmt = path.suffix[1:]
        at_once = write_export(tmp_path / "at-once", fmt, whole, pseudonyms)
        if fmt == "qdpx":
            assert list(_contents(path)) == list(_contents(at_once))
            assert _contents(path) == _contents(at_once)
        else:
            assert path.read_bytes() == at_once.read_bytes()


async def test_the_project_is_byte_for_byte_the_element_tree_of_the_whole(
    app: MeetBotApp, tmp_path: Path
) -> None:
    whole = await held_meetings(app)
    rows = list(message_rows(whole, Pseudonyms.load(tmp_path)))
    for meetings, its_rows in ((whole, rows), (whole[:1], rows), ([], [])):
        ours = io.BytesIO(build_qdpx(its_rows, meetings, "p <&> é"))
        theirs = io.BytesIO(reference_qdpx(its_rows, meetings, "p <&> é"))
        with zipfile.ZipFile(ours) as a, zipfile.ZipFile(theirs) as b:
            assert a.namelist() == b.namelist()
            for name in a.namelist():
                assert _same_time(a.read(name)) == _same_time(b.read(name)), name
    project = QdpxProject("p")
    for held in whole:
        project.add(held, list(message_rows([held], Pseudonyms.load(tmp_path))))
    project.write(tmp_path / "written.qdpx")
    assert zipfile.ZipFile(tmp_path / "written.qdpx").testzip() is None


def _same_time(data: bytes) -> bytes:
    return re.sub(rb'creationDateTime="[^"]*"', b"T", data)


# The builder before meetings were added one at a time, verbatim (only its name and the
# wrapping of its first line changed).
def reference_qdpx(
    rows: Sequence[dict[str, Any]], meetings: Sequence[HeldMeeting], name: str
) -> bytes:
    ET.register_namespace("", NS)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    user = guid("user", "meetbot")
    project = ET.Element(f"{{{NS}}}Project", {
        "name": name, "origin": "meetbot", "creatingUserGUID": user, "creationDateTime": now,
    })
    _el(_el(project, "Users"), "User", guid=user, name="meetbot")

    kinds = sorted({r["item_kind"] for r in rows if r["item_kind"]})
    prompts = sorted({r["prompt_id"] for r in rows if r["prompt_id"]})
    codes = _el(_el(project, "CodeBook"), "Codes")
    prompt_root = _el(codes, "Code", guid=guid("code", "prompts"), name="prompt", isCodable="false")
    for pid in prompts:
        _el(prompt_root, "Code", guid=guid("code", "prompt", pid), name=pid, isCodable="true")
    kind_root = _el(codes, "Code", guid=guid("code", "kinds"), name="item kind", isCodable="false")
    for kind in kinds:
        _el(kind_root, "Code", guid=guid("code", "kind", kind), name=kind, isCodable="true")

    variables = _el(project, "Variables")
    for var in ("region", "language"):
        _el(variables, "Variable", guid=guid("variable", var), name=var, typeOfVariable="Text")

    by_meeting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting_id"], []).append(row)
    speakers: dict[str, dict[str, Any]] = {}
    for row in rows:
        who = speakers.setdefault(row["speaker"], {"regions": Counter(), "languages": Counter(),
                                                   "sources": []})
        who["regions"][row["region"]] += 1
        who["languages"][row["language"] or "unknown"] += 1
        if row["meeting_id"] not in who["sources"]:
            who["sources"].append(row["meeting_id"])
    if speakers:
        cases = _el(project, "Cases")
        for speaker, facts in sorted(speakers.items()):
            case = _el(cases, "Case", guid=guid("case", speaker), name=speaker)
            for var, counter in (("region", facts["regions"]), ("language", facts["languages"])):
                value = _el(case, "VariableValue")
                _el(value, "VariableRef", targetGUID=guid("variable", var))
                _el(value, "TextValue").text = counter.most_common(1)[0][0]
            for meeting_id in facts["sources"]:
                _el(case, "SourceRef", targetGUID=guid("source", meeting_id))

    files: dict[str, str] = {}
    if meetings:
        sources = _el(project, "Sources")
        for held in meetings:
            meeting_id = held.doc["meeting_id"]
            text, spans = transcript(held, by_meeting.get(meeting_id, []))
            source_guid = guid("source", meeting_id)
            files[f"sources/{source_guid}.txt"] = text
            source = _el(sources, "TextSource", guid=source_guid,
                         name=f"{held.doc['region']}-meeting-{held.number}-{meeting_id[:8]}",
                         plainTextPath=f"internal://{source_guid}.txt",
                         creatingUser=user, creationDateTime=now)
            for start, end, row in spans:
                selection = _el(source, "PlainTextSelection",
                                guid=guid("selection", meeting_id, row["line"]),
                                name=f"{row['speaker']} #{row['line']}",
                                startPosition=str(start), endPosition=str(end),
                                creatingUser=user, creationDateTime=now)
                for code in ([("prompt", row["prompt_id"])] if row["prompt_id"] else []) + (
                    [("kind", row["item_kind"])] if row["item_kind"] else []
                ):
                    coding = _el(selection, "Coding", guid=guid("coding", meeting_id, row["line"],
                                                                *code),
                                 creatingUser=user, creationDateTime=now)
                    _el(coding, "CodeRef", targetGUID=guid("code", *code))
    xml = ET.tostring(project, encoding="utf-8", xml_declaration=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for path, text in files.items():
            zf.writestr(path, text.encode("utf-8"))
    return archive.getvalue()
