"""Written answers around scheduled meetings: the window, the answers, the digest.

For a region with ``async_window``, each configured meeting's prompts open for written
answers that long before its start: this shell posts each prompt of its agenda as a thread
root in the region's room, and as a direct message to each person who asked with
``!async on`` (and who is in that room). An answer in a prompt's thread, or a reply to a
prompt in the direct chat, until ``async_window`` after the meeting's end, is recorded as a
written contribution to that prompt of that planned meeting (``written_answers``) and
translated like a live message; the minutes, reports and exports carry it (``mode:
written``). When the calendar opens the meeting, the room gets a digest of the answers so far.

Nothing is posted twice: every prompt is an outbox row whose transaction id derives from
(region, meeting, prompt[, person]). The windows are planned again from the config at each
start, so a restart loses none.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from weakref import WeakKeyDictionary

from meetbot.app import MeetBotApp
from meetbot.config.schema import RegionConfig, ScheduledMeeting
from meetbot.config.windows import answer_window, open_windows, planned_times
from meetbot.core.commands.meeting import zoned_time
from meetbot.core.effects import Notice, Translate
from meetbot.core.model import RoomState
from meetbot.core.written import Answered, digest_lines
from meetbot.core.written_effects import (
    AsyncChoice,
    WrittenCandidate,
    WrittenChanged,
    WrittenDigest,
)
from meetbot.i18n import Code, Localized, Msg, _
from meetbot.matrix.content import txn_id_for
from meetbot.runtime.running import RunningBot
from meetbot.storage.rows import NotReady, Task
from meetbot.storage.written_store import WrittenAnswer, WrittenPrompt, WrittenStore, ids_of

log = logging.getLogger(__name__)

DIGEST_WAIT = timedelta(seconds=60)  # the digest waits this long at most for translations


def record_key(region_id: str, number: int) -> str:
    """The ``meeting_id`` written answers' translations carry (they belong to no meeting yet)."""
    return f"written:{region_id}:{number}"


def find_planned(app: MeetBotApp, region_id: str, number: int
                 ) -> tuple[RegionConfig, ScheduledMeeting] | None:
    region = app.config.region(region_id)
    planned = next((m for m in region.meetings if m.number == number), None) if region else None
    return (region, planned) if region and planned else None


class WrittenAnswers:
    """The written-answers shell of one app (its effects, its window, its digest)."""

    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        self.store = WrittenStore(app.store.db)
        app.persisters[WrittenCandidate] = self._keep_candidate
        app.persisters[WrittenChanged] = self._keep_change
        app.persisters[AsyncChoice] = self._keep_choice
        app.persisters[WrittenDigest] = self._keep_digest

    # -- the window -------------------------------------------------------------------
    async def post_prompts(self, region: RegionConfig, planned: ScheduledMeeting,
                           only_user: str | None = None) -> None:
        """Post the meeting's prompts in its room and to the people who asked (inside a
        transaction; posting again changes nothing). ``only_user``: to that person only."""
        app = self.app
        room_id = app.region_rooms.get(region.id)
        if room_id is None:
            log.warning("written answers: region %s has no joined room", region.id)
            return
        agenda = app.agendas.get(planned.agenda or region.agenda)
        span = answer_window(region, planned)
        assert span is not None
        starts, closes = planned_times(region, planned)[0], span[1]
        title = planned.title or f"{region.name} — meeting {planned.number}"
        optins = await self.store.optins()
        people = [only_user] if only_user else sorted(optins)
        total = len(agenda.prompts)
        for index, prompt in enumerate(agenda.prompts):
            head = _("✍ **Written answers** for **{title}** ({when}) — prompt {number}/{total}",
                     title=title, when=zoned_time(starts, region.timezone), number=index + 1,
                     total=total)
            text = _("> {text}", text=Localized(prompt.texts))
            if only_user is None:
                await self._post(region, planned, prompt.id, room_id, None, (
                    head, text, "",
                    _("Answer in this thread until {close}. Answers are recorded for the "
                      "meeting like what is said in it ({optout} keeps yours out).",
                      close=zoned_time(closes, region.timezone),
                      optout=Code(f"{app.config.command_prefix}optout")),
                ), tuple(region.languages))
            for user_id in people:
                direct = optins.get(user_id)
                if direct is None or not app.is_member(user_id, room_id):
                    continue
                language = app.user_languages.get(user_id, region.languages[0])
                await self._post(region, planned, prompt.id, direct, user_id, (
                    head, text, "",
                    _("Reply to this message to answer, until {close}.",
                      close=zoned_time(closes, region.timezone)),
                ), (language,))

    async def _post(self, region: RegionConfig, planned: ScheduledMeeting, prompt_id: str,
                    room_id: str, user_id: str | None, lines: tuple[Msg | str, ...],
                    languages: tuple[str, ...]) -> None:
        key = f"written:{region.id}:{planned.number}:{prompt_id}" + (f":{user_id}" if user_id
                                                                      else "")
        await self.store.add_prompt(WrittenPrompt(txn_id_for(key), region.id, planned.number,
                                                  prompt_id, room_id, user_id))
        await self.app.enqueue_notice(Notice(room_id=room_id, lines=lines, languages=languages,
                                             kind="announce", key=key))

    async def open_window(self, region_id: str, number: int) -> None:
        found = find_planned(self.app, region_id, number)
        if found is None:
            return
        async with self.app.store.db.transaction():
            await self.post_prompts(*found)

    # -- inside an event's transaction ------------------------------------------------
    async def _keep_candidate(self, effect: WrittenCandidate, state: RoomState) -> None:
        app = self.app
        prompt = await self.store.prompt_posted_as(effect.parent)
        if prompt is None or prompt.room_id != effect.room_id:
            return
        if prompt.user_id is not None and prompt.user_id != effect.sender:
            return
        if effect.sender in app.opted_out:
            return
        found = find_planned(app, prompt.region_id, prompt.number)
        span = answer_window(*found) if found else None
        if found is None or span is None:
            return
        region, planned = found
        opens, closes = span
        if not opens <= effect.at < closes:
            if effect.live:
                await app.enqueue_notice(Notice(
                    room_id=effect.room_id,
                    lines=(_("The written answers to this prompt closed on {close}: this "
                             "message is not recorded.",
                             close=zoned_time(closes, region.timezone)),),
                    languages=(app.user_languages.get(effect.sender, region.languages[0]),),
                    reply_to=effect.event_id, key=f"written-closed:{effect.event_id}",
                    thread_root=None if effect.direct else effect.parent,
                ))
            return
        language = effect.language or app.user_languages.get(effect.sender)
        await self.store.add_answer(WrittenAnswer(
            event_id=effect.event_id, region_id=region.id, number=planned.number,
            prompt_id=prompt.prompt_id, room_id=effect.room_id, sender=effect.sender,
            display_name=effect.display_name, body=effect.body, language=language,
            via="direct" if effect.direct else "thread", at=effect.at,
        ))
        translate = app.persisters.get(Translate)
        if translate is not None:
            await translate(Translate(
                room_id=effect.room_id, event_id=effect.event_id,
                meeting_id=record_key(region.id, planned.number), text=effect.body,
                sender=effect.sender, languages=tuple(region.languages),
                source_language=language, post=effect.live and not effect.direct,
                thread_root=None if effect.direct else effect.parent,
            ), state)
            await self.store.keep_translations(effect.event_id,
                                               record_key(region.id, planned.number))

    async def _keep_change(self, effect: WrittenChanged, state: RoomState) -> None:
        if effect.body is None:
            if await self.store.remove_answer(effect.event_id):
                await self.app.store.cancel_translations(effect.event_id)
        elif await self.store.edit_answer(effect.event_id, effect.sender, effect.body):
            await self._translate_edit(effect, state)

    async def _translate_edit(self, effect: WrittenChanged, state: RoomState) -> None:
        """The edited answer is translated again; in a thread its notice is edited too."""
        answer = await self.store.answer(effect.event_id)
        translate = self.app.persisters.get(Translate)
        found = find_planned(self.app, answer.region_id, answer.number) if answer else None
        if answer is None or translate is None or found is None:
            return
        await translate(Translate(
            room_id=answer.room_id, event_id=answer.event_id,
            meeting_id=record_key(answer.region_id, answer.number), text=answer.body,
            sender=answer.sender, languages=tuple(found[0].languages),
            source_language=answer.language, post=effect.live and answer.via == "thread",
            edit_of=answer.event_id, edit_event=effect.edit_event,
        ), state)

    async def _keep_choice(self, effect: AsyncChoice, state: RoomState) -> None:
        await self.store.set_optin(effect.user_id, effect.room_id)
        if effect.room_id is None:
            return
        # Windows already open: their prompts come at once.
        for region, planned in open_windows(self.app.config, datetime.now(timezone.utc)):
            await self.post_prompts(region, planned, only_user=effect.user_id)

    async def _keep_digest(self, effect: WrittenDigest, state: RoomState) -> None:
        found = find_planned(self.app, effect.region_id, effect.number)
        if found is None or found[0].async_window is None:
            return
        await self.app.store.add_task("written-digest", f"written-digest:{effect.meeting_id}", {
            "room_id": effect.room_id, "region_id": effect.region_id, "number": effect.number,
        })

    # -- the digest -------------------------------------------------------------------
    async def digest(self, task: Task) -> None:
        """Post the digest of the written answers so far, in each room language."""
        app, payload = self.app, task.payload
        region_id, number = str(payload["region_id"]), int(payload["number"])
        waiting = await app.store.pending_translations(record_key(region_id, number))
        age = datetime.now(timezone.utc) - datetime.fromisoformat(task.created_at)
        if waiting and age < DIGEST_WAIT:
            raise NotReady(f"{waiting} translations of written answers")
        found = find_planned(app, region_id, number)
        region, planned = found if found else (None, None)
        languages = tuple(region.languages) if region else ("en",)
        agenda = app.agendas.get((planned.agenda if planned else None)
                                 or (region.agenda if region else "default"))
        async with app.store.db.between_writes():
            answers = await self.store.answers(region_id, number)
            translations, sources = await app.store.translations_for(ids_of(answers))
        shown = [
            Answered(a.prompt_id, a.display_name or a.sender, {
                **translations.get(a.event_id, {}),
                (a.language or sources.get(a.event_id) or languages[0]): a.body,
            })
            for a in answers
        ]
        lines = digest_lines([(p.id, p.texts) for p in agenda.prompts], shown)
        facilitators = tuple(sorted(set(app.config.facilitators)))
        async with app.store.db.transaction():
            await app.enqueue_notice(Notice(
                room_id=str(payload["room_id"]), lines=tuple(lines), languages=languages,
                kind="announce", key=task.key, mentions=facilitators,
            ))
            await app.store.finish_task(task.id)

    def task_handlers(self) -> dict[str, Any]:
        return {"written-digest": self.digest}


_shells: WeakKeyDictionary[MeetBotApp, WrittenAnswers] = WeakKeyDictionary()


def attach(app: MeetBotApp) -> WrittenAnswers:
    """The app's written-answers shell (made once, when the app opens)."""
    if app not in _shells:
        _shells[app] = WrittenAnswers(app)
    return _shells[app]


# -- planning the windows when the bot runs --------------------------------------------

_running: set[asyncio.Task[None]] = set()


def jobs(app: MeetBotApp, now: datetime) -> list[tuple[datetime, str, int]]:
    """(when, region, number) of each window still to open (``when <= now``: at once)."""
    found = []
    for region in app.config.regions:
        for planned in region.meetings:
            span = answer_window(region, planned)
            if span is not None and now < span[1]:
                found.append((max(span[0], now), region.id, planned.number))
    return sorted(found)


async def start_written(running: RunningBot) -> None:
    """Open the windows due, and plan the others, once the bot is ready."""
    app = running.app
    if not any(r.async_window and r.meetings for r in app.config.regions):
        return
    shell = attach(app)

    async def when_ready() -> None:
        ready = asyncio.ensure_future(running.bot.ready.wait())
        await asyncio.wait({ready, running.sync}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            return
        from apscheduler.triggers.date import DateTrigger

        now = datetime.now(timezone.utc)
        for at, region_id, number in jobs(app, now):
            if at <= now:
                try:
                    await shell.open_window(region_id, number)
                except Exception:
                    log.exception("written answers of %s %d could not open", region_id, number)
                continue
            running.timers.scheduler.add_job(
                shell.open_window, DateTrigger(run_date=at, timezone=timezone.utc),
                args=[region_id, number], id=f"written-window:{region_id}:{number}",
                replace_existing=True, misfire_grace_time=None, coalesce=True,
            )

    task = asyncio.create_task(when_ready(), name="meetbot-written-answers")
    _running.add(task)
    task.add_done_callback(_running.discard)
