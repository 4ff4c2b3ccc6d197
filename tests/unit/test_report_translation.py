"""The report's translation section: per region and language pair, how far to trust the
record — messages translated, corrected by people, the mean round-trip score of the checks
authors asked for, glossary terms used.

A meeting is held in the Latin America room (Spanish and English) over the production app
and a real database; its translations, a person's correction and a glossary hit are written
as the corrections and glossary features write them (``ChecksStore``'s small writers), and
the round trips as ``!check`` keeps them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from shell_helpers import ANA, BEA, CARLOS, Speaker, config_file, open_bound

from meetbot.app import MeetBotApp
from meetbot.research.outputs import build_full_report, write_full_report
from meetbot.research.report_render import render_report_html, render_report_markdown
from meetbot.storage.checks_store import CheckRow, ChecksStore

NOW = datetime(2027, 1, 16, tzinfo=timezone.utc)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[MeetBotApp]:
    config = config_file(tmp_path, languages=("es", "en"), coordinator=True)
    app = await open_bound(config)
    say = Speaker()
    said = [
        say.say("!startmeeting Agua para la escuela"),
        say.say("Podríamos compartir el pozo con la clínica.", sender=BEA),
        say.say("We could ask the council for a second well.", sender=CARLOS),
        say.say("El consejo se reúne el martes.", sender=ANA),
        say.say("!endmeeting"),
    ]
    for event in said:
        await app.ingest(event)
    es1, en1, es2 = (e.event_id for e in said[1:4])
    checks = ChecksStore(app.store.db)
    async with app.store.db.transaction():
        await app.store.save_translations(es1, "es", {"en": "We could share the well with "
                                                            "the clinic."}, "apertium")
        await app.store.save_translations(es2, "es", {"en": "The council meets on Tuesday."},
                                          "apertium")
        await app.store.save_translations(en1, "en", {"es": "Podríamos pedir el consejo "
                                                            "para un segundo bien."}, "apertium")
        # Ana corrects the Spanish of Carlos's message (!fix), the glossary kept "council".
        await checks.mark_corrected(en1, "es", "Podríamos pedir al consejo un segundo pozo.",
                                    ANA, NOW)
        await checks.add_glossary_hit(en1, "es", "council")
        await checks.save_checks([
            CheckRow(en1, CARLOS, "es", "en", "Podríamos pedir el consejo para un segundo bien.",
                     "We could ask the council for a second good.", 80.0),
            CheckRow(es1, BEA, "en", "es", "We could share the well with the clinic.",
                     "Podríamos compartir el pozo con la clínica.", 100.0),
            CheckRow(es2, ANA, "en", "es", "The council meets on Tuesday.",
                     "El consejo se encuentra el martes.", 60.0),
        ], NOW)
    yield app
    await app.store.db.close()


async def test_the_section_counts_each_language_pair_of_the_region(app: MeetBotApp) -> None:
    report = await build_full_report(app, now=NOW)
    [region] = report["translation"]
    assert region["region"] == "latam" and region["name"] == "Latin America"
    assert region["pairs"] == [
        {"source": "es", "target": "en", "translated": 2, "corrected": 0, "checks": 2,
         "mean_score": 80.0, "glossary_hits": 0},
        {"source": "en", "target": "es", "translated": 1, "corrected": 1, "checks": 1,
         "mean_score": 80.0, "glossary_hits": 1},
    ]


async def test_the_section_reads_in_every_report_language(app: MeetBotApp) -> None:
    report = await build_full_report(app, now=NOW)
    english = render_report_markdown(report)
    assert "## Translation" in english
    assert "| Latin America | Spanish → English | 2 | 0 | 80 (2 checks) | 0 |" in english
    assert "| Latin America | English → Spanish | 1 | 1 | 80 (1 check) | 1 |" in english
    french = render_report_markdown(await build_full_report(app, "fr", now=NOW))
    assert "## Traduction" in french and "anglais → espagnol" in french
    assert "80 (1 vérification)" in french
    spanish = render_report_markdown(await build_full_report(app, "es", now=NOW))
    assert "## Traducción" in spanish and "inglés → español" in spanish
    assert "80 (2 comprobaciones)" in spanish
    html = render_report_html(report)
    assert '<a href="#translation">Translation</a>' in html
    assert "<td>Spanish → English</td>" in html and "mean round-trip score" in html


async def test_the_reports_data_and_the_pseudonymous_report_carry_it(
    app: MeetBotApp, tmp_path: Path
) -> None:
    _report, paths = await write_full_report(app, tmp_path / "out", ("json",))
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert data["translation"][0]["pairs"][1]["corrected"] == 1
    shared = await build_full_report(app, now=NOW, pseudonymous=True)
    assert shared["translation"] == data["translation"]  # counts name nobody


async def test_a_withdrawal_takes_the_persons_checks_out_of_the_mean(app: MeetBotApp) -> None:
    from meetbot.research import consent

    await consent.withdraw(app, ANA, NOW)
    report = await build_full_report(app, now=NOW)
    pairs = {(p["source"], p["target"]): p for p in report["translation"][0]["pairs"]}
    assert pairs["es", "en"]["checks"] == 1 and pairs["es", "en"]["mean_score"] == 100.0


async def test_no_translations_yet_is_said_in_words(tmp_path: Path) -> None:
    config = config_file(tmp_path, languages=("es", "en"), coordinator=True)
    app = await open_bound(config)
    try:
        say = Speaker()
        for event in (say.say("!startmeeting"), say.say("hola", sender=BEA),
                      say.say("!endmeeting")):
            await app.ingest(event)
        report = await build_full_report(app, now=NOW)
        assert report["translation"] == []
        assert "No translations recorded yet." in render_report_markdown(report)
    finally:
        await app.store.db.close()
