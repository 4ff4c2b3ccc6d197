"""Writing the research outputs from the stored record: reports, exports, minutes again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.minutes.delivery import write_meeting_minutes
from meetbot.research.dataset import HeldMeeting, each_held_meeting
from meetbot.research.export import FORMATS as EXPORT_FORMATS
from meetbot.research.export import (
    PROJECT_NAME,
    check_format,
    message_rows,
    save_export,
    to_csv,
    to_jsonl,
)
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.report import build_report, report_part
from meetbot.research.report_render import FORMATS as REPORT_FORMATS
from meetbot.research.report_render import write_report

Progress = Callable[[Iterable[Any]], Iterable[Any]]


def reports_dir(app: MeetBotApp) -> Path:
    return app.config.data_path / "reports"


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
    meetings: list[HeldMeeting] | None = None,
) -> dict[str, Any]:
    if meetings is None:  # one whole document in memory at a time
        meetings = [report_part(held) async for held in each_held_meeting(app)]
    return build_report(app.config, meetings, agenda_prompts(app),
                        now or datetime.now(timezone.utc), language or coordinator_language(app))


async def write_full_report(
    app: MeetBotApp, out_dir: Path | None = None, formats: tuple[str, ...] = REPORT_FORMATS
) -> tuple[dict[str, Any], list[Path]]:
    report = await build_full_report(app)
    return report, write_report(out_dir or reports_dir(app), report, formats)


async def write_exports(
    app: MeetBotApp, formats: Iterable[str], out_dir: Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """The exports, the record read one meeting at a time: the project of a ``qdpx`` takes
    each meeting's source as it comes; the rows of ``csv`` and ``jsonl`` are kept, not the
    minutes documents they come from."""
    from meetbot.research.qdpx import QdpxProject

    formats = list(formats)
    for fmt in formats:
        check_format(fmt)
    pseudonyms = Pseudonyms.load(app.config.data_path)
    with_ids = app.config.privacy.export_matrix_ids
    project = QdpxProject(PROJECT_NAME) if "qdpx" in formats else None
    keep_rows = any(fmt != "qdpx" for fmt in formats)
    rows: list[dict[str, Any]] = []
    async for held in each_held_meeting(app, progress=progress):
        these = list(message_rows([held], pseudonyms, with_ids=with_ids))
        if project is not None:
            project.add(held, these)
        if keep_rows:
            rows += these
    folder = out_dir or exports_dir(app)
    paths = []
    for fmt in formats:
        if fmt == "csv":
            content: str | Callable[[Path], None] = to_csv(rows, with_ids=with_ids)
        elif fmt == "jsonl":
            content = to_jsonl(rows)
        else:
            assert project is not None
            content = project.write
        paths.append(save_export(folder, fmt, content))
    return paths


async def rewrite_meeting_minutes(app: MeetBotApp, meeting_id: str) -> list[Path]:
    """Write a meeting's minutes again, first removing every older file of it."""
    folder = app.config.minutes_path
    if folder.is_dir():
        for old in folder.glob(f"*-{meeting_id[:8]}*"):
            old.unlink()
    _data, paths = await write_meeting_minutes(app, meeting_id)
    return paths


async def regenerate_after_removal(app: MeetBotApp, meeting_ids: set[str]) -> None:
    """Minutes of the ended meetings touched, the report, and the exports already made."""
    for meeting_id in sorted(meeting_ids):
        row = await app.store.meeting(meeting_id)
        if row is not None and row.ended_at is not None:
            await rewrite_meeting_minutes(app, meeting_id)
    if reports_dir(app).is_dir():
        await write_full_report(app)
    folder = exports_dir(app)
    if folder.is_dir():
        made = [fmt for fmt in EXPORT_FORMATS if (folder / f"meetbot-export.{fmt}").exists()]
        if made:
            await write_exports(app, made)
