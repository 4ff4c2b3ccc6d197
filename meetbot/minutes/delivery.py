"""After a meeting: write the minutes and deliver them to the room and the coordinator."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.matrix.content import markdown_content, txn_id_for
from meetbot.minutes.action_history import MeetingCache, actions_of_meeting, history_data
from meetbot.minutes.document import (
    MinutesContext,
    build_minutes_data,
    coordinator_summary,
    render_html,
    room_summary,
    write_minutes,
)
from meetbot.minutes.series import research_keys
from meetbot.minutes.written import written_part
from meetbot.storage.corrections_store import CorrectionsStore
from meetbot.storage.store import NotReady, Task
from meetbot.waiting import off_the_loop

log = logging.getLogger(__name__)

# upload(data, filename, mimetype, room_id) -> the m.file content fields ("url" or "file").
Uploader = Callable[[bytes, str, str, str], Awaitable[dict[str, Any] | None]]


# Minutes wait for the meeting's last translations, but never longer than this.
TRANSLATION_WAIT = timedelta(seconds=60)


def _overdue(task: Task) -> bool:
    return datetime.now(timezone.utc) - datetime.fromisoformat(task.created_at) > TRANSLATION_WAIT


class MeetingNotFound(LookupError):
    pass


async def minutes_data(
    app: MeetBotApp, meeting_id: str, language: str = "en",
    meetings: MeetingCache | None = None,
) -> dict[str, Any]:
    """The minutes document of a meeting, rebuilt from its stored events. ``meetings``: the
    meetings already rebuilt, shared by the documents of a report (its actions' history
    names other meetings)."""
    meetings = meetings or MeetingCache(app)
    meeting = await meetings.rebuilt(meeting_id)
    if meeting is None:
        raise MeetingNotFound(f"no meeting {meeting_id!r} in {app.store.db.path}")
    event_ids = [e.event_id for e in meeting.log]
    translations, languages = await app.store.translations_for(event_ids)
    sources = await CorrectionsStore(app.store).sources(event_ids)
    region = app.region_for_room(meeting.room_id)
    region_conf = app.config.region(meeting.region_id)
    # The agenda the meeting ran with (a scheduled meeting may name its own).
    agenda = app.agendas.get(
        meeting.agenda_id or (region_conf.agenda if region_conf else region.agenda)
    )
    context = MinutesContext(
        meeting=meeting,
        region_name=region_conf.name if region_conf else region.name,
        language=language,
        translations=translations,
        translation_sources=sources,
        languages=languages,
        agenda_prompts={p.id: dict(p.texts) for p in agenda.prompts},
        homeserver_name=app.config.user_id.split(":", 1)[1],
    )
    data = build_minutes_data(context)
    data["written"] = await written_part(app, meeting, context.agenda_prompts)
    data["action_history"] = await history_data(
        app, await actions_of_meeting(app, meeting.id, meetings), cache=meetings)
    await research_keys(app, meeting.id, data)
    return data


def minutes_languages(app: MeetBotApp, data: dict[str, Any]) -> list[str]:
    """The coordinator's language first, then the region's languages."""
    languages: list[str] = []
    if app.config.coordinator:
        languages.append(app.config.coordinator.language)
    region = app.config.region(str(data.get("region", "")))
    for lang in region.languages if region else ["en"]:
        if lang not in languages:
            languages.append(lang)
    return languages


async def write_meeting_minutes(
    app: MeetBotApp, meeting_id: str, out_dir: Path | None = None
) -> tuple[dict[str, Any], list[Path]]:
    data = await minutes_data(app, meeting_id)
    paths = await off_the_loop(write_minutes, out_dir or app.config.minutes_path, data,
                               minutes_languages(app, data))
    return data, paths


class MinutesDelivery:
    def __init__(self, app: MeetBotApp, upload: Uploader | None) -> None:
        self.app = app
        self.upload = upload

    async def __call__(self, task: Task) -> None:
        app = self.app
        meeting_id = task.payload["meeting_id"]
        room_id = task.payload["room_id"]
        waiting = await app.store.pending_translations(meeting_id)
        if waiting and task.attempts < 1 and not _overdue(task):
            raise NotReady(f"{waiting} translations of the meeting are still being made")
        data, paths = await write_meeting_minutes(app, meeting_id)
        log.info("minutes of %s written: %s", meeting_id, ", ".join(p.name for p in paths))
        region = app.config.region(str(data.get("region", "")))
        room_languages = region.languages if region else ["en"]
        room_notice = markdown_content([room_summary(data, lang) for lang in room_languages])
        coordinator = app.coordinator_room
        file_content: dict[str, Any] | None = None
        if coordinator and self.upload is not None:
            lang = app.config.coordinator.language if app.config.coordinator else "en"
            # The page just written in the coordinator's language, not rendered again.
            page = next((p for p in paths if p.suffix == ".html" and f"-{lang}." in p.name), None)
            html_page = (page.read_bytes() if page is not None else
                         (await off_the_loop(render_html, data, lang)).encode("utf-8", "replace"))
            name = page.name if page is not None else f"minutes-{meeting_id[:8]}.html"
            uploaded = await self.upload(html_page, name, "text/html", coordinator)
            if uploaded is not None:
                file_content = {"msgtype": "m.file", "body": name,
                                "info": {"mimetype": "text/html", "size": len(html_page)},
                                **uploaded}
        async with app.store.db.transaction():
            await app.store.enqueue(room_id, txn_id_for(f"minutes-room:{meeting_id}"), room_notice)
            if coordinator:
                lang = app.config.coordinator.language if app.config.coordinator else "en"
                await app.store.enqueue(
                    coordinator,
                    txn_id_for(f"minutes-coordinator:{meeting_id}"),
                    markdown_content([coordinator_summary(data, lang)]),
                )
                if file_content is not None:
                    await app.store.enqueue(
                        coordinator, txn_id_for(f"minutes-file:{meeting_id}"), file_content
                    )
            if coordinator:  # the cross-region report follows each meeting
                await app.store.add_task("report", f"report:{meeting_id}", {"room_id": coordinator})
            if app.config.site is not None:  # the network's web space, rebuilt
                await app.store.add_task("site", f"site:{meeting_id}", {})
            await app.store.finish_task(task.id)
        app.outbox_ready.set()
        app.wake_tasks()


class MinutesRewrite:
    """Write a meeting's minutes files again (a message of it was redacted); posts nothing."""

    def __init__(self, app: MeetBotApp) -> None:
        self.app = app

    async def __call__(self, task: Task) -> None:
        _data, paths = await write_meeting_minutes(self.app, task.payload["meeting_id"])
        log.info("minutes rewritten: %s", ", ".join(p.name for p in paths))
        async with self.app.store.db.transaction():
            if self.app.config.site is not None:  # the site shows these minutes too
                await self.app.store.add_task("site", f"site:rewrite:{task.id}", {})
            await self.app.store.finish_task(task.id)
