"""The network's web space (``meetbot site``): built from meetings played through the real
engine, then read in headless Chromium: every page in each language, every internal link,
the offline search typed into its box, axe-core, and nobody named but by pseudonym."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from browser import Browser, Page
from report_network import PEOPLE, PROMPT_TEXTS, REGIONS, START, network_config, network_meetings
from shell_helpers import ANA, BEA, CARLOS, Speaker, config_file, hold_meeting, open_bound

from meetbot.app import MeetBotApp
from meetbot.cli.main import main
from meetbot.research import consent
from meetbot.research.outputs import regenerate_after_removal
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.site import LANGUAGES, MARK, build_site, fold, search_index

PER_REGION = 2
BLOCKING = {"moderate", "serious", "critical"}
USER_ID = re.compile(r"@[a-z0-9._=/-]+:[a-z0-9.-]+", re.IGNORECASE)


class Links(HTMLParser):
    """Every address a page asks for: links, scripts, images, form actions."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("href", "src", "action"):
            if found.get(key):
                self.found.append(str(found[key]))


def internal(link: str) -> bool:
    parts = urlsplit(link)
    return not parts.scheme and not parts.netloc and bool(parts.path)


@pytest.fixture(scope="module")
def pseudonyms(tmp_path_factory: pytest.TempPathFactory) -> Pseudonyms:
    return Pseudonyms.load(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pseudonyms: Pseudonyms) -> Path:
    out = tmp_path_factory.mktemp("web") / "site"
    now = START + timedelta(weeks=PER_REGION - 1, days=5)
    build_site(out, network_config(PER_REGION), network_meetings(PER_REGION), PROMPT_TEXTS,
               pseudonyms, now)
    return out


def test_every_page_in_each_language(site: Path) -> None:
    for lang in LANGUAGES:
        for name in ("index", "report", "actions", "search"):
            assert (site / lang / f"{name}.html").is_file()
        minutes = sorted((site / lang / "minutes").glob("*.html"))
        assert len(minutes) == len(REGIONS) * PER_REGION
        for page in [site / lang / "index.html", *minutes[:2]]:
            text = page.read_text(encoding="utf-8")
            assert f'<html lang="{lang}">' in text
            # The language switch: the same page in each language.
            relative = page.relative_to(site / lang).as_posix()
            for other in LANGUAGES:
                assert f"/{other}/{relative}\"" in text
    assert (site / "index.html").is_file() and (site / MARK).is_file()


def test_every_internal_link_resolves_to_a_file(site: Path) -> None:
    checked = 0
    for page in site.rglob("*.html"):
        for link in Links(page.read_text(encoding="utf-8")).found:
            if not internal(link):
                outside = ("https://", "http://", "mxc://", "#", "data:image/")
                assert link.startswith(outside), (page, link)
                continue
            target = (page.parent / unquote(urlsplit(link).path)).resolve()
            assert target.is_file(), (page.relative_to(site), link)
            assert site.resolve() in target.parents
            checked += 1
    assert checked > 400


def test_no_matrix_id_or_display_name_anywhere(site: Path, pseudonyms: Pseudonyms) -> None:
    names = {person[:3].title() for person in PEOPLE}  # the display names the record has
    found_pseudonym = False
    for path in site.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert "example.org" not in text, path
        assert not USER_ID.search(text), (path, USER_ID.search(text))
        assert "matrix.to" not in text, path
        for name in names:
            assert not re.search(rf"\b{name}\b", text), (path, name)
        found_pseudonym = found_pseudonym or pseudonyms.of("@bea-sahel:example.org") in text
    assert found_pseudonym


def test_the_grid_shows_each_meetings_status(site: Path) -> None:
    page = (site / "en" / "index.html").read_text(encoding="utf-8")
    assert page.count('class="status-held"') == len(REGIONS) * PER_REGION
    # The calendar's extra meetings: one missed (West Europe), one still to come (South Asia).
    assert page.count('class="status-missed"') == 1
    assert page.count('class="status-scheduled"') == 1
    assert '<a href="minutes/sahel-2.html">held</a>' in page
    fr = (site / "fr" / "index.html").read_text(encoding="utf-8")
    assert ">tenue</a>" in fr and "Réunion 2" in fr


def test_open_actions_list_every_meetings_action(site: Path) -> None:
    page = (site / "es" / "actions.html").read_text(encoding="utf-8")
    assert page.split('<ul class="actions">')[1].count("<li>") == len(REGIONS) * PER_REGION
    assert 'href="minutes/latam-1.html"' in page


def test_the_index_folds_accents_and_case() -> None:
    assert fold("Él ESTÁ en la Réunion") == "el esta en la reunion"
    index = search_index([{"href": "minutes/a-1.html", "title": "A 1",
                           "texts": ["Los talleres del sábado"]}])
    assert index["tokens"]["sabado"] == [0] and "sábado" not in index["tokens"]


def test_a_site_folder_is_never_one_with_other_files(tmp_path: Path,
                                                     pseudonyms: Pseudonyms) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="not empty and was not built by meetbot site"):
        build_site(tmp_path, network_config(1), [], PROMPT_TEXTS, pseudonyms)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# -- in Chromium -----------------------------------------------------------------------


def _serious(page: Page, axe: str) -> list[dict[str, object]]:
    return [v for v in page.axe(axe) if v["impact"] in BLOCKING]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_pages_render_in_chromium_without_serious_axe_violations(
    lang: str, site: Path, chromium: Browser, axe: str
) -> None:
    for name in ("index.html", "report.html", "actions.html", "search.html",
                 "minutes/west-europe-1.html"):
        with chromium.page((site / lang / name).as_uri(), 1280) as page:
            seen = page.evaluate(
                "({lang: document.documentElement.lang, h1: !!document.querySelector('h1'),"
                " bar: document.querySelectorAll('.site-bar nav a').length,"
                " main: document.querySelectorAll('main').length})")
            assert seen == {"lang": lang, "h1": True, "bar": 7, "main": 1}, (name, seen)
            assert _serious(page, axe) == [], name
    with chromium.page((site / "index.html").as_uri(), 375) as page:
        assert page.evaluate("document.querySelectorAll('nav a').length") == 3
        assert _serious(page, axe) == []
    for name in ("index.html", "actions.html", "search.html", "minutes/latam-2.html"):
        with chromium.page((site / lang / name).as_uri(), 375, 812) as page:
            size = page.overflow()  # a phone: the page never pans sideways
            assert size["scrollWidth"] <= size["clientWidth"], (name, size)


def _type(page: Page, selector: str, text: str) -> None:
    page.evaluate(f"document.querySelector({selector!r}).focus()")
    page.browser.send("Input.insertText", page.session, text=text)


def _results(page: Page) -> dict[str, object]:
    return dict(page.evaluate(
        "({status: document.getElementById('search-status').textContent,"
        " links: [...document.querySelectorAll('#search-results a')].map(a => a.href),"
        " said: [...document.querySelectorAll('#search-results .text')]"
        ".map(t => t.textContent)})"))


def test_the_search_finds_a_phrase_of_the_minutes_offline(site: Path, chromium: Browser) -> None:
    phrase = "talleres del sábado funcionaron"
    holding = {p.name for p in (site / "es" / "minutes").glob("*.html")
               if phrase in p.read_text(encoding="utf-8")}
    assert holding
    with chromium.page((site / "es" / "search.html").as_uri(), 1280) as page:
        _type(page, "#q", "Talleres del SABADO funcionaron")  # no accent, other case
        found = _results(page)
        names = {Path(unquote(urlsplit(str(link)).path)).name for link in found["links"]}
        assert names == holding, found
        assert all("sábado" in str(said) for said in found["said"])
        assert str(found["status"]).startswith(f"{len(holding)} ")
        # A result opens its minutes page, which holds the phrase.
        first = str(found["links"][0])
        assert Path(unquote(urlsplit(first).path)).is_file()
    with chromium.page((site / "fr" / "search.html").as_uri() + "?q=zzzunknown", 375) as page:
        assert _results(page)["status"] == "Aucun résultat."
    # The box on every page sends its words to the search page.
    with chromium.page((site / "en" / "minutes" / "sahel-1.html").as_uri(), 1280) as page:
        _type(page, "#site-q", "community radio")
        page.evaluate("document.querySelector('#site-q').form.submit()")
        page.browser.wait_for("Page.loadEventFired", page.session)
        found = _results(page)
        assert found["links"] and all("/en/minutes/" in str(link) for link in found["links"])


# -- from the record the bot keeps ---------------------------------------------------------


def test_meetbot_site_builds_and_a_withdrawal_rebuilds_it_without_the_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path, coordinator=True, site={"out": "web"})
    assert main(["site", "--config", str(config.source)]) == 1  # no database yet: refused
    capsys.readouterr()
    asyncio.run(hold_meeting(config))
    assert main(["site", "--config", str(config.source)]) == 0
    out = tmp_path / "web"
    assert capsys.readouterr().out.split() == [str(out / "index.html")]
    pseudonyms = Pseudonyms.load(config.data_path)

    def everything() -> str:
        return "\n".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())

    before = everything()
    assert "share the well with the clinic" in before and pseudonyms.of(BEA) in before
    for who in ("Ana", "Beatriz", "Carlos", ANA, BEA, CARLOS, "example.org"):
        assert who not in before, who

    async def withdraw() -> None:
        app = await open_bound(config)
        try:
            result = await consent.withdraw(app, BEA, datetime.now(START.tzinfo))
            await regenerate_after_removal(app, set(result.meetings))
        finally:
            await app.store.db.close()

    asyncio.run(withdraw())
    after = everything()
    assert "share the well with the clinic" not in after
    assert pseudonyms.of(BEA) not in after
    assert "we dig a second well" in after and pseudonyms.of(CARLOS) in after


def test_meetbot_site_needs_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_file(tmp_path)
    asyncio.run(hold_meeting(config))
    assert main(["site", "--config", str(config.source)]) == 1
    assert "give --out DIR, or set site: {out: DIR}" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    assert main(["site", "--config", str(config.source), "--out", str(tmp_path / "mine")]) == 1
    assert "was not built by meetbot site" in capsys.readouterr().err
    assert (tmp_path / "mine" / "keep.txt").exists()


async def test_after_each_meeting_a_site_task_rebuilds_the_site(tmp_path: Path) -> None:
    from meetbot.minutes.delivery import MinutesDelivery
    from meetbot.runtime.features import task_handlers

    config = config_file(tmp_path, coordinator=True, site={"out": "web"})
    app = await open_bound(config)
    try:
        await _hold_meeting_in(app)
        (minutes,) = await app.store.pending_tasks(["minutes"])
        await MinutesDelivery(app, None)(minutes)
        (task,) = await app.store.pending_tasks(["site"])
        assert task.key.startswith("site:")
        await task_handlers(app, None, _no_upload)["site"](task)
        assert await app.store.pending_tasks(["site"]) == []
        page = (tmp_path / "web" / "fr" / "actions.html").read_text(encoding="utf-8")
        assert "asks the council" in page
    finally:
        await app.store.db.close()


async def _no_upload(*_args: object) -> None:
    return None


async def _hold_meeting_in(app: MeetBotApp) -> None:
    say = Speaker()
    ingest = app.ingest
    await ingest(say.say("!startmeeting Water for the school", display_name="Ana"))
    await ingest(say.say(f"!action {CARLOS} asks the council", sender=CARLOS,
                         display_name="Carlos"))
    await ingest(say.say("!endmeeting", display_name="Ana"))


async def test_without_site_out_no_site_task_is_queued(tmp_path: Path) -> None:
    from meetbot.minutes.delivery import MinutesDelivery

    app = await open_bound(config_file(tmp_path, coordinator=True))
    try:
        await _hold_meeting_in(app)
        (minutes,) = await app.store.pending_tasks(["minutes"])
        await MinutesDelivery(app, None)(minutes)
        assert await app.store.pending_tasks(["site"]) == []
    finally:
        await app.store.db.close()


async def test_minutes_rewritten_after_a_redaction_rebuild_the_site_too(tmp_path: Path) -> None:
    from meetbot.minutes.delivery import MinutesRewrite
    from meetbot.storage.store import Task

    app = await open_bound(config_file(tmp_path, site={"out": "web"}))
    try:
        await _hold_meeting_in(app)
        (meeting,) = await app.store.meetings()
        await app.store.add_task("rewrite", "rewrite:1", {"meeting_id": meeting.meeting_id})
        (task,) = await app.store.pending_tasks(["rewrite"])
        assert isinstance(task, Task)
        await MinutesRewrite(app)(task)
        assert [t.key for t in await app.store.pending_tasks(["site"])] == [
            f"site:rewrite:{task.id}"]
    finally:
        await app.store.db.close()
