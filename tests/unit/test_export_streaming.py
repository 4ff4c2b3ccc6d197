"""The exports are written one meeting at a time, and give what they gave when every meeting
was in memory at once.

Two regions meet twice each, played through the real app (:mod:`held_programme`); their ideas
and decisions say much the same things, so the REFI-QDA project carries suggested idea
families. The CSV, the JSON lines and the project written meeting by
meeting (``write_exports``) are those the whole record gave at once: the builders of before
are kept below as the reference.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from held_programme import programme

from meetbot.app import MeetBotApp
from meetbot.research.dataset import HeldMeeting, held_meetings
from meetbot.research.export import (
    Exports,
    message_rows,
    to_csv,
    to_jsonl,
    write_export,
)
from meetbot.research.outputs import write_exports
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import NS, _el, _family_codes, build_qdpx, guid, qdpx_families
from meetbot.research.qdpx import transcript as qdpx_transcript


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    app = await programme(tmp_path)
    yield app
    await app.store.db.close()


def _contents(path: Path | io.BytesIO) -> dict[str, bytes]:
    """An archive's files in their order, its time stamps set aside."""
    with zipfile.ZipFile(path) as archive:
        return {name: re.sub(rb'creationDateTime="[^"]*"', b"T", archive.read(name))
                for name in archive.namelist()}


async def test_the_exports_written_meeting_by_meeting_are_those_of_the_whole_record(
    app: MeetBotApp, tmp_path: Path
) -> None:
    streamed = await write_exports(app, ["csv", "jsonl", "qdpx"], tmp_path / "streamed")
    assert [p.name for p in streamed] == [
        "meetbot-export.csv", "meetbot-export.jsonl", "meetbot-export.qdpx"]
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == [
        p.name for p in streamed]  # no temporary file left behind

    whole = await held_meetings(app)
    assert len(whole) == 4
    pseudonyms = Pseudonyms.load(app.config.data_path)
    rows = list(message_rows(whole, pseudonyms))
    assert streamed[0].read_bytes() == to_csv(rows).encode("utf-8")
    assert streamed[1].read_text(encoding="utf-8") == to_jsonl(rows)

    families = qdpx_families(whole, pseudonyms, "en")
    assert any(prompt["families"] for prompt in families), "the ideas make families"
    expected = _contents(io.BytesIO(reference_qdpx(rows, whole, "meetbot research export",
                                                   families)))
    assert _contents(streamed[2]) == expected
    assert list(_contents(streamed[2])) == list(expected)
    assert b"Idea families" in expected["project.qde"]
    assert zipfile.ZipFile(streamed[2]).testzip() is None


async def test_a_language_first_heard_late_gets_its_column_in_every_row(
    app: MeetBotApp, tmp_path: Path
) -> None:
    """The CSV's header waits for the last meeting: a language that only the last meeting
    brings (Wolof here) is a column of the rows written before it, empty there."""
    whole = await held_meetings(app)
    last = whole[-1].doc
    last["log"][3]["translations"] = {**last["log"][3]["translations"], "wo": "wolof"}
    pseudonyms = Pseudonyms.load(app.config.data_path)
    path = write_export(tmp_path, "csv", whole, pseudonyms, with_ids=True)
    assert path.read_bytes() == to_csv(list(message_rows(whole, pseudonyms, with_ids=True)),
                                       with_ids=True).encode("utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[0].split(",")[10:14] == [
        "text_en", "text_fr", "text_es", "text_wo"]


async def test_the_project_of_every_selection_is_the_element_tree_of_the_whole(
    app: MeetBotApp, tmp_path: Path
) -> None:
    """Some meetings or none, with and without families, a hostile project name."""
    whole = await held_meetings(app)
    pseudonyms = Pseudonyms.load(tmp_path)
    families = qdpx_families(whole, pseudonyms, "en")
    for meetings in (whole, whole[:1], []):
        rows = list(message_rows(meetings, pseudonyms))
        for chosen in (families, []):
            ours = build_qdpx(rows, meetings, "p <&> é", chosen)
            theirs = reference_qdpx(rows, meetings, "p <&> é", chosen)
            assert _contents(io.BytesIO(ours)) == _contents(io.BytesIO(theirs))


async def test_only_a_meeting_at_a_time_is_held(app: MeetBotApp, tmp_path: Path) -> None:
    """What the exports keep between meetings: the idea families' contributions (a few per
    meeting), the project's cases and codes, and where each piece sits in a temporary file;
    the rows and the transcripts are not kept."""
    pseudonyms = Pseudonyms.load(app.config.data_path)
    with Exports(tmp_path, ["csv", "jsonl", "qdpx"], pseudonyms) as exports:
        for held in await held_meetings(app):
            exports.add(held)
            kept = json.dumps([c.as_dict() for _p, c in exports.contributions[-1][1]])
            assert len(kept) < len(json.dumps(held.doc)) / 4
        assert exports.project is not None
        assert len(exports.project.files) == 4
        assert all(isinstance(piece[0], int) for piece in exports.project.pieces)
        exports.finish()


def reference_qdpx(rows: Sequence[dict[str, Any]], meetings: Sequence[HeldMeeting], name: str,
                   families: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """The project as one ElementTree of the whole record (the builder before streaming)."""
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
    in_family = _family_codes(codes, families) if families else {}
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
            text, spans = qdpx_transcript(held, by_meeting.get(meeting_id, []))
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
                ) + in_family.get((meeting_id, int(row["line"])), []):
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
