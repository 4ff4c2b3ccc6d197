"""The check shell: how an author's message reads in the room's other languages and back.

``!check`` (and ``!check auto``) become durable ``check`` tasks in the command's own
transaction, so a restart loses none; the task translates the message into each of the
room's other languages and back into the author's in the live-translation service (worker
threads, batched, cached: a message translated live is not translated again), scores each
round trip against the original with chrF (sacrebleu, 0-100), keeps the scores with the
record and tells the author by direct message, under a transaction id derived from the task,
so nothing is said twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.core.check_effects import CheckMessage, ForgetChecks, SetCheckMode
from meetbot.core.model import RoomState
from meetbot.i18n import SUPPORTED_LANGUAGES, Code, Msg, _, md_escape, render_lines
from meetbot.matrix.content import markdown_content, txn_id_for
from meetbot.matrix.direct import DirectOpener
from meetbot.storage.checks_store import CheckRow, ChecksStore
from meetbot.storage.store import Task
from meetbot.translation.base import TranslationError
from meetbot.translation.detect import detect_language
from meetbot.translation.live import LiveTranslation

log = logging.getLogger(__name__)

KIND = "check"


def chrf(hypothesis: str, reference: str) -> float:
    """chrF (character n-gram F-score, sacrebleu's defaults) of a round trip against the
    original, 0-100: how much of the original came back."""
    from sacrebleu.metrics import CHRF  # imported when first needed: not on the start path

    return float(CHRF().sentence_score(hypothesis, [reference]).score)


class TranslationChecks:
    """Keeps ``!check``'s effects and carries out its tasks (see :meth:`task_handler`)."""

    def __init__(self, app: MeetBotApp, translation: LiveTranslation) -> None:
        self.app = app
        self.translation = translation
        self.store = ChecksStore(app.store.db)
        # Everyone who may have ``!check auto`` on: a superset of the record's (a choice is
        # added here when it is kept, even if its transaction is then rolled back, and never
        # removed), so a message by anyone else is not checked without asking the database.
        # None until first needed; read inside the event's transaction.
        self._maybe_auto: set[str] | None = None
        app.persisters[CheckMessage] = self._persist_check
        app.persisters[SetCheckMode] = self._persist_mode
        app.persisters[ForgetChecks] = self._persist_forget

    @property
    def threshold(self) -> float:
        return self.app.config.translation.check_threshold

    # -- inside the event's transaction ----------------------------------------------
    async def _persist_check(self, effect: CheckMessage, state: RoomState) -> None:
        if effect.asked_by is None:
            if self._maybe_auto is None:
                self._maybe_auto = await self.store.users_with_mode("auto")
            if effect.author not in self._maybe_auto \
                    or effect.room_id in self.translation.rooms_off \
                    or await self.store.mode(effect.author) != "auto":
                return
            key = f"check-auto:{effect.event_id}"
        else:
            key = f"check:{effect.asked_by}"
        await self.app.store.add_task(KIND, key, asdict(effect))

    async def _persist_mode(self, effect: SetCheckMode, state: RoomState) -> None:
        await self.store.set_mode(effect.user_id, effect.mode)
        if effect.mode == "auto" and self._maybe_auto is not None:
            self._maybe_auto.add(effect.user_id)

    async def _persist_forget(self, effect: ForgetChecks, state: RoomState) -> None:
        await self.store.forget_events([effect.event_id])

    # -- the task ---------------------------------------------------------------------
    def task_handler(self, open_direct: DirectOpener) -> Any:
        async def handle(task: Task) -> None:
            await self.run(task, open_direct)

        return handle

    async def run(self, task: Task, open_direct: DirectOpener) -> None:
        payload = task.payload
        author, text = str(payload["author"]), str(payload["text"])
        asked = payload.get("asked_by") is not None
        source, rows, problem = await self._round_trips(payload)
        reader = self.app.user_languages.get(author) or source
        if reader not in SUPPORTED_LANGUAGES:
            reader = "en"
        low = [r for r in rows if r.score < self.threshold]
        lines: list[Msg | str] = []
        if problem is not None:
            if asked:
                lines = [_("Your message could not be checked: {reason}", reason=problem)]
        elif not rows:
            if asked:
                lines = [_("Your message is in the room's only language: there is nothing to "
                           "check.")]
        elif asked or low:
            lines = self._answer(text, rows, low)
        room = await open_direct(author) if lines else None
        async with self.app.store.db.transaction():
            if not await self.app.store.task_pending(task.id):
                return  # the text went (redaction, opt-out, withdrawal) meanwhile
            if rows and payload.get("keep", True) and payload.get("meeting_id"):
                await self.store.save_checks(rows, datetime.now(timezone.utc))
            if room is not None:
                await self.app.store.enqueue(
                    room, txn_id_for(f"{task.key}:dm"),
                    markdown_content([render_lines(lines, reader, escape=True)]),
                )
            await self.app.store.finish_task(task.id)
        self.app.outbox_ready.set()

    async def _round_trips(
        self, payload: dict[str, Any]
    ) -> tuple[str, list[CheckRow], Msg | str | None]:
        """(the source language, one scored round trip per other language, what went wrong)."""
        text = str(payload["text"])
        languages = list(payload["languages"]) or ["en"]
        source = payload.get("source_language") or await asyncio.to_thread(
            detect_language, text, languages, self.app.config.translation.detection_threshold
        ) or languages[0]
        targets = [lang for lang in languages if lang != source]
        if not targets:
            return source, [], None
        if self.app.config.translation.backend == "none":
            return source, [], _("no translation back-end is configured")
        service = self.translation.service
        try:
            forward = await service.translate(text, source, targets)
            back = await asyncio.gather(
                *(service.translate(forward[lang], lang, [source]) for lang in forward)
            )
        except TranslationError as exc:
            log.warning("a check of %s failed: %s", payload["event_id"], exc)
            return source, [], f"{self.app.config.translation.backend}: {exc}"
        rows = []
        for lang, returned in zip(forward, back, strict=True):
            back_text = returned.get(source, "")
            rows.append(CheckRow(
                event_id=str(payload["event_id"]), user_id=str(payload["author"]), lang=lang,
                source_lang=source, text=forward[lang], back_text=back_text,
                score=round(chrf(back_text, text), 1),
            ))
        return source, rows, None

    def _answer(self, text: str, rows: list[CheckRow], low: list[CheckRow]) -> list[Msg | str]:
        prefix = self.app.config.command_prefix
        lines: list[Msg | str] = [
            _("How your message reads in the room's other languages, and back into yours "
              "(similarity of the round trip, chrF, 0-100):"),
            "",
            "\n".join(f"> {md_escape(line)}" for line in text.splitlines()),
        ]
        for row in rows:
            lines += [
                "",
                f"**{row.lang.upper()}** · {md_escape(row.text)}",
                _("↩ back: {text} — similarity {score}", text=row.back_text,
                  score=format(row.score, ".0f")),
            ]
        if low:
            lines += ["", _("Some of it may read poorly in {languages}: say it more simply, "
                            "or add your own translation with {fix}.",
                            languages=", ".join(r.lang for r in low),
                            fix=Code(f"{prefix}fix"))]
        return lines
