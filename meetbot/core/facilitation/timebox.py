"""Timeboxes: each prompt gets its time, a warning at 80 % and a call when it runs out.

The timebox follows the meeting's current section (prompt or topic): when the section
changes, the old timers are cancelled and, if the new prompt has a timebox in the agenda,
new ones are armed. Timer keys carry a token derived from the event that armed them, so a
re-armed timebox never reuses the key of a tick that already fired.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from meetbot.core.commands.meeting import post_prompt
from meetbot.core.durations import format_duration
from meetbot.core.effects import CancelTimer, Effect, StartTimer
from meetbot.core.events import Event, Message, RoomEvent, Tick
from meetbot.core.hooks import Hooks
from meetbot.core.initiative import announce, bot_call
from meetbot.core.model import Item, ItemKind, Meeting, RoomSettings, RoomState
from meetbot.core.records import TIMEBOX_PREFIX, Timebox
from meetbot.core.registry import Call, Role, UsageError, command, duration
from meetbot.i18n import Code, Msg, Pill, _

WARN_AT = 0.8  # Standup Raven's reminder point: people want a warning, not a surprise
PREFIX = TIMEBOX_PREFIX


def _token(meeting: Meeting, section: int, event: RoomEvent) -> str:
    digest = hashlib.sha256(event.event_id.encode("utf-8")).hexdigest()[:10]
    return f"{meeting.id[:8]}:{section}:{digest}"


def prompt_timebox(settings: RoomSettings, section: Item) -> timedelta | None:
    if section.kind is not ItemKind.PROMPT or not section.prompt_id:
        return None
    index = settings.agenda.find(section.prompt_id)
    return settings.agenda.prompts[index].timebox if index is not None else None


# -- arming -------------------------------------------------------------------------------


def disarm(meeting: Meeting) -> list[Effect]:
    box = meeting.timebox
    if box is None:
        return []
    return [CancelTimer(box.warn_key), CancelTimer(box.end_key)]


def arm(meeting: Meeting, event: RoomEvent) -> list[Effect]:
    """(Re)arm the timers of the meeting's timebox from ``event``'s time."""
    box = meeting.timebox
    if box is None:
        return []
    effects = disarm(meeting)
    box.token = _token(meeting, box.section, event)
    if box.paused_at is not None:
        return effects
    now = event.at
    elapsed = box.elapsed(now)
    if not box.warned and elapsed < box.total * WARN_AT:
        effects.append(
            StartTimer(box.warn_key, meeting.room_id, now + box.total * WARN_AT - elapsed)
        )
    if not box.over:
        effects.append(StartTimer(box.end_key, meeting.room_id, now + box.left(now)))
    return effects


def start_box(meeting: Meeting, section: int, total: timedelta, event: RoomEvent) -> list[Effect]:
    effects = disarm(meeting)
    meeting.timebox = Timebox(section=section, total=total, started_at=event.at, token="")
    return effects + arm(meeting, event)


def sync(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    """Follow the current section: a new prompt brings its own timebox."""
    meeting = state.meeting
    if meeting is None:
        return []
    section = meeting.current_section
    box = meeting.timebox
    if section is None:
        if box is None:
            return []
        effects = disarm(meeting)
        meeting.timebox = None
        return effects
    if box is not None and box.section == section.n:
        return []
    total = prompt_timebox(settings, section)
    if total is None:
        effects = disarm(meeting)
        meeting.timebox = None
        return effects
    return start_box(meeting, section.n, total, event)


# -- timers firing ------------------------------------------------------------------------


def on_tick(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    if not isinstance(event, Tick) or not event.timer.startswith(PREFIX):
        return []
    meeting = state.meeting
    box = meeting.timebox if meeting else None
    if meeting is None or box is None or box.paused_at is not None:
        return []
    key = f"tick:{event.timer}"
    if event.timer == box.warn_key:
        box.warned = True
        return [
            announce(
                settings, meeting.room_id, key,
                _("⏳ {left} left for this part of the meeting.",
                  left=format_duration(box.left(event.at))),
            )
        ]
    if event.timer == box.end_key:
        box.over = True
        return _time_is_up(state, settings, meeting, event)
    return []


def _time_is_up(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: Tick
) -> list[Effect]:
    key = f"tick:{event.timer}"
    section = meeting.current_section
    agenda = settings.agenda
    next_index = meeting.agenda_index(agenda) + 1
    is_prompt = section is not None and section.kind is ItemKind.PROMPT
    if agenda.on_timebox_end == "advance" and is_prompt and next_index < len(agenda.prompts):
        call = bot_call(state, settings, event, "next")
        call.announce(_("⌛ Time is up; moving on to the next prompt."))
        post_prompt(call, next_index)
        return call.effects + sync(state, settings, event)
    prefix = settings.command_prefix
    chairs = tuple(sorted(c for c in meeting.chairs if c != settings.bot_user_id))
    return [
        announce(
            settings, meeting.room_id, key,
            _("⌛ Time is up for this part of the meeting."),
            _("{chairs}: move on with {next}, or give more time with {extend}.",
              chairs=tuple(Pill(c, meeting.name_of(c)) for c in chairs) or _("Facilitators"),
              next=Code(f"{prefix}next"), extend=Code(f"{prefix}extend 5m")),
            mentions=chairs,
        )
    ]


def on_meeting_ended(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: Event
) -> list[Effect]:
    effects = disarm(meeting)
    meeting.timebox = None
    return effects


# -- commands -----------------------------------------------------------------------------




def _current_section(call: Call) -> Item:
    section = call.meeting.current_section
    if section is None:
        raise UsageError(_("Post a prompt or a topic first; the timebox belongs to it."))
    return section


@command(
    "time",
    usage="DURATION",
    args=duration,
    role=Role.FACILITATOR,
    summary=_("Give the current prompt this much time from now (e.g. 10m)."),
)
def do_time(call: Call, total: timedelta) -> None:
    section = _current_section(call)
    call.effects.extend(start_box(call.meeting, section.n, total, call.event))
    call.announce(_("⏱ {total} for this part of the meeting.", total=format_duration(total)))


def _extend_args(raw: str, event: Message) -> tuple[str, timedelta]:
    words = raw.split()
    if words and words[0].lower() == "meeting":
        return "meeting", duration(" ".join(words[1:]), event)
    return "prompt", duration(raw, event)


@command(
    "extend",
    usage="DURATION | meeting DURATION",
    args=_extend_args,
    role=Role.FACILITATOR,
    summary=_("Add time to the current prompt, or to the whole meeting (`meeting 15m`)."),
)
def do_extend(call: Call, what: tuple[str, timedelta]) -> None:
    target, more = what
    if target == "meeting":
        # Extending the whole meeting belongs to the calendar (facilitation/scheduled.py).
        for hook in call.features.hooks.extend_meeting:
            hook(call, more)
        return
    box = call.meeting.timebox
    if box is None:
        section = _current_section(call)
        call.effects.extend(start_box(call.meeting, section.n, more, call.event))
    else:
        box.total += more
        box.over = box.over and box.left(call.event.at) <= timedelta(0)
        box.warned = box.warned and box.elapsed(call.event.at) >= box.total * WARN_AT
        call.effects.extend(arm(call.meeting, call.event))
    left = call.meeting.timebox.left(call.event.at) if call.meeting.timebox else more
    call.announce(_("⏱ {more} more: {left} left.", more=format_duration(more),
                    left=format_duration(left)))


@command("pause", role=Role.FACILITATOR, summary=_("Pause the prompt's timebox."))
def do_pause(call: Call) -> None:
    box = call.meeting.timebox
    if box is None or box.paused_at is not None:
        call.reply(_("No timebox is running."))
        return
    box.paused_at = call.event.at
    call.effects.extend(arm(call.meeting, call.event))
    left = format_duration(box.left(call.event.at))
    call.announce(_("⏸ Timebox paused with {left} left.", left=left))


@command("resume", role=Role.FACILITATOR, summary=_("Resume the paused timebox."))
def do_resume(call: Call) -> None:
    box = call.meeting.timebox
    if box is None or box.paused_at is None:
        call.reply(_("The timebox is not paused."))
        return
    box.paused_for += call.event.at - box.paused_at
    box.paused_at = None
    call.effects.extend(arm(call.meeting, call.event))
    left = format_duration(box.left(call.event.at))
    call.announce(_("▶ Timebox resumed: {left} left.", left=left))


def status_line(call: Call) -> list[Msg | str]:
    box = call.meeting.timebox
    if box is None:
        return []
    now = call.event.at
    left = box.left(now)
    if box.paused_at is not None:
        return [_("Timebox paused: {left} left of {total}.", left=format_duration(left),
                  total=format_duration(box.total))]
    if left <= timedelta(0):
        return [_("Time is up for this prompt (over by {over}).", over=format_duration(-left))]
    return [_("Time left: {left} of {total}.", left=format_duration(left),
              total=format_duration(box.total))]


HOOKS = Hooks(
    message=(sync,),
    redaction=(sync,),
    tick=(on_tick, sync),
    meeting_ended=(on_meeting_ended,),
    status=(status_line,),
)
