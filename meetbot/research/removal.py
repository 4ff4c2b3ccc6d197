"""Taking a person's text out of the stored record, keeping the meetings replayable.

A meeting is rebuilt by replaying its events, so a removed message keeps its place: its text
goes (``withdrawn``), and a command that shaped the meeting (``!startmeeting``, ``!next``,
``!prompt ID``, ``!strike N``) stays, without any words the person typed, so the meeting
still starts, its prompts come in the same order and item numbers do not move.

What stays of each event is the core's one rule (:mod:`meetbot.core.scrubbing`), the same a
redaction follows; this module applies it to every event of the person's it is given, writes
the person (an opt-out) or a stand-in (a withdrawal) as their sender, and forgets the bot's
own copies of their words.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from meetbot.core.events import Event
from meetbot.core.scrubbing import Commands, under_stand_in, without_words, words_of
from meetbot.minutes.series import WITHDRAWN_DOMAIN
from meetbot.storage.checks_store import ChecksStore
from meetbot.storage.corrections_store import CorrectionsStore
from meetbot.storage.research_store import MeetingEvent, ResearchStore

# The sender written over a withdrawn person's events: it links to nobody.


def tombstone() -> str:
    return f"@withdrawn-{secrets.token_hex(4)}:{WITHDRAWN_DOMAIN}"


@dataclass
class Removal:
    """What one removal touched (counts only; the texts are kept just long enough to find
    the bot's own copies of them)."""

    meetings: set[str] = field(default_factory=set)
    events: int = 0
    texts: set[str] = field(default_factory=set)


def stripped(
    event: Event,
    *,
    prefix: str,
    commands: Commands,
    sender: str,
    created_items: set[str],
    facilitator_power: int | None,
) -> tuple[Event, set[str]]:
    """The event without the person's words (the one rule,
    :func:`meetbot.core.scrubbing.without_words`) under ``sender`` (the person for an
    opt-out, a stand-in for a withdrawal), and the words it held."""
    kept = without_words(
        event, prefix, commands, created_item=event.event_id in created_items
    )
    return under_stand_in(kept, sender, facilitator_power=facilitator_power), words_of(
        event, prefix
    )


async def remove_events(
    research: ResearchStore,
    events: Iterable[MeetingEvent],
    *,
    prefix: str,
    commands: Commands,
    sender: str,
    created_items: set[str],
    facilitator_power: int | None = None,
) -> Removal:
    """Rewrite the events without their text (call inside a transaction)."""
    removal = Removal()
    events = list(events)
    removal.texts.update(await research.translated_texts(e.event_id for e in events))
    for stored in events:
        kept, texts = stripped(
            stored.event, prefix=prefix, commands=commands, sender=sender,
            created_items=created_items, facilitator_power=facilitator_power,
        )
        removal.texts.update(texts)
        await research.store.rewrite_event(kept)
        removal.meetings.add(stored.meeting_id)
        removal.events += 1
    # People's corrections of these messages' translations were made from their words.
    await CorrectionsStore(research.store).forget_messages(e.event_id for e in events)
    # Round trips of the messages (!check) hold their words in other languages.
    await ChecksStore(research.store.db).forget_events(e.event_id for e in events)
    await research.forget_text_in_outbox_and_tasks(removal.texts)
    return removal
