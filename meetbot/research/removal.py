"""Taking a person's text out of the stored record, keeping the meetings replayable.

A meeting is rebuilt by replaying its events, so a removed message keeps its place: its text
goes (``withdrawn``), and a command that shaped the meeting (``!startmeeting``, ``!next``,
``!prompt ID``, ``!strike N``) stays, without any words the person typed, so the meeting
still starts, its prompts come in the same order and item numbers do not move.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from meetbot.core.registry import CommandRegistry, split_command
from meetbot.core.scrubbing import (
    edit_without_words,
    message_without_words,
    structural_command,
)
from meetbot.storage.research_store import ResearchStore, StoredEvent

# The sender written over a withdrawn person's events: it links to nobody.
WITHDRAWN_DOMAIN = "withdrawn.invalid"


def tombstone() -> str:
    return f"@withdrawn-{secrets.token_hex(4)}:{WITHDRAWN_DOMAIN}"


def is_tombstone(user_id: str | None) -> bool:
    return bool(user_id) and str(user_id).endswith(":" + WITHDRAWN_DOMAIN)


@dataclass
class Removal:
    """What one removal touched (counts only; the texts are kept just long enough to find
    the bot's own copies of them)."""

    meetings: set[str] = field(default_factory=set)
    events: int = 0
    texts: set[str] = field(default_factory=set)


def stripped(
    event: StoredEvent,
    *,
    prefix: str,
    commands: CommandRegistry,
    sender: str,
    created_items: set[str],
    facilitator_power: int | None,
) -> tuple[dict[str, Any], set[str]]:
    """The event's payload without the person's words, and the words it held."""
    data = dict(event.payload)
    texts: set[str] = set()
    data["sender"] = sender
    if event.type == "Message":
        body = str(data.get("body") or "")
        texts.add(body)
        attachment = data.get("attachment")
        if isinstance(attachment, dict):
            texts.add(str(attachment.get("name") or ""))
        parsed = split_command(body, prefix)
        if parsed is not None:
            texts.add(parsed[1])  # the item's text, as the summaries quote it
        kept = structural_command(body, prefix, commands)
        data = message_without_words(
            data, kept, created_item=event.event_id in created_items
        )
        if kept is not None and facilitator_power is not None:
            data["sender_power"] = max(int(data.get("sender_power") or 0), facilitator_power)
    elif event.type == "Edit":
        texts.add(str(data.get("body") or ""))
        data = {**edit_without_words(data), "target": ""}
    elif event.type == "Reaction":
        data["key"] = ""
    elif event.type == "Membership":
        data["display_name"] = ""
    elif event.type == "Redaction":
        texts.add(str(data.get("reason") or ""))
        data["reason"] = None
    return data, {t for t in texts if t}


async def remove_events(
    research: ResearchStore,
    events: Iterable[StoredEvent],
    *,
    prefix: str,
    commands: CommandRegistry,
    sender: str,
    created_items: set[str],
    facilitator_power: int | None = None,
) -> Removal:
    """Rewrite the events without their text (call inside a transaction)."""
    removal = Removal()
    events = list(events)
    removal.texts.update(await research.translated_texts(e.event_id for e in events))
    for event in events:
        data, texts = stripped(event, prefix=prefix, commands=commands, sender=sender,
                               created_items=created_items,
                               facilitator_power=facilitator_power)
        removal.texts.update(texts)
        await research.rewrite_event(event.event_id, sender, data)
        removal.meetings.add(event.meeting_id)
        removal.events += 1
    await research.forget_text_in_outbox_and_tasks(removal.texts)
    return removal
