"""The report reads the record one meeting at a time, and gives what it gave when every
meeting was in memory at once.

A small programme is played through the real app (:mod:`held_programme`). The
report built from :func:`report_part` of each meeting equals the one built from the whole
documents.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from held_programme import programme

from meetbot.app import MeetBotApp
from meetbot.research.dataset import held_meetings
from meetbot.research.outputs import agenda_prompts, build_full_report
from meetbot.research.report import build_report, report_part
from meetbot.storage.checks_store import ChecksStore

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


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
    # The translation section is counted in the database, beside the documents.
    pairs = await ChecksStore(app.store.db).pair_stats(m.row.meeting_id for m in whole)
    expected = build_report(app.config, whole, agenda_prompts(app), NOW, "en",
                            translation=[asdict(p) for p in pairs])
    assert await build_full_report(app, now=NOW) == expected
    parts = [report_part(m) for m in whole]
    assert sum(len(str(p.doc)) for p in parts) < sum(len(str(m.doc)) for m in whole) / 2


async def test_the_report_names_the_people_an_action_mentions_as_the_meeting_knew_them(
    app: MeetBotApp,
) -> None:
    """"!action @latam1:example.org books the room": the coordinator reads a name, not an id
    (and a pseudonym in a report meant to leave their hands)."""
    report = await build_full_report(app, now=NOW)
    texts = [a["text"] for a in report["open_actions"]]
    assert "Lata books the room" in texts
    assert not [t for t in texts if ":example.org" in t]
    outside = await build_full_report(app, now=NOW, pseudonymous=True)
    hidden = [a["text"] for a in outside["open_actions"]]
    assert not [t for t in hidden if "Lata" in t or ":example" in t]
