"""Writing the research outputs from the stored record: reports, exports, minutes again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.minutes.delivery import write_meeting_minutes
from meetbot.research.dataset import HeldMeeting, each_held_meeting, held_meetings
from meetbot.research.export import FORMATS as EXPORT_FORMATS
from meetbot.research.export import Exports
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.report import build_report, report_part
from meetbot.research.report_render import FORMATS as REPORT_FORMATS
from meetbot.research.report_render import write_report
from meetbot.storage.calendar_store import MISSED, CalendarStore
from meetbot.storage.checks_store import ChecksStore
from meetbot.waiting import off_the_loop

Progress = Callable[[Iterable[Any]], Iterable[Any]]


def reports_dir(app: MeetBotApp) -> Path:
    return app.config.data_path / "reports"


def pseudonymous_reports_dir(app: MeetBotApp) -> Path:
    """Where ``meetbot report --pseudonymous`` writes: apart from the coordinator's report."""
    return app.config.data_path / "reports-pseudonymous"


def exports_dir(app: MeetBotApp) -> Path:
    return app.config.data_path / "exports"


def coordinator_language(app: MeetBotApp) -> str:
    return app.config.coordinator.language if app.config.coordinator else "en"


def agenda_prompts(app: MeetBotApp) -> dict[str, dict[str, str]]:
    """Every configured agenda's prompts, in agenda order (the report's rows)."""
    prompts: dict[str, dict[str, str]] = {}
    names = [r.agenda for r in app.config.regions] or ["default"]
    for name in dict.fromkeys(names):
        for prompt in app.agendas.get(name).prompts:
            prompts.setdefault(prompt.id, dict(prompt.texts))
    return prompts


async def build_full_report(
    app: MeetBotApp, language: str | None = None, now: datetime | None = None,
    meetings: list[HeldMeeting] | None = None, pseudonymous: bool = False,
) -> dict[str, Any]:
    """The report over every meeting held; ``pseudonymous``: people named by pseudonym (the
    exports' secret), for a report meant to leave the coordinator's hands. The record is read
    one meeting at a time, and only what the report counts of each is kept."""
    if meetings is None:
        meetings = [report_part(held) async for held in each_held_meeting(app)]
    pseudonyms = Pseudonyms.load(app.config.data_path) if pseudonymous else None
    pairs = await ChecksStore(app.store.db).pair_stats(m.row.meeting_id for m in meetings)
    # The network's tables and the idea families' clustering: off the loop, as the pages.
    return await off_the_loop(
        build_report, app.config, meetings, agenda_prompts(app),
        now or datetime.now(timezone.utc), language or coordinator_language(app),
        pseudonyms=pseudonyms, translation=[asdict(p) for p in pairs])


async def write_full_report(
    app: MeetBotApp, out_dir: Path | None = None, formats: tuple[str, ...] = REPORT_FORMATS,
    *, pseudonymous: bool = False,
) -> tuple[dict[str, Any], list[Path]]:
    report = await build_full_report(app, pseudonymous=pseudonymous)
    default = pseudonymous_reports_dir(app) if pseudonymous else reports_dir(app)
    # Its charts and pages take a second or more at network scale: off the loop.
    return report, await off_the_loop(write_report, out_dir or default, report, formats)


async def write_exports(
    app: MeetBotApp, formats: Iterable[str], out_dir: Path | None = None,
    progress: Progress | None = None, meetings: list[HeldMeeting] | None = None,
) -> list[Path]:
    """The exports (each format once), the record read one meeting at a time (or from
    ``meetings``): one minutes document in memory at a time."""
    with Exports(out_dir or exports_dir(app), formats, Pseudonyms.load(app.config.data_path),
                 with_ids=app.config.privacy.export_matrix_ids,
                 language=coordinator_language(app)) as exports:
        if meetings is not None:
            for held in meetings:
                exports.add(held)
        else:
            async for held in each_held_meeting(app, progress=progress):
                exports.add(held)
        return await off_the_loop(exports.finish)  # the idea families' clustering


async def write_site(app: MeetBotApp, out: Path | None = None,
                     now: datetime | None = None) -> list[Path]:
    """Build the network's web space from the stored record into ``out`` (default: the
    config's ``site.out``; nothing when neither is set)."""
    from meetbot.research.site import build_site  # Jinja2: off the bot's start path

    folder = out or app.config.site_path
    if folder is None:
        return []
    meetings = await held_meetings(app, include_running=True)
    missed = {(row.region_id, row.number) for row in await CalendarStore(app.store.db).rows()
              if row.status == MISSED}
    return await off_the_loop(build_site, folder, app.config, meetings, agenda_prompts(app),
                              Pseudonyms.load(app.config.data_path), now, missed)


async def rewrite_meeting_minutes(app: MeetBotApp, meeting_id: str) -> list[Path]:
    """Write a meeting's minutes again, first removing every older file of it."""
    folder = app.config.minutes_path
    if folder.is_dir():
        for old in folder.glob(f"*-{meeting_id[:8]}*"):
            old.unlink()
    _data, paths = await write_meeting_minutes(app, meeting_id)
    return paths


async def regenerate_after_removal(app: MeetBotApp, meeting_ids: set[str]) -> None:
    """Minutes of the ended meetings touched, the reports (the pseudonymous one too, once
    made), the exports already made, and the site when ``site.out`` is configured."""
    for meeting_id in sorted(meeting_ids):
        row = await app.store.meeting(meeting_id)
        if row is not None and row.ended_at is not None:
            await rewrite_meeting_minutes(app, meeting_id)
    if reports_dir(app).is_dir():
        await write_full_report(app)
    if pseudonymous_reports_dir(app).is_dir():
        await write_full_report(app, pseudonymous=True)
    folder = exports_dir(app)
    if folder.is_dir():
        made = [fmt for fmt in EXPORT_FORMATS if (folder / f"meetbot-export.{fmt}").exists()]
        if made:
            await write_exports(app, made)
    if app.config.site is not None:  # the network's web space, without the person
        await write_site(app)
