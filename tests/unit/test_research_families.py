"""Idea families across regions and languages: the same idea in other words and other
languages lands in one family; records are played through the real engine."""

from __future__ import annotations

import json
import random
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from components import require_component
from test_pages_in_chromium import Elements, duplicate_ids
from test_research_outputs import AGENDA, ANA, BEA, CLE, CONFIG, NOW, PROMPTS

from meetbot.core.events import Message
from meetbot.core.model import Region, RoomSettings, RoomState
from meetbot.minutes.document import MinutesContext, build_minutes_data
from meetbot.research.dataset import HeldMeeting
from meetbot.research.export import write_export
from meetbot.research.families import Contribution, group, idea_families
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.qdpx import NS
from meetbot.research.removal import stripped, tombstone
from meetbot.research.report import build_report
from meetbot.research.report_render import render_report_html, render_report_markdown
from meetbot.runtime.features import engine
from meetbot.storage.store import MeetingRow
from meetbot.translation.apertium import ApertiumTranslator

core = engine()
DAN = "@dan:example.org"
LATAM = Region("latam", "Latin America", "!latam:example.org", ("es", "en"), "America/Bogota")
SAHEL = Region("sahel", "Sahel", "!sahel:example.org", ("fr", "en"), "Africa/Dakar")
PACIFIC = Region("pacific", "Pacific", "!pacific:example.org", ("en",), "Pacific/Fiji")
START = datetime(2024, 5, 1, 15, tzinfo=timezone.utc)


def play(region: Region, lines: list[tuple[str, str]], *, withdrawn: frozenset[str] = frozenset(),
         day: int = 0) -> HeldMeeting:
    """A meeting where each (person, text) is said a minute after the last. The messages of
    ``withdrawn`` people are kept as the record keeps them after a withdrawal (the store's
    own rule, :func:`meetbot.research.removal.stripped`), and the meeting is replayed."""
    settings = RoomSettings(region=region, agenda=AGENDA, bot_user_id="@meetbot:example.org",
                            facilitators=frozenset({ANA}))
    state = RoomState(region.room_id)
    start = START + timedelta(days=day)
    said = [(ANA, "!startmeeting"), *lines, (ANA, "!endmeeting")]
    stand_in = tombstone()
    for n, (who, body) in enumerate(said):
        event: Any = Message(f"${region.id}{day}-{n}", region.room_id, who,
                             start + timedelta(minutes=n), body=body,
                             display_name=who[1:4].title())
        if who in withdrawn:
            event, _words = stripped(event, prefix="!", commands=core.features.commands,
                                     sender=stand_in, created_items={event.event_id},
                                     facilitator_power=None)
        core.handle(state, settings, event)
    meeting = state.last_meeting
    assert meeting is not None
    doc = build_minutes_data(MinutesContext(
        meeting=meeting, region_name=region.name,
        agenda_prompts={p.id: p.texts for p in PROMPTS}, translations={}, languages={}))
    row = MeetingRow(meeting.id, region.room_id, region.id, meeting.title, meeting.started_at,
                     meeting.ended_at, "ended")
    doc.update(meeting_number=1, meetings_planned=4, endorsements=[])
    return HeldMeeting(row, 1, 4, doc)


def translate(held: HeldMeeting, language: str, into: dict[str, str]) -> HeldMeeting:
    """Give the meeting's ideas and decisions their translations, as the bot stores them."""
    for item in held.doc["items"]:
        if item["kind"] in ("idea", "decision"):
            item["language"] = language
            item["translations"] = {"en": into.get(item["text"], item["text"])}
    return held


def report_of(meetings: list[HeldMeeting], **kwargs: Any) -> dict[str, Any]:
    return build_report(CONFIG, meetings, {p.id: p.texts for p in PROMPTS}, NOW, **kwargs)


def worked(report: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in report["families"]["prompts"] if p["prompt_id"] == "worked")


def texts_of(prompt: dict[str, Any]) -> list[set[str]]:
    return [{q["text"] for q in f["quotes"]} for f in prompt["families"]]


# -- with real translations: Apertium into English ----------------------------------------

HOW = "apt-get install apertium apertium-eng-spa apertium-fr-es"
SAME_IDEA = {
    "en": "Run workshops for young people on Saturdays",
    "fr": "Organiser des ateliers pour les jeunes le samedi",
    "es": "Organizar talleres para los jóvenes los sábados",
}
OTHERS = {
    "en": "Share the minutes by email after every meeting",
    "fr": "Créer une radio communautaire",
    "es": "Pedir fondos al ayuntamiento para el transporte",
}


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    require_component("apertium", shutil.which("apertium") is not None, HOW)
    translator = ApertiumTranslator()
    pairs = {("es", "en"), ("fr", "es")}
    require_component("apertium's en-es and fr-es data", pairs <= translator.pairs(), HOW)
    return translator


def test_one_idea_in_three_languages_is_one_family(apertium: ApertiumTranslator) -> None:
    meetings = []
    for region, lang in ((PACIFIC, "en"), (SAHEL, "fr"), (LATAM, "es")):
        held = play(region, [(BEA, f"!idea {SAME_IDEA[lang]}"), (CLE, f"!idea {OTHERS[lang]}")])
        said = [SAME_IDEA[lang], OTHERS[lang]]
        english = said if lang == "en" else apertium.translate_batch(said, lang, "en")
        meetings.append(translate(held, lang, dict(zip(said, english, strict=True))))
    # Apertium's English: "Organise workshops for the youngsters the Saturday(s)".
    prompt = worked(report_of(meetings))
    assert len(prompt["families"]) == 1
    family = prompt["families"][0]
    assert family["size"] == 3 and family["regions"] == ["latam", "pacific", "sahel"]
    assert {q["text"] for q in family["quotes"]} == set(SAME_IDEA.values())
    assert {q["language"] for q in family["quotes"]} == {"en", "fr", "es"}
    assert "workshops" in family["terms"]
    assert sorted(u["text"] for u in prompt["unclustered"]) == sorted(OTHERS.values())


# -- deterministic: hand-made translations -------------------------------------------------

HAND = [  # (region, language, original, English)
    ("latam", "es", "Más talleres de cocina para jóvenes", "More cooking workshops for youth"),
    ("sahel", "fr", "Des ateliers de cuisine pour les jeunes", "Cooking workshops for youth"),
    ("pacific", "en", "Cooking workshops for the youth", "Cooking workshops for the youth"),
    ("sahel", "fr", "Une radio communautaire en wolof", "A community radio in Wolof"),
    ("latam", "es", "Una radio comunitaria", "A community radio"),
    ("pacific", "en", "Ask the council for bus fares", "Ask the council for bus fares"),
]


def hand_made() -> list[Contribution]:
    return [Contribution(region, f"m-{n}", 1, n + 1, "idea", text, lang, {"en": english},
                         f"P-{n:06d}") for n, (region, lang, text, english) in enumerate(HAND)]


def test_hand_made_translations_give_these_families() -> None:
    grouped = group(hand_made(), "en")
    assert [f["size"] for f in grouped["families"]] == [3, 2]
    cooking, radio = grouped["families"]
    assert cooking["regions"] == ["latam", "pacific", "sahel"]
    assert radio["regions"] == ["latam", "sahel"]
    assert {q["text"] for q in radio["quotes"]} == {HAND[3][2], HAND[4][2]}
    assert cooking["terms"][:2] == ["cooking", "cooking workshops"]
    # The quote closest to the centre comes first: the plainest phrasing.
    assert cooking["quotes"][0]["text"] == HAND[1][2]
    assert [u["text"] for u in grouped["unclustered"]] == [HAND[5][2]]
    # Quotes keep their original language beside the translation.
    assert {(q["language"], q["translations"]["en"]) for q in radio["quotes"]} == {
        ("fr", "A community radio in Wolof"), ("es", "A community radio")}


def test_families_are_the_same_whatever_the_order() -> None:
    first = group(hand_made(), "en")
    assert group(hand_made(), "en") == first
    shuffled = hand_made()
    random.Random(7).shuffle(shuffled)
    again = group(shuffled, "en")
    assert [{q["text"] for q in f["quotes"]} for f in again["families"]] == [
        {q["text"] for q in f["quotes"]} for f in first["families"]]


def test_without_a_translation_the_original_is_read_and_accents_fold() -> None:
    items = [Contribution("latam", "m", 1, 1, "idea", "Educación ambiental", "es"),
             Contribution("sahel", "n", 1, 1, "idea", "educacion ambiental!", None),
             Contribution("sahel", "n", 1, 2, "idea", "Bus", None)]
    grouped = group(items, "en")
    assert [f["size"] for f in grouped["families"]] == [2]
    assert [u["text"] for u in grouped["unclustered"]] == ["Bus"]


def test_few_or_no_contributions() -> None:
    assert group([], "en") == {"families": [], "unclustered": []}
    one = group([Contribution("latam", "m", 1, 1, "idea", "a", None)], "en")
    assert one["families"] == [] and len(one["unclustered"]) == 1


# -- through the report: consent, pseudonyms, decisions and endorsements --------------------


def two_regions(*, withdrawn: frozenset[str] = frozenset()) -> list[HeldMeeting]:
    latam = play(LATAM, [(BEA, "!idea talleres de cocina para jóvenes"),
                         (DAN, "!idea radio comunitaria")], withdrawn=withdrawn)
    sahel = play(SAHEL, [(CLE, f"!idea ateliers de cuisine pour les jeunes avec {DAN}"),
                         (ANA, "!next"), (ANA, "!agreed une radio communautaire")],
                 withdrawn=withdrawn)
    translate(latam, "es", {"talleres de cocina para jóvenes": "cooking workshops for youth",
                            "radio comunitaria": "community radio"})
    translate(sahel, "fr", {f"ateliers de cuisine pour les jeunes avec {DAN}":
                            f"cooking workshops for youth with {DAN}",
                            "une radio communautaire": "a community radio"})
    return [latam, sahel]


def test_a_withdrawn_idea_is_in_no_family() -> None:
    before = worked(report_of(two_regions()))
    assert texts_of(before) == [{"talleres de cocina para jóvenes",
                                 f"ateliers de cuisine pour les jeunes avec {DAN}"}]
    report = report_of(two_regions(withdrawn=frozenset({BEA})))
    prompt = worked(report)
    assert prompt["families"] == []
    assert "cocina" not in json.dumps(report["families"], ensure_ascii=False)
    assert "cocina" not in render_report_html(report)


def test_decisions_join_ideas_across_prompts_only_within_a_prompt() -> None:
    report = report_of(two_regions())
    nexts = next(p for p in report["families"]["prompts"] if p["prompt_id"] == "next")
    assert [u["kind"] for u in nexts["unclustered"]] == ["decision"]
    # "radio comunitaria" answered "worked", the decision "next": no family across prompts.
    assert all("radio" not in " ".join(texts) for texts in texts_of(worked(report)))


def test_most_endorsed_messages_are_contributions() -> None:
    latam = play(LATAM, [(BEA, "Cooking workshops for the youth worked"), (DAN, "hola")])
    sahel = play(SAHEL, [(CLE, "!idea cooking workshops for youth")])
    line = next(x for x in latam.doc["log"] if x["body"].startswith("Cooking"))
    latam.doc["endorsements"] = [{"event_id": line["event_id"], "line": line["line"],
                                  "count": 4, "keys": {"👍": 4}}]
    family = worked(report_of([latam, sahel]))["families"][0]
    endorsed = next(q for q in family["quotes"] if q["kind"] == "endorsed")
    assert endorsed["count"] == 4 and family["regions"] == ["latam", "sahel"]


def test_pseudonymous_families_name_nobody(tmp_path: Path) -> None:
    pseudonyms = Pseudonyms.load(tmp_path)
    report = report_of(two_regions(), pseudonyms=pseudonyms)
    text = json.dumps(report["families"], ensure_ascii=False)
    assert pseudonyms.of(DAN) in text
    for leak in ("@", "example.org", "Dan", "Cle", "Bea"):
        assert leak not in text
    page = render_report_html(report)
    start = page.index('<h2 id="families"')
    assert "example.org" not in page[start:page.index('<h2 id="decisions"')]


def test_html_and_markdown_show_families_folded_with_languages() -> None:
    report = report_of(two_regions())
    page = render_report_html(report)
    assert duplicate_ids(page) == []
    elements = Elements(page)
    assert elements.where("a", href="#families")
    folded = [a for a in elements.where("details") if (a.get("id") or "").startswith("families-")]
    assert folded and all("open" not in a for a in folded)
    assert elements.where("li", id="family-1-1")
    originals = [a for t, a in elements.found if t == "span" and a.get("lang") in ("es", "fr")]
    assert len(originals) >= 2
    assert 'lang="es">talleres de cocina para jóvenes</span>' in page
    assert 'translation: <span class="text" dir="auto" lang="en">cooking workshops' in page
    markdown = render_report_markdown(report)
    assert "## Idea families across regions" in markdown
    assert "**Family 1**" in markdown and "regions: Latin America, Sahel" in markdown


def test_qdpx_codes_each_family_on_its_messages(tmp_path: Path) -> None:
    pseudonyms = Pseudonyms.load(tmp_path / "secret")
    path = write_export(tmp_path, "qdpx", two_regions(), pseudonyms)
    q = f"{{{NS}}}"
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
        parent = next(c for c in root.iter(f"{q}Code") if c.get("name") == "Idea families")
        assert parent.get("isCodable") == "false"
        children = parent.findall(f"{q}Code")
        assert [c.get("name").split(":")[0] for c in children] == ["worked · family 1"]
        family = children[0].get("guid")
        coded = []
        for source in root.iter(f"{q}TextSource"):
            text = archive.read(f"sources/{source.get('guid')}.txt").decode("utf-8")
            for selection in source.findall(f"{q}PlainTextSelection"):
                refs = {r.get("targetGUID") for r in selection.iter(f"{q}CodeRef")}
                if family in refs:
                    start, end = (int(selection.get(k)) for k in ("startPosition", "endPosition"))
                    coded.append(text[start:end])
    assert sorted(coded) == ["(idea) ateliers de cuisine pour les jeunes avec "
                             f"{pseudonyms.of(DAN)}", "(idea) talleres de cocina para jóvenes"]
    assert all("@" not in c for c in coded)


def test_idea_families_ids_are_unique_per_prompt() -> None:
    prompts = idea_families(two_regions(), ["worked", "next"], "en")
    ids = [f["id"] for p in prompts for f in p["families"]]
    assert ids == ["family-1-1"] and [p["prompt_id"] for p in prompts] == ["worked", "next"]
