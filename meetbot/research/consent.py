"""The shell side of consent: storing opt-outs, removing text, withdrawing a person.

The core announces and asks (:mod:`meetbot.core.commands.research_consent`); this module does the
work against the store, then rebuilds any running meeting from what is left, so the text is
gone from memory as well as from the database.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from meetbot.app import MeetBotApp
from meetbot.config.windows import open_windows
from meetbot.core.model import RoomState
from meetbot.core.privacy_effects import ConsentChanged
from meetbot.research.removal import Removal, remove_events, tombstone
from meetbot.storage.calendar_store import CalendarStore
from meetbot.storage.research_store import MeetingEvent, ResearchStore
from meetbot.storage.store import Task
from meetbot.storage.written_store import WrittenStore

log = logging.getLogger(__name__)


async def attach(app: MeetBotApp) -> None:
    """Load who opted out and make deletions overwrite the file (at start-up)."""
    research = ResearchStore(app.store)
    await research.harden()
    app.opted_out.update(await research.opted_out())


async def created_items(app: MeetBotApp, meeting_ids: set[str]) -> set[str]:
    """Events that created an item, so a removed one keeps the item's number."""
    found: set[str] = set()
    for meeting_id in meeting_ids:
        meeting = await app.rebuild_meeting(meeting_id)
        if meeting is not None:
            found.update(item.event_id for item in meeting.items)
    return found


async def rebuild_running(app: MeetBotApp, meeting_ids: set[str]) -> None:
    """Replay running meetings whose events changed (call holding the app's lock)."""
    for row in await app.store.running_meetings():
        if row.meeting_id not in meeting_ids:
            continue
        events = await app.store.meeting_events(row.meeting_id)
        app.states[row.room_id] = app.replay(RoomState(row.room_id), events)


def on_consent_changed(app: MeetBotApp, effect: ConsentChanged) -> None:
    """``!optout`` / ``!optin``: from now on the shell keeps (or not) the person's text.

    The choice itself and the removal of the running meeting's text were stored with the
    command (a durable ``consent`` task, see :func:`apply_consent`), so a crash loses neither.
    """
    if effect.opted_out:
        app.opted_out.add(effect.user_id)
    else:
        app.opted_out.discard(effect.user_id)


def consent_task(effect: ConsentChanged) -> tuple[str, dict[str, object]]:
    """The durable task that carries out a consent change: its key and payload."""
    # The command is handled once (by event id), so a random key is unique and names nobody.
    return f"consent:{effect.at.isoformat()}:{secrets.token_hex(8)}", {
        "user_id": effect.user_id, "opted_out": effect.opted_out,
        "meeting_id": effect.meeting_id, "at": effect.at.isoformat(),
    }


async def apply_consent(app: MeetBotApp, task: Task) -> None:
    """Remove an opted-out person's text from the running meeting; audit the change."""
    research = ResearchStore(app.store)
    payload = task.payload
    user_id, meeting_id = str(payload["user_id"]), payload.get("meeting_id")
    async with app._lock:  # no event is handled while the meeting is rewritten
        removal = Removal()
        async with app.store.db.transaction():
            if payload["opted_out"] and meeting_id:
                events = await research.events_of(user_id, str(meeting_id))
                removal = await remove_events(
                    research, events, prefix=app.config.command_prefix,
                    commands=app.engine.features.commands, sender=user_id,
                    created_items=await created_items(app, {str(meeting_id)}),
                )
            if payload["opted_out"]:
                # Like the running meeting's messages: the answers written for the meetings
                # open for written answers now go too.
                at = datetime.fromisoformat(str(payload["at"]))
                slots = {(r.id, m.number) for r, m in open_windows(app.config, at)}
                if slots:
                    await forget_written(app, research, user_id, slots)
            await research.audit("optout" if payload["opted_out"] else "optin",
                                 len(removal.meetings), removal.events)
            await app.store.finish_task(task.id)
        await rebuild_running(app, removal.meetings)
    await research.checkpoint()


@dataclass(frozen=True)
class Withdrawal:
    meetings: set[str]
    events: int
    kept_meetings: int  # meetings past the withdrawal window, left as they were


async def withdraw(
    app: MeetBotApp, user_id: str, requested_at: datetime, task_id: int | None = None
) -> Withdrawal:
    """Delete everything ``user_id`` contributed, in every meeting inside the window.

    The meetings touched are written into the withdrawal task (``task_id``) in the same
    transaction, so a retry after a failure still rewrites their minutes.
    """
    research = ResearchStore(app.store)
    window = app.config.privacy.withdrawal_window
    async with app._lock:
        events = await research.events_of(user_id)
        allowed, too_old = await _within_window(app, events, requested_at, window)
        mine = [e for e in events if e.meeting_id in allowed]
        facilitator_power = (
            app.config.facilitator_power_level if user_id in app.config.facilitators else None
        )
        stand_in = tombstone()
        async with app.store.db.transaction():
            removal = await remove_events(
                research, mine, prefix=app.config.command_prefix,
                commands=app.engine.features.commands, sender=stand_in,
                created_items=await created_items(app, allowed),
                facilitator_power=facilitator_power,
            )
            # Others named the person too (`!action @bea ...`, `!chair @bea`): the same
            # stand-in replaces the id there, so a chair stays a chair on replay.
            await research.replace_user_id(user_id, stand_in, allowed)
            # Their written answers around meetings, and the meetings whose minutes showed them.
            removal.meetings |= await forget_written(app, research, user_id)
            # What the bot kept about the person beyond their words goes too.
            await app.store.forget_user(user_id)
            await research.audit("withdrawal", len(removal.meetings), removal.events)
            if task_id is not None:
                await research.remember_meetings(task_id, removal.meetings)
        app.user_languages.pop(user_id, None)
        await rebuild_running(app, removal.meetings)
    await research.checkpoint()
    return Withdrawal(removal.meetings, removal.events, len(too_old))


async def forget_written(
    app: MeetBotApp, research: ResearchStore, user_id: str,
    slots: set[tuple[str, int]] | None = None,
) -> set[str]:
    """Remove the person's written answers (those of ``slots`` only, if given) with their
    translations and any queued copy; returns the meetings held for those slots (call
    inside a transaction)."""
    gone = await WrittenStore(app.store.db).forget_person(user_id, slots)
    if not gone.answers:
        return set()
    await research.forget_text_in_outbox_and_tasks(gone.texts)
    rows = await CalendarStore(app.store.db).rows()
    return {r.meeting_id for r in rows if r.meeting_id and (r.region_id, r.number) in gone.slots}


async def _within_window(
    app: MeetBotApp, events: list[MeetingEvent], at: datetime, window: timedelta | None
) -> tuple[set[str], set[str]]:
    meeting_ids = {e.meeting_id for e in events}
    if window is None:
        return meeting_ids, set()
    allowed: set[str] = set()
    for meeting_id in meeting_ids:
        row = await app.store.meeting(meeting_id)
        if row is None or row.ended_at is None or at - row.ended_at <= window:
            allowed.add(meeting_id)
    return allowed, meeting_ids - allowed
