"""The commands that run a meeting: start, end, the agenda's prompts, free topics, status.

The record's items live in ``item_commands``, people in ``people_commands``, ``!help`` in
``help_commands`` (MeetBot's vocabulary, one module per idea).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from meetbot.core import counts
from meetbot.core.commands.items import KIND_LABELS, add_item
from meetbot.core.durations import format_duration
from meetbot.core.effects import MeetingEnded, MeetingStarted
from meetbot.core.events import Message
from meetbot.core.mentions import with_names
from meetbot.core.model import Item, ItemKind, Meeting, MeetingGlance, RoomSettings, meeting_id_for
from meetbot.core.registry import (
    Call,
    Role,
    Scope,
    UsageError,
    command,
    no_meeting_here,
    optional_text,
    text,
    word,
)
from meetbot.i18n import Code, Localized, Msg, _

__all__ = ["KIND_LABELS", "end_meeting", "local_time", "post_prompt", "start_meeting"]


def local_time(at: datetime, timezone: str, fmt: str = "%H:%M") -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime(fmt)


def zoned_time(at: datetime, timezone: str) -> str:
    """The time in a region's zone, the zone named once, UTC beside it only when it reads
    otherwise: ``2027-01-17 00:00 Africa/Lagos (2027-01-16 23:00 UTC)``, ``… 10:00 UTC``."""
    local = at.astimezone(ZoneInfo(timezone))
    if not local.utcoffset():
        zone = "UTC" if timezone in ("UTC", "Etc/UTC") else timezone
        return f"{local:%Y-%m-%d %H:%M} {zone}"
    utc = at.astimezone(ZoneInfo("UTC"))
    clock = f"{utc:%H:%M}" if utc.date() == local.date() else f"{utc:%Y-%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M} {timezone} ({clock} UTC)"


# -- starting and ending ----------------------------------------------------------------


@command(
    "startmeeting",
    aliases=("start",),
    usage="[TITLE]",
    args=optional_text,
    role=Role.FACILITATOR,
    scope=Scope.ROOM,
    summary=_("Start a meeting here: recording notice, then the agenda's first prompt."),
)
def do_startmeeting(call: Call, title: str) -> None:
    if call.state.meeting is not None:
        running = call.state.meeting
        call.reply(
            _(
                "A meeting is already running here: {title}, since {time}.",
                title=running.title,
                time=local_time(running.started_at, running.timezone),
            )
        )
        return
    start_meeting(call, title)


def default_title(settings: RoomSettings, at: datetime) -> str:
    region = settings.region
    return f"{region.name} — {local_time(at, region.timezone, '%Y-%m-%d')}"


def start_meeting(call: Call, title: str) -> Meeting:
    event, settings = call.event, call.settings
    region = settings.region
    if not title:
        title = default_title(settings, event.at)
    meeting = Meeting(
        id=meeting_id_for(event.event_id),
        room_id=event.room_id,
        region_id=region.id,
        title=title,
        agenda_id=settings.agenda.id,
        started_at=event.at,
        started_by=event.sender,
        start_event=event.event_id,
        chairs={event.sender},
        timezone=region.timezone,
        languages=settings.languages,
    )
    if isinstance(event, Message) and event.display_name:
        meeting.names[event.sender] = event.display_name
    call.state.meeting = meeting
    call.emit(MeetingStarted(meeting.id, event.room_id))
    call.announce(
        _("**Meeting started:** {title}", title=title),
        _(
            "This meeting is recorded for the research network: messages, decisions and "
            "actions posted here while it runs are kept, translated and summarised for the "
            "research coordinator. Type {optout} to keep your messages out of the record, "
            "or {withdraw} to remove what you said.",
            optout=Code(f"{call.prefix}optout"),
            withdraw=Code(f"{call.prefix}withdraw"),
        ),
    )
    for hook in call.features.hooks.meeting_started:
        call.effects.extend(hook(call.state, settings, meeting, event))
    if settings.agenda.prompts:
        post_prompt(call, 0)
    return meeting


@command(
    "endmeeting",
    aliases=("end",),
    role=Role.FACILITATOR,
    summary=_("End the meeting; the minutes are written and delivered."),
)
def do_endmeeting(call: Call) -> None:
    end_meeting(call)


def end_meeting(call: Call) -> None:
    meeting = call.meeting
    meeting.ended_at = call.event.at
    meeting.ended_by = call.event.sender
    for hook in call.features.hooks.meeting_ended:
        call.effects.extend(hook(call.state, call.settings, meeting, call.event))
    live = meeting.live_items()
    call.announce(
        _(
            "**Meeting ended** after {duration}: {decisions}, {actions}, {people}. The minutes "
            "are on their way.",
            duration=format_duration(meeting.ended_at - meeting.started_at),
            decisions=counts.decisions(sum(1 for i in live if i.kind is ItemKind.DECISION)),
            actions=counts.actions(sum(1 for i in live if i.kind is ItemKind.ACTION)),
            people=counts.people(len(meeting.present())),
        )
    )
    call.emit(MeetingEnded(meeting.id, meeting.room_id))
    call.state.last_meeting = meeting
    call.state.meeting = None


# -- the agenda -------------------------------------------------------------------------


def post_prompt(call: Call, index: int) -> Item:
    agenda = call.settings.agenda
    prompt = agenda.prompts[index]
    item = add_item(call, ItemKind.PROMPT, prompt.text("en"), prompt_id=prompt.id)
    call.announce(
        _(
            "**Prompt {number}/{total}** ({id})",
            number=index + 1,
            total=len(agenda.prompts),
            id=Code(prompt.id),
        ),
        _("> {text}", text=Localized(prompt.texts)),
    )
    return item


@command(
    "next",
    role=Role.FACILITATOR,
    summary=_("Post the next agenda prompt; what follows belongs to it."),
)
def do_next(call: Call) -> None:
    agenda = call.settings.agenda
    index = call.meeting.agenda_index(agenda) + 1
    if index >= len(agenda.prompts):
        call.reply(
            _(
                "That was the last prompt of the agenda. Open a free topic with {topic} "
                "or finish with {end}.",
                topic=call.prefix + "topic",
                end=call.prefix + "endmeeting",
            )
        )
        return
    post_prompt(call, index)


@command(
    "prompt",
    usage="ID",
    args=word,
    role=Role.FACILITATOR,
    summary=_("Post the agenda prompt with this id."),
)
def do_prompt(call: Call, prompt_id: str) -> None:
    agenda = call.settings.agenda
    index = agenda.find(prompt_id)
    if index is None:
        ids = ", ".join(p.id for p in agenda.prompts) or "—"
        raise UsageError(
            _("No prompt {id} in this agenda. Its prompts: {ids}.", id=prompt_id, ids=ids)
        )
    post_prompt(call, index)


@command(
    "topic",
    usage="TEXT",
    args=text,
    role=Role.FACILITATOR,
    summary=_("Open a free topic; what follows belongs to it."),
)
def do_topic(call: Call, topic: str) -> None:
    item = add_item(call, ItemKind.TOPIC, topic)
    call.announce(_("**Topic #{n}:** {text}", n=item.n, text=with_names(topic, call.meeting.names)))


@command(
    "status",
    scope=Scope.ROOM,
    direct=True,
    summary=_("Show the meeting, its current prompt, time and counts."),
)
def do_status(call: Call) -> None:
    settings = call.settings
    if settings.direct:
        call.reply(*_meetings_elsewhere(settings.meetings_elsewhere))
        return
    unreachable = [
        _("I cannot reach {room}: invite me there (or check the room in the config).", room=room)
        for room in settings.unreachable
    ]
    meeting = call.state.meeting
    if meeting is None:
        call.reply(
            no_meeting_here(call.prefix),
            *unreachable,
        )
        return
    section = meeting.current_section
    lines: list[Msg | str] = [
        _(
            "**{title}** — running for {elapsed} (since {time}).",
            title=meeting.title,
            elapsed=format_duration(call.event.at - meeting.started_at),
            time=local_time(meeting.started_at, meeting.timezone),
        )
    ]
    if section is not None and section.kind is ItemKind.PROMPT and section.prompt_id:
        agenda = call.settings.agenda
        index = agenda.find(section.prompt_id)
        prompt_text: object = section.text
        if index is not None:
            prompt_text = Localized(agenda.prompts[index].texts)
        lines.append(
            _(
                "Prompt {number}/{total} ({id}): {text}",
                number=(index or 0) + 1,
                total=len(agenda.prompts),
                id=Code(section.prompt_id),
                text=prompt_text,
            )
        )
    elif section is not None:
        lines.append(_("Topic: {text}", text=with_names(section.text, meeting.names)))
    live = meeting.live_items()
    lines.append(
        _(
            "{messages}, {items} ({decisions}, {actions}), {people}.",
            messages=counts.messages(
                sum(1 for e in meeting.log if not e.redacted and not e.is_command)
            ),
            items=counts.items(len(live)),
            decisions=counts.decisions(sum(1 for i in live if i.kind is ItemKind.DECISION)),
            actions=counts.actions(sum(1 for i in live if i.kind is ItemKind.ACTION)),
            people=counts.people(len(meeting.present())),
        )
    )
    for hook in call.features.hooks.status:
        lines.extend(hook(call))
    call.reply(*lines, *unreachable)


def _meetings_elsewhere(glances: tuple[MeetingGlance, ...]) -> list[Msg | str]:
    if not glances:
        return [_("No meeting is running in your rooms right now.")]
    lines: list[Msg | str] = []
    for glance in glances:
        lines.append(
            _(
                "**{region}: {title}** — since {time}.",
                region=glance.region_name,
                title=glance.title,
                time=local_time(glance.started_at, glance.timezone),
            )
        )
        if glance.current:
            lines.append(_("Now: {text}", text=glance.current))
    return lines

