"""Actions followed up across meetings: ``!actions``, ``!done N``, ``!drop N [reason]``.

An action recorded with ``!action`` is open until an owner or a facilitator closes it. Every
action gets a number for the whole network (``A1``, ``A2``, ...) the first time the bot sees
it, so the same number works in any room and in a direct chat. At the start of a region's
next meeting its open actions are listed; when the region's meeting reminders fire, their
owners get a direct message. The numbers, statuses and history are the store's (see
:mod:`meetbot.core.followup_effects`): here the commands and hooks only say what was asked.
"""

from __future__ import annotations

from datetime import datetime

from meetbot.core.effects import Effect
from meetbot.core.events import Message, Tick
from meetbot.core.facilitation.queue import end_turn
from meetbot.core.followup_effects import (
    COORDINATOR,
    DIRECT,
    REGION,
    ActionClosed,
    ActionRemindersDue,
    ActionsCarried,
    ActionsListed,
    ActionsNoted,
    effect,
)
from meetbot.core.hooks import Hooks
from meetbot.core.model import ItemKind, Meeting, RoomSettings, RoomState
from meetbot.core.records import SlotKey
from meetbot.core.registry import (
    Call,
    Scope,
    UsageError,
    command,
    is_facilitator,
    no_meeting_here,
    optional_text,
    whole_number,
)
from meetbot.i18n import _

DONE, DROPPED = "done", "dropped"


def action_number(raw: str) -> int:
    """``A3``, ``a3``, ``#3`` or ``3``: the action's network-wide number."""
    token = raw.strip()
    if token[:1] in ("A", "a"):
        token = token[1:]
    return whole_number(token, _("Give an action number, such as A3 (see {actions}).",
                                 actions="!actions"))


def _number_and_reason(raw: str, event: Message) -> tuple[int, str]:
    first, _sep, rest = raw.strip().partition(" ")
    if not first:
        raise UsageError(_("Give an action number, such as A3 (see {actions}).",
                           actions="!actions"))
    return action_number(first), rest.strip()


def _where(call: Call) -> str:
    settings = call.settings
    if settings.direct:
        return DIRECT
    if settings.coordinator_room == call.event.room_id:
        return COORDINATOR
    return REGION


@command(
    "actions",
    scope=Scope.ROOM,
    direct=True,
    group="actions",
    summary=_("List the open actions: the region's in its room, your own in a direct chat."),
)
def do_actions(call: Call) -> None:
    event = call.event
    call.emit(effect(ActionsListed(
        where=_where(call), region_id=call.settings.region.id, room_id=event.room_id,
        user_id=event.sender, event_id=event.event_id, language=call.reader_language,
        thread_root=event.thread_root, live=event.live,
    )))


def _close(call: Call, step: str, value: tuple[int, str]) -> None:
    number, reason = value
    event = call.event
    meeting = call.state.meeting
    call.emit(effect(ActionClosed(
        number=number, step=step, reason=reason, user_id=event.sender,
        facilitator=is_facilitator(call.settings, meeting, event), where=_where(call),
        region_id=call.settings.region.id, room_id=event.room_id,
        meeting_id=meeting.id if meeting else None, event_id=event.event_id, at=event.at,
        language=call.reader_language, thread_root=event.thread_root, live=event.live,
    )))


@command(
    "done",
    usage="[N]",
    args=optional_text,
    scope=Scope.ROOM,
    direct=True,
    group="actions",
    summary=_("End your turn in the speaking queue; with N (such as A3), mark action N done "
              "(its owners or a facilitator)."),
)
def do_done(call: Call, raw: str) -> None:
    if raw.strip():
        _close(call, DONE, (action_number(raw.split()[0]), ""))
    elif call.settings.direct:
        raise UsageError(_("Give an action number, such as A3 (see {actions}).",
                           actions="!actions"))
    elif call.state.meeting is None:
        call.reply(no_meeting_here(call.prefix))
    else:
        end_turn(call)


@command(
    "drop",
    usage="N [REASON]",
    args=_number_and_reason,
    scope=Scope.ROOM,
    direct=True,
    group="actions",
    summary=_("Drop action N (such as A3), saying why: its owners or a facilitator."),
)
def do_drop(call: Call, value: tuple[int, str]) -> None:
    _close(call, DROPPED, value)


# -- hooks ------------------------------------------------------------------------------


def _noted(meeting: Meeting, items: tuple[int, ...], at: datetime) -> list[Effect]:
    if not items:
        return []
    return [effect(ActionsNoted(meeting.id, meeting.region_id, meeting.room_id, items, at))]


def on_message(state: RoomState, settings: RoomSettings, event: Message) -> list[Effect]:
    """An ``!action`` just recorded gets its number at once."""
    meeting = state.meeting
    item = meeting.item_for_event(event.event_id) if meeting is not None else None
    if meeting is None or item is None or item.kind is not ItemKind.ACTION or item.struck:
        return []
    return _noted(meeting, (item.n,), event.at)


def on_meeting_started(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: Message
) -> list[Effect]:
    if settings.direct or settings.region.id == "adhoc":
        return []
    return [effect(ActionsCarried(
        meeting.id, meeting.region_id, meeting.room_id, settings.languages,
        f"announce:{event.event_id}:open-actions", event.at,
    ))]


def on_meeting_ended(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: Message
) -> list[Effect]:
    """Every action of the meeting, as it ends (one recorded while the bot was away too)."""
    items = tuple(i.n for i in meeting.items if i.kind is ItemKind.ACTION and not i.struck)
    return _noted(meeting, items, event.at)


def on_tick(state: RoomState, settings: RoomSettings, event: Tick) -> list[Effect]:
    key = SlotKey.parse(event.timer)
    if key is None or not key.what.startswith("remind-"):
        return []
    return [effect(ActionRemindersDue(key.region, event.timer, event.at))]


HOOKS = Hooks(
    message=(on_message,),
    meeting_started=(on_meeting_started,),
    meeting_ended=(on_meeting_ended,),
    tick=(on_tick,),
)
