"""Scheduled meetings, as the core sees them: reminders, opening, closing, missed slots.

The calendar shell (``meetbot/runtime/calendar.py``) fires ticks whose key says everything the core
needs, so that a replay of the stored tick decides exactly as the live one did::

    calendar:{region}:{number}:{what}:{starts, UTC}:{duration in s}:{title, %-quoted}

``what`` is ``remind-{seconds before}``, ``open`` or ``missed``. Opening reuses
``start_meeting``; the scheduled end is a core timer (``meeting-close:...``) that a
facilitator can push back with ``!extend meeting 15m``; ending the meeting cancels it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from meetbot.core.commands.meeting import end_meeting, local_time, start_meeting, zoned_time
from meetbot.core.durations import format_duration
from meetbot.core.effects import CancelTimer, Effect, Notice, StartTimer
from meetbot.core.events import Event, RoomEvent, Tick
from meetbot.core.facilitation import timebox
from meetbot.core.hooks import Hooks
from meetbot.core.initiative import announce, bot_call
from meetbot.core.model import Meeting, RoomSettings, RoomState
from meetbot.core.records import CALENDAR_PREFIX, CLOSE, Slot, SlotKey
from meetbot.core.registry import Call, Scope, command, optional_text
from meetbot.i18n import Code, Msg, _

PREFIX = CALENDAR_PREFIX
LATE_AFTER = timedelta(seconds=30)  # later than this, the opening says it is late


def _when(at: datetime, tz: str) -> str:
    return local_time(at, tz, "%Y-%m-%d %H:%M")


def _title(settings: RoomSettings, key: SlotKey) -> str:
    return key.title or f"{settings.region.name} — meeting {key.number}"


# -- the scheduled end ------------------------------------------------------------------


def arm_close(meeting: Meeting, slot: Slot, now: datetime) -> list[Effect]:
    effects: list[Effect] = [StartTimer(slot.close_key(meeting), meeting.room_id, slot.ends)]
    warn = slot.ends - min(timedelta(minutes=5), (slot.ends - slot.starts) * 0.2)
    if warn > now:
        effects.append(StartTimer(slot.warn_key(meeting), meeting.room_id, warn))
    return effects


def disarm_close(meeting: Meeting) -> list[Effect]:
    slot = meeting.slot
    if slot is None:
        return []
    return [CancelTimer(slot.close_key(meeting)), CancelTimer(slot.warn_key(meeting))]


def extend_meeting(call: Call, more: timedelta) -> None:
    meeting = call.meeting
    slot = meeting.slot
    if slot is None:
        call.reply(_("This meeting has no scheduled end; end it with {end} when you are done.",
                     end=Code(f"{call.prefix}endmeeting")))
        return
    call.effects.extend(disarm_close(meeting))
    slot.ends += more
    slot.extensions += 1
    call.effects.extend(arm_close(meeting, slot, call.event.at))
    call.announce(_("⏱ The meeting is extended by {more}: it now ends at {time}.",
                    more=format_duration(more), time=local_time(slot.ends, meeting.timezone)))


# -- calendar ticks ---------------------------------------------------------------------


def _remind(settings: RoomSettings, event: Tick, key: SlotKey) -> list[Effect]:
    tz = settings.region.timezone
    left = max(key.starts - event.at, timedelta(0))
    return [
        announce(
            settings, event.room_id, f"tick:{event.timer}",
            _("📅 Reminder: **{title}** starts on {when} ({tz}), in {left}.",
              title=_title(settings, key), when=_when(key.starts, tz), tz=tz,
              left=format_duration(left)),
        )
    ]


def _open(state: RoomState, settings: RoomSettings, event: Tick, key: SlotKey) -> list[Effect]:
    running = state.meeting
    slot = Slot(number=key.number, starts=key.starts, ends=key.ends)
    if running is not None:
        # Someone started early: the running meeting becomes the scheduled one.
        if running.slot is not None:
            return []
        running.slot = slot
        return [
            *arm_close(running, slot, event.at),
            announce(settings, event.room_id, f"tick:{event.timer}",
                     _("📅 This meeting counts as **{title}**; it ends at {time}.",
                       title=_title(settings, key),
                       time=local_time(slot.ends, running.timezone))),
        ]
    call = bot_call(state, settings, event, "startmeeting")
    late = event.at - key.starts
    if late > LATE_AFTER:
        call.announce(
            _("⚠ The bot was unavailable at {time}: this meeting starts {late} late.",
              time=local_time(key.starts, settings.region.timezone),
              late=format_duration(late)),
        )
    meeting = start_meeting(call, _title(settings, key))
    meeting.slot = slot
    call.effects.extend(arm_close(meeting, slot, event.at))
    call.announce(_("It ends by itself at {time}.", time=local_time(slot.ends, meeting.timezone)))
    return call.effects + timebox.sync(state, settings, event)


def _missed(settings: RoomSettings, event: Tick, key: SlotKey) -> list[Effect]:
    tz = settings.region.timezone
    title = _title(settings, key)
    effects: list[Effect] = [
        announce(
            settings, event.room_id, f"tick:{event.timer}",
            _("⚠ **{title}** ({when}) could not be opened: the bot was unavailable. "
              "The research coordinator has been told.", title=title, when=_when(key.starts, tz)),
        )
    ]
    if settings.coordinator_room:
        effects.append(
            Notice(
                room_id=settings.coordinator_room,
                lines=(
                    _("⚠ Missed meeting: {region}, **{title}**, planned for {when} ({tz}). The "
                      "bot was unavailable past the grace period; reschedule it in the config.",
                      region=settings.region.name, title=title, when=_when(key.starts, tz),
                      tz=tz),
                ),
                languages=("en",),
                kind="announce",
                key=f"tick:{event.timer}:coordinator",
            )
        )
    return effects


def _close(state: RoomState, settings: RoomSettings, event: Tick) -> list[Effect]:
    meeting = state.meeting
    slot = meeting.slot if meeting else None
    if meeting is None or slot is None:
        return []
    if event.timer == slot.warn_key(meeting):
        return [
            announce(settings, meeting.room_id, f"tick:{event.timer}",
                     _("⏳ The meeting ends in {left}, at {time}.",
                       left=format_duration(slot.ends - event.at),
                       time=local_time(slot.ends, meeting.timezone)))
        ]
    if event.timer != slot.close_key(meeting):
        return []
    call = bot_call(state, settings, event, "endmeeting")
    call.announce(_("⏰ This is the scheduled end of the meeting."))
    end_meeting(call)
    return call.effects


def on_tick(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    if not isinstance(event, Tick):
        return []
    if event.timer.startswith(CLOSE):
        return _close(state, settings, event)
    key = SlotKey.parse(event.timer)
    if key is None or key.region != settings.region.id:
        return []
    if key.what.startswith("remind-"):
        return _remind(settings, event, key)
    if key.what == "open":
        return _open(state, settings, event, key)
    if key.what == "missed":
        return _missed(settings, event, key)
    return []


def on_meeting_ended(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: RoomEvent
) -> list[Effect]:
    return disarm_close(meeting)


def status_line(call: Call) -> list[Msg | str]:
    slot = call.meeting.slot
    if slot is None:
        return []
    return [_("Scheduled meeting {n}: ends at {time}.", n=slot.number,
              time=local_time(slot.ends, call.meeting.timezone))]


# -- !schedule --------------------------------------------------------------------------


STATUS_LABELS: dict[str, Msg] = {
    "scheduled": _("scheduled"),
    "held": _("held"),
    "missed": _("missed"),
    "running": _("running now"),
}


@command(
    "schedule",
    args=optional_text,
    scope=Scope.ROOM,
    summary=_("Show the upcoming scheduled meetings (all regions in the coordinator room)."),
)
def do_schedule(call: Call, _unused: str) -> None:
    settings, now = call.settings, call.event.at
    everywhere = settings.coordinator_room == call.event.room_id
    region = None if everywhere else settings.region.id
    planned = settings.calendar(region) if settings.calendar else []
    upcoming = sorted((p for p in planned if p.ends > now and p.status != "missed"),
                      key=lambda p: p.starts)
    if not upcoming:
        call.reply(_("No meetings are scheduled."))
        return
    lines: list[Msg | str] = [_("📅 **Upcoming meetings:**")]
    for p in upcoming:
        status = STATUS_LABELS["running" if p.starts <= now else p.status]
        if everywhere:
            lines.append(_("{region}, meeting {n}: {when}, {length} — {title} ({status})",
                           region=p.region_name, n=p.number, when=zoned_time(p.starts, p.timezone),
                           length=format_duration(p.ends - p.starts), title=p.title,
                           status=status))
        else:
            tz = settings.region.timezone
            lines.append(_("Meeting {n}: {when} ({tz}), {length} — {title} ({status})", n=p.number,
                           when=_when(p.starts, tz), tz=tz,
                           length=format_duration(p.ends - p.starts), title=p.title,
                           status=status))
    call.reply(*lines)


def planned_in(zone: str, naive: datetime) -> datetime:
    """A configured local start time (no offset) as an aware time in the region's zone."""
    return naive.replace(tzinfo=ZoneInfo(zone)) if naive.tzinfo is None else naive


HOOKS = Hooks(
    tick=(on_tick,),
    meeting_ended=(on_meeting_ended,),
    status=(status_line,),
    extend_meeting=(extend_meeting,),
)
