"""The live-translation shell: translate what the core asks for, post one notice per message.

Translations run in the translation service (worker threads, batched per language pair,
cached). The worker takes the pending ``translate`` tasks in order, translates them
concurrently (so concurrent messages share back-end batches), then stores every result and
enqueues the notices in message order in one transaction. A failed back-end or a missing
model never loses the message: it is already recorded; the room is told once per meeting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.core.effects import RetractTranslation, SetRoomTranslation, SetUserLanguage, Translate
from meetbot.core.mentions import with_names
from meetbot.core.model import RoomState
from meetbot.i18n import _
from meetbot.matrix.content import edit_content, notice_content, txn_id_for
from meetbot.matrix.translation_notice import corrected, translation_content
from meetbot.metrics import Metrics
from meetbot.storage.corrections_store import CorrectionsStore, Remembered
from meetbot.storage.store import Task
from meetbot.translation.base import MissingPair, TranslationError
from meetbot.translation.detect import detect_language
from meetbot.translation.factory import make_translator
from meetbot.translation.glossary import Glossary
from meetbot.translation.glossary_shell import GlossaryShell
from meetbot.translation.service import TranslationService
from meetbot.waiting import wait_or_timeout

log = logging.getLogger(__name__)

# Translations taken in one round, at most: a backlog goes to the back-end in few, large
# batches (Apertium pays a process start per call), and is stored in one transaction.
BATCH = 128
ROOM_SWITCH = "translation-off:"  # kv key prefix: rooms where a facilitator turned it off

# (source language, {language: text}, the languages taken from people's corrections).
Translated = tuple[str, dict[str, str], dict[str, Remembered]]
# fetch(room_id, event_id) -> the body of a message the record does not hold (or None).
Fetcher = Callable[[str, str], Awaitable[str | None]]


def notice_txn(event_id: str) -> str:
    return txn_id_for(f"translation:{event_id}")


class LiveTranslation:
    def __init__(
        self, app: MeetBotApp, fetch: Fetcher | None = None, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics if metrics is not None else Metrics()
        self.config = app.config.translation
        self.fetch = fetch
        self.rooms_off: set[str] = set()
        self.ready = asyncio.Event()
        self.idle = asyncio.Event()
        self._stop = asyncio.Event()
        self._service: TranslationService | None = None
        app.task_wakers.append(self.ready)
        app.reloaders.append(self.load)  # the rooms switched off, after a rollback
        app.persisters[Translate] = self._persist_translate
        app.persisters[RetractTranslation] = self._persist_retract
        app.persisters[SetUserLanguage] = self._persist_language
        app.persisters[SetRoomTranslation] = self._persist_switch
        self.glossary = GlossaryShell(app, self._use_glossary)

    async def load(self) -> None:
        self.rooms_off = await self.app.store.keys_with_value(ROOM_SWITCH, "off")
        await self.glossary.refresh()

    @property
    def service(self) -> TranslationService:
        if self._service is None:
            translator = make_translator(
                self.config.backend,
                models_dir=self.app.config.models_path,
                libretranslate_url=self.config.libretranslate_url,
                api_key=self.config.api_key.get_secret_value() if self.config.api_key else None,
                argos_threads=self.config.argos_threads,
            )
            # HTTP calls wait on the network, not the CPU: a few per server keeps a pool busy.
            servers = len(self.config.libretranslate_url)
            workers = max(4, 2 * servers) if self.config.backend == "libretranslate" else 1
            self._service = TranslationService(
                translator, workers=workers, max_batch_size=translator.max_batch
            )
            self._service.set_glossary(self.glossary.glossary)
        return self._service

    def _use_glossary(self, glossary: Glossary) -> None:
        if self._service is not None:
            self._service.set_glossary(glossary)

    async def fill_agendas(self) -> int:
        """Prompts lacking a text in a room's language get a machine translation of the
        English one, marked as such (authored texts always win). Returns how many."""
        if self.config.backend == "none":
            return 0
        filled = 0
        for region in self.app.config.regions:
            names = {region.agenda, *(m.agenda for m in region.meetings if m.agenda)}
            for name in names:
                for prompt in self.app.agendas.get(name).prompts:
                    source = "en" if "en" in prompt.texts else next(iter(prompt.texts))
                    missing = [lang for lang in region.languages if lang not in prompt.texts]
                    if not missing:
                        continue
                    try:
                        texts = await self.service.translate(prompt.texts[source], source, missing)
                    except TranslationError as exc:
                        log.warning("no machine translation of prompt %s: %s", prompt.id, exc)
                        continue
                    for lang, text in texts.items():
                        marker = _("(machine translation)").render(lang)
                        prompt.texts.setdefault(lang, f"{text} {marker}")
                        filled += 1
        return filled

    # -- inside the event's transaction ----------------------------------------------
    async def _persist_translate(self, effect: Translate, state: RoomState) -> None:
        live_off = self.config.backend == "none" or effect.room_id in self.rooms_off
        if live_off and effect.reply_to is None:
            return
        if effect.reply_to is not None:
            key = f"translate-demand:{effect.reply_to}"
        elif effect.edit_of is not None:
            key = f"translate-edit:{effect.edit_event or effect.edit_of}"
        else:
            key = f"translate:{effect.event_id}"
        await self.app.store.add_task("translate", key, asdict(effect))

    async def _persist_retract(self, effect: RetractTranslation, state: RoomState) -> None:
        await self.app.store.enqueue(
            effect.room_id,
            txn_id_for(f"retract:{effect.event_id}"),
            {"redacts": "txn:" + notice_txn(effect.event_id), "reason": "original redacted"},
            event_type="m.room.redaction",
            background=True,
        )

    async def _persist_language(self, effect: SetUserLanguage, state: RoomState) -> None:
        await self.app.store.set_user_language(effect.user_id, effect.language)
        if effect.language:
            self.app.user_languages[effect.user_id] = effect.language
        else:
            self.app.user_languages.pop(effect.user_id, None)

    async def _persist_switch(self, effect: SetRoomTranslation, state: RoomState) -> None:
        await self.app.store.set_value(
            ROOM_SWITCH + effect.room_id, "on" if effect.enabled else "off"
        )
        if effect.enabled:
            self.rooms_off.discard(effect.room_id)
        else:
            self.rooms_off.add(effect.room_id)

    # -- the worker -------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self.ready.set()

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                self.ready.clear()
                tasks = await self.app.store.pending_tasks(["translate"], BATCH)
                if not tasks:
                    self.idle.set()
                    await wait_or_timeout(self.ready, 5)
                    continue
                self.idle.clear()
                await self.process(tasks)
        finally:
            if self._service is not None:
                await self._service.close()

    async def process(self, tasks: list[Task]) -> None:
        """Translate a batch concurrently; store and post in the order of the messages."""
        await self.glossary.refresh()  # a term added in a room applies from now on
        results = await asyncio.gather(*(self._translate(t) for t in tasks), return_exceptions=True)
        for result in results:
            self.metrics.translations.labels(self.config.backend, _result(result)).inc()
        async with self.app.store.db.transaction():
            for task, result in zip(tasks, results, strict=True):
                if not await self.app.store.task_pending(task.id):
                    continue  # the text went (redaction, opt-out, withdrawal) meanwhile
                if isinstance(result, BaseException):
                    await self._failed(task, result)
                else:
                    await self._deliver(task, *result)
                await self.app.store.finish_task(task.id)
        self.app.outbox_ready.set()

    async def _translate(self, task: Task) -> Translated:
        payload = task.payload
        text: str = payload["text"]
        if not text and self.fetch is not None:
            text = await self.fetch(payload["room_id"], payload["event_id"]) or ""
        languages: list[str] = list(payload["languages"]) or ["en"]
        source = (
            payload.get("source_language")
            or await asyncio.to_thread(
                detect_language, text, languages, self.config.detection_threshold
            )
            or languages[0]
        )
        if not text.strip():
            return source, {}, {}
        targets = [lang for lang in languages if lang != source]
        if not targets:
            return source, {}, {}
        # People's corrections first: a sentence in the translation memory never goes to
        # the back-end again for that pair.
        async with self.app.store.db.between_writes():
            remembered = await CorrectionsStore(self.app.store).recall(source, targets, text)
        rest = [lang for lang in targets if lang not in remembered]
        machine = await self.service.translate(text, source, rest) if rest else {}
        texts = {
            lang: remembered[lang].text if lang in remembered else machine[lang]
            for lang in targets
        }
        return source, texts, remembered

    async def _deliver(
        self, task: Task, source: str, translations: dict[str, str],
        remembered: dict[str, Remembered],
    ) -> None:
        payload = task.payload
        room_id, event_id = payload["room_id"], payload["event_id"]
        store = self.app.store
        if payload.get("meeting_id") and payload.get("reply_to") is None:
            await CorrectionsStore(store).save(
                event_id, source, translations, self.service.translator.name, remembered
            )
            await self.glossary.record(event_id, payload["text"], source, translations)
        if not translations or self.config.display == "off" or not payload.get("post", True):
            return
        # People read the names the meeting knows; the stored translations keep the ids.
        names = payload.get("names") or {}
        meeting = self.app.meeting_in(room_id)
        shown = {lang: with_names(text, names) for lang, text in translations.items()}
        for lang, hit in remembered.items():
            who = meeting.name_of(hit.user_id) if meeting is not None else hit.user_id
            shown[lang] = corrected(shown[lang], lang, who)
        content = translation_content(shown)
        if payload.get("reply_to"):
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": payload["reply_to"]}}
            await store.enqueue(room_id, txn_id_for(task.key), content)
        elif payload.get("edit_of"):
            original = "txn:" + notice_txn(payload["edit_of"])
            await store.enqueue(room_id, txn_id_for(task.key), edit_content(original, content),
                                background=True)
        else:
            # Live translations go in the background: the room's answers never wait for them.
            content["m.relates_to"] = self._relation(event_id, payload.get("thread_root"))
            await store.enqueue(room_id, notice_txn(event_id), content, background=True)
            # A !fix replies to the notice: which message it translates is kept.
            await CorrectionsStore(store).remember_notice(notice_txn(event_id), room_id, event_id)

    def _relation(self, event_id: str, thread_root: str | None) -> dict[str, Any]:
        if thread_root or self.config.display == "thread":
            return {
                "rel_type": "m.thread",
                "event_id": thread_root or event_id,
                "is_falling_back": False,
                "m.in_reply_to": {"event_id": event_id},
            }
        return {"m.in_reply_to": {"event_id": event_id}}

    async def _failed(self, task: Task, error: BaseException) -> None:
        payload = task.payload
        room_id = payload["room_id"]
        if isinstance(error, MissingPair):
            reason = str(error)
        elif isinstance(error, TranslationError):
            reason = f"{self.config.backend}: {error}"
        else:
            log.exception("translation of %s failed", payload["event_id"], exc_info=error)
            reason = f"{type(error).__name__}: {error}"
        log.warning("translation in %s failed: %s", room_id, reason)
        if payload.get("reply_to"):
            asker = self.app.user_languages.get(payload.get("sender", ""))
            content = notice_content(
                [_("Translation failed: {reason}", reason=reason)],
                [asker or self.app.settings_for(room_id).languages[0]],
                reply_to=payload["reply_to"],
            )
            await self.app.store.enqueue(room_id, txn_id_for(task.key), content)
            return
        # Told once per meeting (the txn id makes a second warning a no-op).
        scope = payload.get("meeting_id") or "no-meeting"
        settings = self.app.settings_for(room_id)
        content = notice_content(
            [
                _(
                    "Live translation is not working: {reason}. Messages are still recorded; "
                    "the meeting can go on.",
                    reason=reason,
                )
            ],
            settings.languages,
        )
        await self.app.store.enqueue(
            room_id, txn_id_for(f"translation-problem:{room_id}:{scope}"), content,
            background=True,
        )


def _result(result: Translated | BaseException) -> str:
    """How a translation went, for the metrics."""
    if isinstance(result, MissingPair):
        return "missing_pair"
    if isinstance(result, BaseException):
        return "error"
    return "ok" if result[1] else "nothing"
