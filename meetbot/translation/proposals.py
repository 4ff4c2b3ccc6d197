"""Proposals in every language: translate a proposal's notice and edit it in place.

The core posts a proposal (and later its outcome) with the words as typed and asks for a
``TranslateProposal``. This shell keeps the request as a durable task; when it runs, it reads
the proposal as the meeting holds it then (the latest text, the standing responses), has the
text and the reasons translated into each of the room's languages by the live-translation
service, stores the proposal text's translations with the record (under the ``!propose``
message, as any message's) and edits the notice: each language block shows the words in its
language, marked as machine translation, or as a person's correction or the glossary's
translation where the record says so. Without a back-end (or with live translation off in
the room) an edit of the proposal still updates its notice, untranslated.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime

from meetbot.app import MeetBotApp
from meetbot.core.effects import TranslateProposal
from meetbot.core.facilitation.proposal_languages import CLOSED, notice_for, proposal_by_token
from meetbot.core.facilitation.proposals import NEEDS_REASON
from meetbot.core.mentions import with_names
from meetbot.core.model import Meeting, RoomState
from meetbot.core.records import Proposal
from meetbot.i18n import Localized, Msg, _
from meetbot.matrix.content import content_for, edit_content, txn_id_for
from meetbot.storage.proposal_translation_store import ProposalTranslationStore, StoredTranslation
from meetbot.storage.store import Task
from meetbot.translation.base import TranslationError
from meetbot.translation.detect import detect_language
from meetbot.translation.live import LiveTranslation

log = logging.getLogger(__name__)
KIND = "translate-proposal"
MACHINE = _("(machine translation)")
GLOSSARY = _("(glossary translation)")

_ATTACHED: weakref.WeakKeyDictionary[MeetBotApp, ProposalTranslation] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Words:
    """Words a person typed into a proposal: the text, or a reason for a response."""

    event_id: str
    text: str
    sender: str


class ProposalTranslation:
    def __init__(self, app: MeetBotApp, live: LiveTranslation) -> None:
        self.app = app
        self.live = live
        self.store = ProposalTranslationStore(app.store.db)
        app.persisters[TranslateProposal] = self._persist
        _ATTACHED[app] = self

    @staticmethod
    def of(app: MeetBotApp) -> ProposalTranslation | None:
        """The shell attached to ``app`` (by :func:`meetbot.runtime.features.open_bot`)."""
        return _ATTACHED.get(app)

    async def _persist(self, effect: TranslateProposal, state: RoomState) -> None:
        key = f"{KIND}:{effect.stage}:{effect.token}:{effect.cause}"
        await self.app.store.add_task(KIND, key, asdict(effect))

    # -- the task ---------------------------------------------------------------------
    async def handle(self, task: Task) -> None:
        payload = task.payload
        room_id = payload.get("room_id", "")
        meeting = await self._meeting(room_id, payload.get("meeting_id", ""))
        proposal = proposal_by_token(meeting, payload.get("token", "")) if meeting else None
        content = None
        if meeting is not None and proposal is not None:
            content = await self._content(meeting, proposal, payload["stage"], payload["cause"])
        async with self.app.store.db.transaction():
            if content is not None:
                await self.app.store.enqueue(room_id, txn_id_for(task.key), content)
            await self.app.store.finish_task(task.id)
        self.app.outbox_ready.set()

    async def _meeting(self, room_id: str, meeting_id: str) -> Meeting | None:
        state = self.app.states.get(room_id)
        if state is not None and state.meeting is not None and state.meeting.id == meeting_id:
            return state.meeting
        return await self.app.rebuild_meeting(meeting_id)

    def _translating(self, room_id: str) -> bool:
        return self.live.config.backend != "none" and room_id not in self.live.rooms_off

    async def _content(
        self, meeting: Meeting, proposal: Proposal, stage: str, cause: str
    ) -> dict[str, object] | None:
        """The edited notice, or None when it would say what the posted one says."""
        settings = self.app.settings_for(meeting.room_id, meeting.agenda_id)
        languages = settings.languages
        words = [Words(proposal.event_id, proposal.text, proposal.author)]
        if stage == CLOSED:
            words += [
                Words(b.source, b.reason, b.voter)
                for b in proposal.votes().values()
                if b.position in NEEDS_REASON and b.reason.strip()
            ]
        machine: dict[str, tuple[str, dict[str, str]]] = {}
        if self._translating(meeting.room_id):
            for said in words:
                machine[said.event_id] = await self._translate(meeting, said, languages)
            source, texts = machine[proposal.event_id]
            if stage != CLOSED and texts:
                async with self.app.store.db.transaction():
                    await self.app.store.save_translations(
                        proposal.event_id, source, texts, self.live.service.translator.name
                    )
        elif stage == CLOSED or cause == proposal.event_id:
            return None  # nothing to show that the posted notice does not
        stored = await self.store.translations(w.event_id for w in words)
        shown = {
            said.event_id: self._shown(meeting, proposal, said, machine, stored, languages)
            for said in words
        }
        edited = stage != CLOSED and cause != proposal.event_id
        if not edited and not any(_translated(said, meeting, shown) for said in words):
            return None  # one language, or nothing translated: the notice says it all
        text = shown.pop(proposal.event_id)
        notice = notice_for(settings, meeting, proposal, stage, text, shown)
        return edit_content("txn:" + txn_id_for(notice.key), content_for(notice))

    async def _translate(
        self, meeting: Meeting, said: Words, languages: tuple[str, ...]
    ) -> tuple[str, dict[str, str]]:
        config = self.live.config
        source = (
            meeting.chosen_languages.get(said.sender)
            or self.app.user_languages.get(said.sender)
            or await asyncio.to_thread(
                detect_language, said.text, list(languages), config.detection_threshold
            )
            or languages[0]
        )
        targets = [lang for lang in languages if lang != source]
        if not targets or not said.text.strip():
            return source, {}
        try:
            return source, await self.live.service.translate(said.text, source, targets)
        except TranslationError as exc:
            log.warning("no translation of proposal words %s: %s", said.event_id, exc)
            return source, {}

    def _shown(
        self,
        meeting: Meeting,
        proposal: Proposal,
        said: Words,
        machine: dict[str, tuple[str, dict[str, str]]],
        stored: dict[str, dict[str, StoredTranslation]],
        languages: tuple[str, ...],
    ) -> Localized:
        """The words in each language, marked where they are a translation."""
        source, texts = machine.get(said.event_id, ("", {}))
        rows = stored.get(said.event_id, {})
        original = with_names(said.text, meeting.names)
        shown: dict[str, str] = {}
        for lang in languages:
            row = rows.get(lang)
            marker: Msg | None = None
            if lang == source:
                text = original
            elif row is not None and row.origin == "human" and _current(row, proposal, said):
                text = row.text
                marker = _("(corrected by {name})", name=meeting.name_of(row.corrected_by or ""))
            elif row is not None and row.origin == "glossary":
                text, marker = row.text, GLOSSARY
            elif lang in texts:
                text, marker = texts[lang], MACHINE
            else:
                text = original
            text = with_names(text, meeting.names)
            shown[lang] = f"{text} {marker.render(lang)}" if marker else text
        return Localized(shown)


def _translated(said: Words, meeting: Meeting, shown: dict[str, Localized]) -> bool:
    original = with_names(said.text, meeting.names)
    return any(text != original for text in shown[said.event_id].texts.values())


def _current(row: StoredTranslation, proposal: Proposal, said: Words) -> bool:
    """A person's correction of the proposal text counts unless the text changed since."""
    if said.event_id != proposal.event_id or proposal.edited_at is None:
        return True
    if not row.corrected_at:
        return False
    try:
        return datetime.fromisoformat(row.corrected_at) >= proposal.edited_at
    except ValueError:
        return False
