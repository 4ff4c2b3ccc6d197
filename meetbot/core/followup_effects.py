"""What following actions up across meetings asks the shells to do.

The core sees one room; an action's number, status and history across meetings and regions
live in the store, so the commands and hooks only say what was asked, and the action
follow-up shell (``meetbot/runtime/action_followup.py``) answers inside the event's own
transaction: durable, and never answered twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from meetbot.core.effects import Effect

# Where ``!actions`` was asked: a region's room, a direct chat, or the coordinator room.
REGION, DIRECT, COORDINATOR = "region", "direct", "coordinator"


@dataclass(frozen=True)
class ActionsNoted:
    """These actions (item numbers) of a meeting exist: give the new ones their number."""

    meeting_id: str
    region_id: str
    room_id: str
    items: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class ActionsCarried:
    """A meeting started: list the region's open actions from earlier meetings in its room
    (and record that they were carried over into it)."""

    meeting_id: str
    region_id: str
    room_id: str
    languages: tuple[str, ...]
    key: str
    at: datetime


@dataclass(frozen=True)
class ActionsListed:
    """``!actions``: answer with the open actions (the region's, the person's own in a direct
    chat, every region's in the coordinator room)."""

    where: str
    region_id: str
    room_id: str
    user_id: str
    event_id: str
    language: str
    thread_root: str | None
    live: bool


@dataclass(frozen=True)
class ActionClosed:
    """``!done N`` / ``!drop N [reason]``: the shell checks the action exists, is open and
    that the person may close it (an owner, or ``facilitator``), records it and answers."""

    number: int
    step: str  # done | dropped
    reason: str
    user_id: str
    facilitator: bool
    where: str
    region_id: str
    room_id: str
    meeting_id: str | None
    event_id: str
    at: datetime
    language: str
    thread_root: str | None
    live: bool


@dataclass(frozen=True)
class ActionRemindersDue:
    """A region's meeting reminder fired: each owner of an open action of the region gets a
    direct message listing theirs (a durable task: opening a direct chat needs Matrix)."""

    region_id: str
    timer: str
    at: datetime


FollowUpEffect = ActionsNoted | ActionsCarried | ActionsListed | ActionClosed | ActionRemindersDue


def effect(value: FollowUpEffect) -> Effect:
    """These travel in the core's effect list like the built-in effects; the app hands them
    to the persisters the follow-up shell installs (``app.persisters``)."""
    return cast(Effect, value)
