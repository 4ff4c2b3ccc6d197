"""Wiring the research features into the running bot: effect handlers and durable tasks.

``!withdraw confirm`` and ``!report`` become durable tasks (so a restart never loses one);
``!optout`` is carried out as soon as its event is stored.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from nio import AsyncClient, RoomCreateResponse

from meetbot.app import MeetBotApp
from meetbot.core import counts
from meetbot.core.effects import Effect
from meetbot.core.privacy_effects import ConsentChanged, ReportRequested, WithdrawalRequested
from meetbot.i18n import _, ngettext, render_lines
from meetbot.matrix.content import markdown_content, txn_id_for
from meetbot.research import consent
from meetbot.research.labels import report_label
from meetbot.research.outputs import (
    coordinator_language,
    regenerate_after_removal,
    write_full_report,
    write_site,
)
from meetbot.storage.research_store import ResearchStore
from meetbot.storage.store import Task

log = logging.getLogger(__name__)


async def attach(app: MeetBotApp) -> None:
    """Called when the app opens: load opt-outs, and handle the research effects.

    Consent choices and the withdrawal and report requests are stored inside the command's
    own transaction (``app.persisters``): a crash can lose neither. The in-memory opt-out
    list follows once that transaction has committed.
    """
    await consent.attach(app)
    research = ResearchStore(app.store)

    async def keep_consent(effect: Any, _state: Any) -> None:
        await research.set_opted_out(effect.user_id, effect.opted_out, effect.at)
        await app.store.add_task("consent", *consent.consent_task(effect))

    async def keep_withdrawal(effect: Any, _state: Any) -> None:
        await app.store.add_task("withdraw", f"withdraw:{effect.event_id}", {
            "user_id": effect.user_id, "at": effect.at.isoformat(),
        })

    async def keep_report(effect: Any, _state: Any) -> None:
        await app.store.add_task("report", f"report:{effect.event_id}",
                                 {"room_id": effect.room_id})

    async def consent_changed(effect: Effect) -> None:
        assert isinstance(effect, ConsentChanged)
        consent.on_consent_changed(app, effect)

    app.persisters[ConsentChanged] = keep_consent
    app.persisters[WithdrawalRequested] = keep_withdrawal
    app.persisters[ReportRequested] = keep_report
    app.effect_handlers[ConsentChanged] = consent_changed
    # The next events are read knowing who opted out: a batch of events ends with the change.
    app.commits_after.add(ConsentChanged)


async def upload(client: AsyncClient | None, data: bytes, name: str, mimetype: str,
                 room_id: str) -> dict[str, Any] | None:
    if client is None:
        return None
    room = client.rooms.get(room_id)
    encrypt = bool(room and room.encrypted)
    response, keys = await client.upload(io.BytesIO(data), content_type=mimetype,
                                         filename=name, encrypt=encrypt, filesize=len(data))
    url = getattr(response, "content_uri", None)
    if url is None:
        log.warning("upload of %s failed: %s", name, response)
        return None
    return {"file": {"url": url, **keys}} if encrypt and keys else {"url": url}


class ReportTask:
    """Write the report files and post the report to the coordinator room."""

    def __init__(self, app: MeetBotApp, client: AsyncClient | None) -> None:
        self.app = app
        self.client = client

    async def __call__(self, task: Task) -> None:
        app = self.app
        room_id = str(task.payload.get("room_id") or app.coordinator_room or "")
        report, paths = await write_full_report(app)
        # The page just written (every format is), not rendered, charts and all, again.
        html = next(path for path in paths if path.suffix == ".html").read_bytes()
        name = f"report-{report['generated_at'][:10]}.html"
        uploaded = await upload(self.client, html, name, "text/html", room_id) if room_id else None
        summary = render_lines([report_label(
            "report_posted", meetings=counts.meetings_held(len(report["participation"])),
            regions=counts.regions(len({p["region"] for p in report["participation"]})),
            decisions=counts.decisions(len(report["decisions"])),
            actions=counts.open_actions(len(report["open_actions"])),
        )], coordinator_language(app), escape=True)
        async with app.store.db.transaction():
            if room_id:
                await app.store.enqueue(room_id, txn_id_for(f"{task.key}:summary"),
                                        markdown_content([summary]))
                if uploaded is not None:
                    await app.store.enqueue(room_id, txn_id_for(f"{task.key}:file"), {
                        "msgtype": "m.file", "body": name,
                        "info": {"mimetype": "text/html", "size": len(html)}, **uploaded,
                    })
            await app.store.finish_task(task.id)
        app.outbox_ready.set()


class WithdrawTask:
    """Withdraw a person, write the outputs again, and tell them by direct message."""

    def __init__(self, app: MeetBotApp, client: AsyncClient | None) -> None:
        self.app = app
        self.client = client

    async def __call__(self, task: Task) -> None:
        from datetime import datetime

        app = self.app
        user_id = str(task.payload.get("user_id") or "")
        if not user_id:  # already done (the payload is forgotten with the work)
            async with app.store.db.transaction():
                await app.store.finish_task(task.id)
            return
        language = app.user_languages.get(user_id, "en")  # before it is forgotten
        result = await consent.withdraw(
            app, user_id, datetime.fromisoformat(task.payload["at"]), task_id=task.id
        )
        # A retry after a failure finds no more events: the meetings were kept in the task.
        meetings = set(result.meetings) | set(task.payload.get("meetings") or [])
        await regenerate_after_removal(app, meetings | result.stories)
        lines = [_("Your contributions have been withdrawn from the research record: "
                   "{events} in {meetings}. The minutes and reports were written again "
                   "without them.",
                   events=ngettext("{count} message or reaction", "{count} messages and reactions",
                                   result.events),
                   meetings=counts.meetings(len(meetings)))]
        if result.kept_meetings:
            lines.append(ngettext(
                "{count} meeting ended before the withdrawal window and was left as it was.",
                "{count} meetings ended before the withdrawal window and were left as they were.",
                result.kept_meetings))
        lines.append(_("To keep future messages out of the record as well, type {optout} "
                       "in your meeting room.", optout="`" + app.config.command_prefix + "optout`"))
        dm_room = await self._direct_room(user_id)
        async with app.store.db.transaction():
            if dm_room is not None:
                await app.store.enqueue(dm_room, txn_id_for(f"{task.key}:dm"),
                                        markdown_content([render_lines(lines, language)]))
            await ResearchStore(app.store).forget_task_payload(task.id)
            await app.store.finish_task(task.id)
        await ResearchStore(app.store).checkpoint()
        app.outbox_ready.set()

    async def _direct_room(self, user_id: str) -> str | None:
        if self.client is None:
            return None
        response = await self.client.room_create(is_direct=True, invite=[user_id])
        if isinstance(response, RoomCreateResponse):
            return response.room_id
        log.warning("could not open a direct chat for a withdrawal: %s", response)
        return None


async def build_site_task(app: MeetBotApp, task: Task) -> None:
    """Rebuild the network's web space (``site.out``) after a meeting."""
    paths = await write_site(app)
    log.info("site rebuilt: %d files", len(paths))
    async with app.store.db.transaction():
        await app.store.finish_task(task.id)


def task_handlers(app: MeetBotApp, client: AsyncClient | None) -> dict[str, Any]:
    """The research features' durable tasks: consent changes, withdrawals, reports, site."""

    async def apply_consent(task: Task) -> None:
        await consent.apply_consent(app, task)

    async def build_site(task: Task) -> None:
        await build_site_task(app, task)

    return {
        "consent": apply_consent,
        "withdraw": WithdrawTask(app, client),
        "report": ReportTask(app, client),
        "site": build_site,
    }
