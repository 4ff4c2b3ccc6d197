"""The coordinator's report and the minutes as people read them: in Chromium, on a desktop
(1280 px) and on a phone (375 px), for a network of 6, 24 and 96 meetings.

The records are played through the real engine (``report_network``). Each page is opened
in headless Chromium through the DevTools protocol (``browser``): the page may not pan
sideways (its wide tables and charts scroll in their own boxes), and axe-core finds no
violation of moderate, serious or critical impact. With ``MEETBOT_SCREENSHOTS=DIR`` the
tests also write the screenshots the README and docs/research.md show (docs/images).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from browser import Browser, Page
from report_network import network_meetings, network_report

from meetbot.minutes.document import render_html
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.report_render import render_report_html

SIZES = {"desktop": (1280, 900), "phone": (375, 812)}
NETWORKS = [
    pytest.param(1, id="6-meetings"),
    pytest.param(4, id="24-meetings"),
    pytest.param(16, id="96-meetings", marks=pytest.mark.slow),
]
BLOCKING = {"moderate", "serious", "critical"}


# -- the page as markup ----------------------------------------------------------------


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def where(self, tag: str | None = None, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.found if (tag is None or t == tag)
                and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def duplicate_ids(page: str) -> list[str]:
    ids = Counter(a["id"] for _t, a in Elements(page).found if a.get("id"))
    return sorted(i for i, n in ids.items() if n > 1)


class Reports(dict[int, Path]):
    """The rendered report of each network size, made when first asked for."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def __missing__(self, per_region: int) -> Path:
        path = self.folder / f"report-{per_region}.html"
        path.write_text(render_report_html(network_report(per_region)), encoding="utf-8")
        self[per_region] = path
        return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    return Reports(tmp_path_factory.mktemp("reports"))


@pytest.mark.parametrize("per_region", NETWORKS)
def test_the_report_is_one_self_contained_page_with_unique_ids(
    per_region: int, pages: dict[int, Path]
) -> None:
    page = pages[per_region].read_text(encoding="utf-8")
    elements = Elements(page)
    assert duplicate_ids(page) == []
    assert len(elements.where("main")) == 1 and len(elements.where("nav")) == 1
    assert "<script" not in page
    # Nothing is fetched: every image is inside the file, every link points into it.
    assert all(str(img["src"]).startswith("data:image/svg+xml;base64,")
               for img in elements.where("img"))
    ids = {a["id"] for _t, a in elements.found if a.get("id")}
    links = [str(a["href"]) for a in elements.where("a")]
    assert links and all(link.startswith("#") and link[1:] in ids for link in links)
    # Every prompt's detail: a <details> per region, one per meeting inside, all closed.
    details = elements.where("details")
    assert len(elements.where("details", class_="cell")) == 3 * 6
    assert len(elements.where("details", class_="meeting")) == 3 * 6 * per_region
    assert not any("open" in d for d in details if d.get("class") in ("cell", "meeting"))


def test_progress_turns_when_meetings_outnumber_regions(pages: dict[int, Path]) -> None:
    few = pages[1].read_text(encoding="utf-8")
    assert '<th scope="col">Meeting 4</th>' in few  # a column per meeting, a row per region
    many = render_report_html(network_report(8))
    assert '<th scope="col">Meeting</th>' in many and '<th scope="row">9</th>' in many
    # Dates keep together, with the date as a machine-readable attribute.
    assert '<time class="date" datetime="2024-01-08">2024-01-08</time>' in many


def test_every_text_says_its_language(pages: dict[int, Path]) -> None:
    elements = Elements(pages[1].read_text(encoding="utf-8"))
    texts = elements.where("span", class_="text")
    assert texts and all(t.get("lang") for t in texts)
    langs = Counter(t["lang"] for t in texts)
    assert langs["fr"] and langs["es"] and langs["en"]


def test_alt_text_gives_the_data_in_words_not_the_caption(pages: dict[int, Path]) -> None:
    page = pages[4].read_text(encoding="utf-8")
    figures = re.findall(r'<img src="[^"]+" width="(\d+)" height="(\d+)" alt="([^"]+)">\s*'
                         r'</div>\s*<figcaption id="[^"]+">([^<]+)</figcaption>', page)
    assert len(figures) == 3
    for width, _height, alt, caption in figures:
        assert int(width) >= 500  # its natural, readable size
        assert alt != caption and caption.split(".")[0] not in alt
    messages, people, languages = (alt for _w, _h, alt, _c in figures)
    assert messages.startswith("Bar charts, one per region, of the number of messages")
    assert "Sahel: 4 meetings; messages per meeting: from " in messages
    assert "East Africa: 4 meetings; people per meeting: from " in people
    assert re.search(r"Europe de l&#39;Ouest: (English|French|Spanish) \d+, ", languages)
    assert "language not recorded" in languages and "?" not in languages


def test_a_region_without_meetings_is_said_in_words() -> None:
    report = network_report(1)
    report["participation"] = [p for p in report["participation"] if p["region"] != "andes"]
    page = render_report_html(report)
    assert "Región Andina: no meeting held." in page


def test_a_pseudonymous_report_names_nobody(tmp_path: Path) -> None:
    pseudonyms = Pseudonyms.load(tmp_path)
    page = render_report_html(network_report(1, pseudonyms=pseudonyms))
    assert "example.org" not in page and "@" not in page.split("<style>")[0]
    for name in ("Ana", "Bea", "Cle", "Dan", "Eli", "Fay"):
        assert f">{name}<" not in page
    assert pseudonyms.of("@bea-sahel:example.org") in page
    assert "People are named by pseudonyms" in page
    assert "keep this report within the coordination team" in render_report_html(
        network_report(1))


def test_minutes_ids_are_unique_and_an_empty_prompt_says_so() -> None:
    doc = network_meetings(1)[0].doc
    html = render_html(doc, "fr")
    assert duplicate_ids(html) == []
    assert html.count('id="item-') == sum(len(s["items"]) for s in doc["sections"])
    prompt = next(s for s in doc["sections"] if s["kind"] == "prompt")
    prompt["items"] = []
    html = render_html(doc, "en")
    assert "<ul>\n</ul>" not in html
    assert html.count("Nothing recorded on this prompt.") == 1


# -- in Chromium -----------------------------------------------------------------------


def shoot(page: Page, name: str) -> None:
    """Keep a screenshot for the docs when asked to (MEETBOT_SCREENSHOTS=docs/images)."""
    folder = os.environ.get("MEETBOT_SCREENSHOTS")
    if folder:
        page.screenshot(Path(folder) / name)


def assert_no_sideways_pan(page: Page) -> None:
    size = page.overflow()
    assert size["scrollWidth"] <= size["clientWidth"] <= size["innerWidth"] <= page.width, size


def assert_accessible(page: Page, axe: str) -> None:
    problems = [v for v in page.axe(axe) if v["impact"] in BLOCKING]
    assert problems == [], problems


@pytest.mark.parametrize("per_region", NETWORKS)
@pytest.mark.parametrize("size", SIZES)
def test_the_report_reads_on_a_desktop_and_on_a_phone(
    per_region: int, size: str, pages: dict[int, Path], chromium: Browser, axe: str
) -> None:
    width, height = SIZES[size]
    url = pages[per_region].as_uri()
    with chromium.page(url, width, height) as page:
        assert_no_sideways_pan(page)
        # The wide tables scroll in their own labelled, focusable boxes.
        boxes = page.evaluate(
            "[...document.querySelectorAll('.scroll')].map(b => ({wide: b.scrollWidth >"
            " b.clientWidth, label: b.getAttribute('aria-labelledby'), tab: b.tabIndex}))")
        assert boxes and all(b["label"] and b["tab"] == 0 for b in boxes)
        if size == "phone":
            assert any(b["wide"] for b in boxes)
        # Charts keep their natural size: a phone scrolls them instead of shrinking them.
        shrunk = page.evaluate("[...document.querySelectorAll('figure img')]"
                               ".filter(i => i.clientWidth < i.naturalWidth).length")
        assert shrunk == 0
        assert page.evaluate("document.querySelector('main') !== null")
        assert_accessible(page, axe)
        if per_region == 4:
            shoot(page, f"report-{size}.png")
            if size == "desktop":
                page.evaluate("(() => { const cell = document.querySelector('details.cell');"
                              " cell.open = true; cell.querySelector('details').open = true;"
                              " cell.closest('section').scrollIntoView(); })()")
                shoot(page, "report-detail.png")
                page.evaluate("document.getElementById('chart-messages').scrollIntoView()")
                shoot(page, "report-charts.png")
    if size == "phone":  # a narrow desktop window too: its scroll bar takes room
        with chromium.page(url, width, height, mobile=False) as page:
            assert_no_sideways_pan(page)


def test_a_cell_of_the_overview_opens_its_detail(pages: dict[int, Path],
                                                 chromium: Browser) -> None:
    with chromium.page(pages[4].as_uri(), *SIZES["desktop"]) as page:
        page.evaluate("document.querySelector('.overview td a').click()")
        opened = page.evaluate("[...document.querySelectorAll('details.cell')]"
                               ".filter(d => d.open).map(d => d.id)")
        assert opened == ["cell-work-learn-together.latam"]


def test_opened_details_stay_on_the_page(pages: dict[int, Path], chromium: Browser,
                                         axe: str) -> None:
    with chromium.page(pages[4].as_uri(), *SIZES["phone"]) as page:
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert_no_sideways_pan(page)
        assert_accessible(page, axe)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_minutes_read_on_a_phone(language: str, chromium: Browser, axe: str,
                                     tmp_path: Path) -> None:
    doc = network_meetings(1)[4].doc  # Europe de l'Ouest: three languages
    html = render_html(doc, language)
    assert duplicate_ids(html) == []
    path = tmp_path / "minutes.html"
    path.write_text(html, encoding="utf-8")
    for mobile in (True, False):
        with chromium.page(path.as_uri(), *SIZES["phone"], mobile=mobile) as page:
            assert_no_sideways_pan(page)
            if mobile:
                assert_accessible(page, axe)
                if language == "fr":
                    shoot(page, "minutes-phone-fr.png")
