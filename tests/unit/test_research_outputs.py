"""Reports and exports built from two regions' meetings played through the real core."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from components import require_component

from meetbot.config.schema import Config
from meetbot.core.events import Message
from meetbot.core.model import Agenda, Prompt, Region, RoomSettings, RoomState
from meetbot.minutes.document import MinutesContext, build_minutes_data
from meetbot.research.dataset import HeldMeeting
from meetbot.research.export import message_rows, to_csv, to_jsonl, write_export
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import NS
from meetbot.research.report import build_report
from meetbot.research.report_render import render_report_html, render_report_markdown
from meetbot.runtime.features import engine
from meetbot.storage.store import MeetingRow

handle = engine().handle  # the core with every feature, as the bot runs it

PROMPTS = (
    Prompt("worked", {"en": "What worked?", "es": "¿Qué funcionó?",
                      "fr": "Qu'est-ce qui a marché ?"}),
    Prompt("next", {"en": "What next?", "es": "¿Y ahora?", "fr": "Et ensuite ?"}),
)
AGENDA = Agenda("default", {"en": "Check-in"}, PROMPTS)
ANA, BEA, CLE = "@ana:example.org", "@bea:example.org", "@cle:example.org"
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
CONFIG = Config.model_validate({
    "homeserver": "https://example.org", "user_id": "@meetbot:example.org", "password": "x",
    "regions": [
        {"id": "latam", "name": "Latin America", "room": "!latam:example.org",
         "languages": ["es", "en"], "timezone": "America/Bogota",
         "meetings": [{"number": 1, "starts": "2024-05-01T10:00"},
                      {"number": 2, "starts": "2024-05-15T10:00"}]},
        {"id": "sahel", "name": "Sahel", "room": "!sahel:example.org",
         "languages": ["fr", "en"], "timezone": "Africa/Dakar"},
    ],
})


def play(region: Region, start: datetime, lines: list[tuple[str, str]]) -> HeldMeeting:
    """A meeting where each (person, text) is said a minute after the last."""
    settings = RoomSettings(region=region, agenda=AGENDA, bot_user_id="@meetbot:example.org",
                            facilitators=frozenset({ANA}))
    state = RoomState(region.room_id)
    for n, (who, body) in enumerate([(ANA, "!startmeeting"), *lines, (ANA, "!endmeeting")]):
        handle(state, settings, Message(f"${region.id}{start:%d}{n}", region.room_id, who,
                                        start + timedelta(minutes=n), body=body,
                                        display_name=who[1:4].title()))
    meeting = state.last_meeting
    assert meeting is not None
    doc = build_minutes_data(MinutesContext(
        meeting=meeting, region_name=region.name,
        agenda_prompts={p.id: p.texts for p in PROMPTS},
        translations={}, languages={},
    ))
    row = MeetingRow(meeting.id, region.room_id, region.id, meeting.title, meeting.started_at,
                     meeting.ended_at, "ended")
    doc.update(meeting_number=1, meetings_planned=4, endorsements=[])
    return HeldMeeting(row, 1, 4, doc)


@pytest.fixture
def meetings() -> list[HeldMeeting]:
    latam = Region("latam", "Latin America", "!latam:example.org", ("es", "en"), "America/Bogota")
    sahel = Region("sahel", "Sahel", "!sahel:example.org", ("fr", "en"), "Africa/Dakar")
    return [
        play(latam, datetime(2024, 5, 1, 15, tzinfo=timezone.utc), [
            (BEA, "Los talleres funcionaron"),
            (BEA, f"!idea talleres los sábados con {CLE}"),
            (ANA, "!next"),
            (ANA, "!agreed repetimos en junio"),
            (ANA, f"!action {BEA} reserva la sala"),
        ]),
        play(sahel, datetime(2024, 5, 2, 9, tzinfo=timezone.utc), [
            (CLE, "Les ateliers ont bien marché <script>alert(1)</script>"),
            (ANA, "!next"),
            (CLE, "!idea une radio communautaire <script>alert(1)</script>"),
        ]),
    ]


def report_of(meetings: list[HeldMeeting]) -> dict[str, Any]:
    return build_report(CONFIG, meetings, {p.id: p.texts for p in PROMPTS}, NOW)


def test_the_matrix_lines_regions_up_by_prompt_id(meetings: list[HeldMeeting]) -> None:
    report = report_of(meetings)
    rows = {row["prompt_id"]: row for row in report["matrix"]}
    assert list(rows) == ["worked", "next"]
    worked = {cell["region"]: cell["meetings"] for cell in rows["worked"]["cells"]}
    assert [i["text"] for i in worked["latam"][0]["items"]] == [f"talleres los sábados con {CLE}"]
    assert worked["sahel"][0]["messages"] == 1
    nexts = {cell["region"]: cell["meetings"] for cell in rows["next"]["cells"]}
    assert [i["kind"] for i in nexts["latam"][0]["items"]] == ["decision", "action"]
    assert [i["text"] for i in nexts["sahel"][0]["items"]] == [
        "une radio communautaire <script>alert(1)</script>"]


def test_decisions_actions_progress_and_participation(meetings: list[HeldMeeting]) -> None:
    report = report_of(meetings)
    assert [d["text"] for d in report["decisions"]] == ["repetimos en junio"]
    assert report["open_actions"][0]["owners"] == ["Bea"]
    latam = next(r for r in report["progress"] if r["region"] == "latam")
    # Meeting 1 held; meeting 2 was due on 15 May and the report is written on 1 June.
    assert [c["status"] for c in latam["cells"]] == ["held", "missed", "unscheduled", "unscheduled"]
    sahel = next(p for p in report["participation"] if p["region"] == "sahel")
    assert sahel["people"] == 2 and sahel["messages"] == 1


def test_exports_carry_pseudonyms_never_matrix_ids(
    meetings: list[HeldMeeting], tmp_path: Path
) -> None:
    pseudonyms = Pseudonyms.load(tmp_path)
    rows = list(message_rows(meetings, pseudonyms))
    assert {r["speaker"] for r in rows} == {pseudonyms.of(u) for u in (ANA, BEA, CLE)}
    assert all(r["speaker"].startswith("P-") and len(r["speaker"]) == 8 for r in rows)
    idea = next(r for r in rows if r["item_kind"] == "idea" and r["region"] == "latam")
    assert idea["text"] == f"talleres los sábados con {pseudonyms.of(CLE)}"
    assert idea["prompt_id"] == "worked"
    for text in (to_csv(rows), to_jsonl(rows)):
        assert "@" not in text and "example.org" not in text
        assert "Bea" not in text and "Cle" not in text
    # Stable across exports: the same secret gives the same pseudonym.
    assert Pseudonyms.load(tmp_path).of(BEA) == pseudonyms.of(BEA)
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert {"speaker", "region", "meeting_number", "prompt_id", "language", "text", "text_en",
            "text_fr", "text_es", "item_kind"} <= set(table[0])


def test_qdpx_is_a_refi_qda_project(meetings: list[HeldMeeting], tmp_path: Path) -> None:
    path = write_export(tmp_path, "qdpx", meetings, Pseudonyms.load(tmp_path / "secret"))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = ET.fromstring(archive.read("project.qde"))
        q = f"{{{NS}}}"
        assert root.tag == f"{q}Project" and root.get("name")
        assert [child.tag.removeprefix(q) for child in root] == [
            "Users", "CodeBook", "Variables", "Cases", "Sources"]
        sources = root.findall(f"{q}Sources/{q}TextSource")
        assert len(sources) == 2
        guids = {el.get("guid") for el in root.iter() if el.get("guid")}
        for source in sources:
            text = archive.read(f"sources/{source.get('guid')}.txt").decode("utf-8")
            assert source.get("plainTextPath") == f"internal://{source.get('guid')}.txt"
            for selection in source.findall(f"{q}PlainTextSelection"):
                said = text[int(selection.get("startPosition")):int(selection.get("endPosition"))]
                assert said and "@" not in said
                for ref in selection.iter(f"{q}CodeRef"):
                    assert ref.get("targetGUID") in guids
        cases = root.findall(f"{q}Cases/{q}Case")
        assert {c.get("name")[:2] for c in cases} == {"P-"}
        for case in cases:
            values = case.findall(f"{q}VariableValue")
            assert {v.find(f"{q}VariableRef").get("targetGUID") for v in values} <= guids
            assert case.find(f"{q}SourceRef").get("targetGUID") in guids
    assert all(n == "project.qde" or n.startswith("sources/") for n in names)


def test_markdown_report_escapes_what_people_typed(meetings: list[HeldMeeting]) -> None:
    text = render_report_markdown(report_of(meetings))
    assert "`worked`" in text and "<script>" not in text
    assert "| Latin America |" in text


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require_component("chromium", path is not None, "apt-get install chromium")
    assert path is not None
    return path


def _browser(chromium: str, tmp_path: Path, *args: str) -> str:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout


def test_report_reads_well_in_a_browser(meetings: list[HeldMeeting], chromium: str,
                                        tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_report_html(report_of(meetings)), encoding="utf-8")
    dom = _browser(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert "<h1>Research programme report</h1>" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "<script" not in dom
    assert dom.count('<img src="data:image/svg+xml;base64,') == 3
    assert 'id="prompt-worked"' in dom and 'id="prompt-next"' in dom
    shot = tmp_path / "report.png"
    _browser(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    assert shot.stat().st_size > 10_000


def test_report_json_round_trips(meetings: list[HeldMeeting]) -> None:
    report = report_of(meetings)
    assert json.loads(json.dumps(report)) == report


def test_coordinator_summary_numbers_the_meeting_and_groups_by_prompt(
    meetings: list[HeldMeeting],
) -> None:
    from meetbot.minutes.summaries import coordinator_summary

    doc = meetings[0].doc
    doc["items"][1]["translations"] = {"en": "workshops on Saturdays"}
    doc["items"][1]["language"] = "es"
    doc["endorsements"] = [{"event_id": doc["log"][1]["event_id"], "line": 2, "count": 2,
                            "keys": {"👍": 2}}]
    summary = coordinator_summary(doc, "en")
    # The region's time with its zone, UTC once beside it; the meeting's place in the series.
    assert "2024-05-01 10:00–10:06 America/Bogota (15:00–15:06 UTC) (6m)" in summary
    assert "Meeting 1 of 4." in summary and "(UTC-05:00)" not in summary
    # Prompts by their place in the agenda, as the room saw them announced.
    assert "**Prompt 1/2** (worked):" in summary and "**Prompt 2/2** (next):" in summary
    assert "workshops on Saturdays (original, es: talleres los sábados" in summary
    assert "★ 2: Los talleres funcionaron — Bea" in summary
