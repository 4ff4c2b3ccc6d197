"""The corrections shell: a person's ``!fix`` edits the translation notice in place.

Inside the command's transaction it finds the message the notice translates (the notice's
event id -> its txn id -> ``translation_notices``), writes the person's version over the
machine's (which is kept), puts it in the translation memory, and queues the notice's edit
and one answer. Both carry txn ids derived from the command's event id, so a restart never
edits or answers twice. ``!unfix`` (a facilitator) puts the machine's version back and takes
the sentence out of the memory.
"""

from __future__ import annotations

from dataclasses import asdict

from meetbot.app import MeetBotApp
from meetbot.core.commands.corrections import translated_text
from meetbot.core.effects import CorrectTranslation, Notice, Translate
from meetbot.core.model import Meeting, RoomState
from meetbot.i18n import Code, Msg, _
from meetbot.matrix.content import edit_content, txn_id_for
from meetbot.matrix.translation_notice import notice_text
from meetbot.storage.corrections_store import HUMAN, CorrectionsStore, StoredTranslation
from meetbot.translation.live import notice_txn


class Corrections:
    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        app.persisters[CorrectTranslation] = self._persist

    async def _persist(self, effect: CorrectTranslation, state: RoomState) -> None:
        store = CorrectionsStore(self.app.store)
        original = await store.translated_by_notice(effect.room_id, effect.notice_id)
        if original is None:
            original = await self._posted_before_upgrade(store, state, effect)
        if original is None:
            await self._answer(effect, _(
                "{command} works as a reply to one of my translation notices: reply to the "
                "notice you want to correct.", command=Code("!fix")))
            return
        rows = await store.translations(original)
        if not rows:
            await self._answer(effect, _(
                "I cannot correct this one: only translations made during a meeting are kept."))
            return
        languages = [row.lang for row in rows]
        first, _sep, rest = effect.text.partition(" ")
        if first.lower() in languages and (rest.strip() or effect.undo):
            chosen, text = [first.lower()], rest.strip()
        elif effect.undo and not effect.text:
            chosen, text = [r.lang for r in rows if r.origin == HUMAN], ""
        elif len(languages) == 1 and not effect.undo:
            chosen, text = languages, effect.text
        else:
            await self._answer(effect, _(
                "This notice holds several languages ({languages}): say which one, e.g. "
                "{example}.", languages=", ".join(languages),
                example=Code(f"!fix {languages[0]} …" if not effect.undo
                             else f"!unfix {languages[0]}")))
            return
        meeting = await self._meeting(state, original)
        if effect.undo:
            await self._undo(effect, store, original, chosen, rows, meeting)
        else:
            await self._fix(effect, store, original, chosen[0], text, rows, meeting)

    async def _posted_before_upgrade(
        self, store: CorrectionsStore, state: RoomState, effect: CorrectTranslation
    ) -> str | None:
        """A notice posted before the bot kept which message each notice translates: it is
        the notice of one of the running meeting's messages, found by its txn id."""
        txn = await store.txn_of_sent(effect.room_id, effect.notice_id)
        if txn is None or state.meeting is None:
            return None
        found = next((e.event_id for e in state.meeting.log if notice_txn(e.event_id) == txn),
                     None)
        if found is not None:
            await store.remember_notice(txn, effect.room_id, found)
        return found

    async def _fix(
        self, effect: CorrectTranslation, store: CorrectionsStore, original: str, lang: str,
        text: str, rows: list[StoredTranslation], meeting: Meeting | None,
    ) -> None:
        await store.correct(original, lang, text, effect.sender)
        source = translated_text(meeting, original) if meeting is not None else None
        source_lang = rows[0].source_lang
        if source and source_lang:
            await store.remember(source_lang, lang, source, text, effect.sender, original)
        await self._edit(effect, store, original, meeting)
        await self._answer(effect, _(
            "Thank you: the {lang} translation now reads as you wrote it, and your version "
            "will be used for this sentence from now on.", lang=Code(lang)))

    async def _undo(
        self, effect: CorrectTranslation, store: CorrectionsStore, original: str,
        languages: list[str], rows: list[StoredTranslation], meeting: Meeting | None,
    ) -> None:
        undone, remembered_only = [], []
        source = translated_text(meeting, original) if meeting is not None else None
        for lang in languages:
            row = next(r for r in rows if r.lang == lang)
            if row.origin != HUMAN:
                continue
            await store.forget_memory_of(original, lang)
            if row.machine_text is None and source and row.source_lang:
                # Taken from the memory: the machine never made one; it makes one now.
                await store.forget_sentence(row.source_lang, lang, source)
                remembered_only.append(lang)
            await store.undo(original, lang)
            undone.append(lang)
        if not undone:
            await self._answer(effect, _("There is no correction to undo on this notice."))
            return
        if remembered_only and meeting is not None and source:
            await self._translate_again(effect, original, source, meeting)
        else:
            await self._edit(effect, store, original, meeting)
        await self._answer(effect, _(
            "The correction is undone: the notice shows the machine translation again."))

    async def _translate_again(
        self, effect: CorrectTranslation, original: str, text: str, meeting: Meeting
    ) -> None:
        event = meeting.log_entry(original)
        languages = tuple(self.app.settings_for(effect.room_id).languages)
        again = Translate(
            room_id=effect.room_id, event_id=original, meeting_id=meeting.id, text=text,
            sender=event.sender if event else effect.sender, languages=languages,
            edit_of=original, edit_event=effect.event_id,
        )
        await self.app.store.add_task("translate", f"translate-edit:{effect.event_id}",
                                      asdict(again))
        self.app.wake_tasks()

    async def _edit(
        self, effect: CorrectTranslation, store: CorrectionsStore, original: str,
        meeting: Meeting | None,
    ) -> None:
        content = notice_text(await store.translations(original), meeting)
        await self.app.store.enqueue(
            effect.room_id, txn_id_for(f"fix:{effect.event_id}"),
            edit_content("txn:" + notice_txn(original), content),
        )

    async def _meeting(self, state: RoomState, event_id: str) -> Meeting | None:
        if state.meeting is not None and state.meeting.log_entry(event_id) is not None:
            return state.meeting
        meeting_id = await self.app.store.meeting_of_event(event_id)
        return await self.app.rebuild_meeting(meeting_id) if meeting_id else None

    async def _answer(self, effect: CorrectTranslation, line: Msg) -> None:
        await self.app.write_notice(Notice(
            room_id=effect.room_id, lines=(line,), languages=(effect.reader_language,),
            reply_to=effect.event_id, kind="reply", key=f"fix-answer:{effect.event_id}",
            thread_root=effect.thread_root,
        ))

