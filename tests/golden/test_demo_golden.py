"""The demo's meeting as people read it — notices, summaries and minutes in English, French
and Spanish — against reviewed files in ``tests/golden/demo``.

The meeting is the demo's own script (:mod:`meetbot.demo.script`) played through the bot's
app without a homeserver, on a fixed clock with fixed event ids and the real Apertium
(:mod:`meetbot.demo.rehearsal`). When an output changes on purpose, run
``python scripts/update-golden.py``, read the diff of ``tests/golden/demo`` as a reader
would, and commit it with the change. The HTML minutes are also looked at in Chromium in
each language: nothing may reach past the page's right edge, no character may be drawn as
a missing-glyph box.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import shutil
import struct
from pathlib import Path

import pytest
from components import require_component
from page_check import chromium_path, look_at

from meetbot.demo.rehearsal import Rehearsal, rehearse

GOLDEN = Path(__file__).parent / "demo"
ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("en", "fr", "es")
WIDTHS = (1280, 375)  # a desktop and a phone
UPDATE = "python scripts/update-golden.py"


def golden_names() -> list[str]:
    return sorted(p.name for p in GOLDEN.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    how = "apt-get install apertium apertium-eng-spa apertium-fr-es"
    require_component("apertium", shutil.which("apertium") is not None, how)
    return asyncio.run(rehearse(tmp_path_factory.mktemp("rehearsal")))


def test_the_rehearsal_makes_every_golden_file_and_no_other(rehearsal: Rehearsal) -> None:
    assert sorted(rehearsal.files) == golden_names(), f"run {UPDATE}"


@pytest.mark.parametrize("name", golden_names())
def test_what_people_read_is_what_was_reviewed(rehearsal: Rehearsal, name: str) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    made = rehearsal.files.get(name, "")
    if made != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), made.splitlines(keepends=True),
            f"tests/golden/demo/{name} (reviewed)", f"{name} (made now)", n=2))
        pytest.fail(f"{name} changed; if on purpose, run {UPDATE} and review:\n{diff[:6000]}")


def test_the_demo_counts_in_each_languages_plural(rehearsal: Rehearsal) -> None:
    said = {lang: rehearsal.files[f"notices-{lang}.txt"] for lang in LANGUAGES}
    assert "1 decision, 2 actions, 4 people" in said["en"]
    assert "5 items, 1 decision, 2 actions, 4 people" in said["en"]
    assert "1 décision, 2 actions, 4 personnes" in said["fr"]
    assert "5 éléments, 1 décision, 2 actions, 4 personnes" in said["fr"]
    assert "1 decisión, 2 acciones, 4 personas" in said["es"]
    assert "5 elementos, 1 decisión, 2 acciones, 4 personas" in said["es"]
    assert "1 meeting held in 1 region, 1 decision, 2 open action items" in \
        rehearsal.files["notices-coordinator-en.txt"]


def test_people_read_names_places_and_times_never_ids_or_escapes(rehearsal: Rehearsal) -> None:
    for name, text in rehearsal.files.items():
        if name == "minutes.json":
            assert '"@sam:localhost will organise the first workshop"' in text  # ids kept
            continue
        bot_said = "\n".join(line for line in text.splitlines()
                             if not re.match(r"  [A-Z][\w ()]+: ", line))  # not a person's line
        assert "@sam:localhost" not in bot_said and "@lucie:localhost" not in bot_said, name
        assert "Pregunta #" not in text and "Question #" not in text, name
        assert "Prompt #" not in text, name
        # A time names its zone once; UTC is not said again beside a time already in UTC.
        assert not re.search(r"\(UTC[+-]|UTC\)? UTC|UTC — ", text), name
    for lang in LANGUAGES:
        md = rehearsal.files[f"minutes-{lang}.md"]
        assert "Maya (facilitator)" in md and "\\(" not in md and "\\!" not in md
        assert "2026-12-01 15:03 UTC\n" in md


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_html_minutes_fit_the_page_and_every_glyph_is_drawn(
    rehearsal: Rehearsal, lang: str, tmp_path: Path
) -> None:
    chromium = chromium_path()
    require_component("chromium", chromium is not None, "apt-get install chromium")
    assert chromium is not None
    page = tmp_path / f"minutes-{lang}.html"
    page.write_text(rehearsal.files[f"minutes-{lang}.html"], encoding="utf-8")

    for layout in asyncio.run(look_at(chromium, page, WIDTHS)):
        assert layout.scroll_width <= layout.width and not layout.overflow, (
            f"{lang} at {layout.width}px: {layout.overflow}")
        assert layout.missing == [], f"{lang}: no glyph for {layout.missing}"


def test_the_detector_sees_a_missing_glyph_and_an_overflow(tmp_path: Path) -> None:
    chromium = chromium_path()
    require_component("chromium", chromium is not None, "apt-get install chromium")
    assert chromium is not None
    page = tmp_path / "bad.html"
    # U+E000 is private use: no font here draws it; a long word cannot wrap.
    page.write_text('<html><body><p>ok é \ue000</p><p style="white-space:nowrap">'
                    + "overflowing " * 60 + "</p></body></html>", encoding="utf-8")

    (layout,) = asyncio.run(look_at(chromium, page, (400,)))
    assert layout.missing == ["\ue000 U+E000"]
    assert layout.overflow and layout.scroll_width > 400


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_readme_pictures_are_there(lang: str) -> None:
    picture = ROOT / "docs" / "images" / f"minutes-{lang}.png"
    head = picture.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"run {UPDATE}"
    width, height = struct.unpack(">II", head[16:24])
    assert width == 1000 and height > 800
    assert f"docs/images/minutes-{lang}.png" in (ROOT / "README.md").read_text(encoding="utf-8")
