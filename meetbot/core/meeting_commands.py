"""The commands that run a meeting and build its record (MeetBot's vocabulary)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from meetbot.core import hooks
from meetbot.core.commands import (
    Call,
    Command,
    Role,
    Scope,
    UsageError,
    mentioned_users,
    number,
    optional_text,
    optional_word,
    registry,
    text,
    user,
    word,
)
from meetbot.core.effects import MeetingEnded, MeetingStarted
from meetbot.core.events import Edit, Message
from meetbot.core.model import Item, ItemKind, Meeting, RoomSettings, meeting_id_for
from meetbot.durations import format_duration
from meetbot.i18n import Code, Localized, Msg, Pill, _

KIND_LABELS: dict[ItemKind, Msg] = {
    ItemKind.PROMPT: _("Prompt"),
    ItemKind.TOPIC: _("Topic"),
    ItemKind.INFO: _("Info"),
    ItemKind.IDEA: _("Idea"),
    ItemKind.DECISION: _("Decision"),
    ItemKind.ACTION: _("Action"),
    ItemKind.LINK: _("Link"),
}


def local_time(at: datetime, timezone: str, fmt: str = "%H:%M") -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime(fmt)


# -- help -------------------------------------------------------------------------------


@registry.command(
    "help",
    usage="[COMMAND]",
    args=optional_word,
    scope=Scope.ROOM,
    summary=_("List the commands, or explain one."),
)
def do_help(call: Call, name: str | None) -> None:
    prefix = call.prefix
    if name:
        command = registry.lookup(name.lstrip(prefix))
        if command is None:
            raise UsageError(_("There is no command {command}.", command=prefix + name))
        call.reply(*describe(command, prefix))
        return
    lines: list[Msg | str] = [_("**meetbot commands** (f = facilitators and chairs only):")]
    for command in registry:
        marker = " (f)" if command.role is Role.FACILITATOR else ""
        lines.append(
            _(
                "{usage}{marker} — {summary}",
                usage=Code(command.usage_line(prefix)),
                marker=marker,
                summary=command.summary,
            )
        )
    call.reply(*lines)


def describe(command: Command, prefix: str) -> list[Msg | str]:
    lines: list[Msg | str] = [
        _("{usage} — {summary}", usage=Code(command.usage_line(prefix)), summary=command.summary)
    ]
    if command.aliases:
        names = ", ".join(prefix + a for a in command.aliases)
        lines.append(_("Also: {names}", names=names))
    if command.role is Role.FACILITATOR:
        lines.append(_("For facilitators and chairs."))
    return lines


# -- starting and ending ----------------------------------------------------------------


@registry.command(
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
            optout=f"`{call.prefix}optout`",
            withdraw=f"`{call.prefix}withdraw`",
        ),
    )
    for hook in hooks.meeting_started:
        call.effects.extend(hook(call.state, settings, meeting, event))
    if settings.agenda.prompts:
        post_prompt(call, 0)
    return meeting


@registry.command(
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
    for hook in hooks.meeting_ended:
        call.effects.extend(hook(call.state, call.settings, meeting, call.event))
    live = meeting.live_items()
    call.announce(
        _(
            "**Meeting ended** after {duration}: {decisions} decisions, {actions} actions, "
            "{people} people. The minutes are on their way.",
            duration=format_duration(meeting.ended_at - meeting.started_at),
            decisions=sum(1 for i in live if i.kind is ItemKind.DECISION),
            actions=sum(1 for i in live if i.kind is ItemKind.ACTION),
            people=len(meeting.present()),
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


@registry.command(
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
                topic=f"{call.prefix}topic",
                end=f"{call.prefix}endmeeting",
            )
        )
        return
    post_prompt(call, index)


@registry.command(
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


@registry.command(
    "topic",
    usage="TEXT",
    args=text,
    role=Role.FACILITATOR,
    summary=_("Open a free topic; what follows belongs to it."),
)
def do_topic(call: Call, topic: str) -> None:
    item = add_item(call, ItemKind.TOPIC, topic)
    call.announce(_("**Topic #{n}:** {text}", n=item.n, text=topic))


# -- items ------------------------------------------------------------------------------


def add_item(
    call: Call,
    kind: ItemKind,
    body: str,
    *,
    prompt_id: str | None = None,
    assignees: tuple[str, ...] = (),
    url: str | None = None,
) -> Item:
    meeting = call.meeting
    section = meeting.current_section
    item = Item(
        n=meeting.next_item_number(),
        kind=kind,
        text=body,
        author=call.event.sender,
        at=call.event.at,
        event_id=call.event.event_id,
        section=None if kind.opens_section else (section.n if section else None),
        prompt_id=prompt_id if kind.opens_section else (section.prompt_id if section else None),
        assignees=assignees,
        url=url,
    )
    meeting.add_item(item)
    return item


def _record(call: Call, kind: ItemKind, body: str) -> None:
    item = add_item(call, kind, body)
    call.reply(_("{kind} #{n} recorded.", kind=KIND_LABELS[kind], n=item.n))


@registry.command(
    "agreed",
    aliases=("decision", "accepted"),
    usage="TEXT",
    args=text,
    role=Role.FACILITATOR,
    summary=_("Record a decision."),
)
def do_agreed(call: Call, body: str) -> None:
    _record(call, ItemKind.DECISION, body)


@registry.command("info", usage="TEXT", args=text, summary=_("Record a piece of information."))
def do_info(call: Call, body: str) -> None:
    _record(call, ItemKind.INFO, body)


@registry.command("idea", usage="TEXT", args=text, summary=_("Record an idea."))
def do_idea(call: Call, body: str) -> None:
    _record(call, ItemKind.IDEA, body)


def assignees_of(settings: RoomSettings, body: str, mentions: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(u for u in mentioned_users(body, mentions) if u != settings.bot_user_id)


@registry.command(
    "action",
    usage="TEXT",
    args=text,
    summary=_("Record an action; the people mentioned in it are its owners."),
)
def do_action(call: Call, body: str) -> None:
    owners = assignees_of(call.settings, body, call.event.mentions)
    item = add_item(call, ItemKind.ACTION, body, assignees=owners)
    if owners:
        names = tuple(Pill(u, call.meeting.name_of(u)) for u in owners)
        call.reply(_("Action #{n} recorded for {names}.", n=item.n, names=names), mentions=owners)
    else:
        call.reply(
            _("Action #{n} recorded (nobody assigned: mention someone to assign it).", n=item.n)
        )


def _link_args(raw: str, event: Message) -> tuple[str, str]:
    return parse_link(raw)


def parse_link(raw: str) -> tuple[str, str]:
    """``URL [TEXT]`` -> (url, text); only web, Matrix and mail links are links."""
    parts = raw.strip().split(maxsplit=1)
    if not parts:
        raise UsageError(_("Give the address of the link."))
    url = parts[0].strip("<>")
    if not url.lower().startswith(("http://", "https://", "matrix:", "mailto:")):
        raise UsageError(_("A link starts with https:// (or http://, matrix:, mailto:)."))
    return url, parts[1] if len(parts) > 1 else ""


@registry.command(
    "link",
    usage="URL [TEXT]",
    args=_link_args,
    summary=_("Record a link, with an optional description."),
)
def do_link(call: Call, link: tuple[str, str]) -> None:
    url, description = link
    item = add_item(call, ItemKind.LINK, description or url, url=url)
    call.reply(_("{kind} #{n} recorded.", kind=KIND_LABELS[ItemKind.LINK], n=item.n))


@registry.command("items", summary=_("List this meeting's numbered items."))
def do_items(call: Call) -> None:
    meeting = call.meeting
    live = meeting.live_items()
    if not live:
        call.reply(
            _(
                "No items yet. Record one with {action}, {info} or {idea}.",
                action=f"{call.prefix}action",
                info=f"{call.prefix}info",
                idea=f"{call.prefix}idea",
            )
        )
        return
    lines: list[Msg | str] = [_("**Items** ({count}):", count=len(live))]
    for item in live:
        lines.append(
            _(
                "#{n} {kind}: {text} — {author}",
                n=item.n,
                kind=KIND_LABELS[item.kind],
                text=item.text,
                author=meeting.name_of(item.author),
            )
        )
    call.reply(*lines)


@registry.command(
    "strike",
    usage="N",
    args=number,
    role=Role.FACILITATOR,
    summary=_("Remove item N from the record (see its number with !items)."),
)
def do_strike(call: Call, n: int) -> None:
    item = call.meeting.item(n)
    if item is None or item.struck:
        raise UsageError(_("There is no item #{n}; see {items}.", n=n, items=f"{call.prefix}items"))
    item.struck = True
    call.reply(_("Item #{n} removed.", n=n))


@registry.command(
    "undo",
    role=Role.FACILITATOR,
    summary=_("Remove the last item recorded."),
)
def do_undo(call: Call) -> None:
    live = call.meeting.live_items()
    if not live:
        call.reply(_("There is no item to remove."))
        return
    item = live[-1]
    item.struck = True
    call.reply(
        _("Removed #{n} ({kind}: {text}).", n=item.n, kind=KIND_LABELS[item.kind], text=item.text)
    )


def apply_item_edit(settings: RoomSettings, item: Item, edit: Edit) -> None:
    """An edited command message updates its item's text; the command never runs again."""
    from meetbot.core.commands import split_command

    parsed = split_command(edit.body, settings.command_prefix)
    if parsed is None:
        return
    name, raw = parsed
    command = registry.lookup(name)
    if command is None or command.handler not in _ITEM_COMMANDS or not raw.strip():
        return
    if item.kind is ItemKind.LINK:
        try:
            url, description = parse_link(raw)
        except UsageError:
            return  # an edit cannot turn a link into something that is not one
        item.history.append(item.text)
        item.url = url
        item.text = description or url
        return
    item.history.append(item.text)
    item.text = raw.strip()
    if item.kind is ItemKind.ACTION:
        item.assignees = assignees_of(settings, raw, edit.mentions)


_ITEM_COMMANDS = {do_agreed, do_info, do_idea, do_action, do_link, do_topic}


# -- people -----------------------------------------------------------------------------


@registry.command(
    "chair",
    usage="@user",
    args=user,
    role=Role.FACILITATOR,
    summary=_("Make someone a chair of this meeting."),
)
def do_chair(call: Call, who: str) -> None:
    call.meeting.chairs.add(who)
    call.reply(
        _("{name} is now a chair.", name=Pill(who, call.meeting.name_of(who))), mentions=(who,)
    )


@registry.command(
    "unchair",
    usage="@user",
    args=user,
    role=Role.FACILITATOR,
    summary=_("Remove someone from the chairs of this meeting."),
)
def do_unchair(call: Call, who: str) -> None:
    meeting = call.meeting
    if who not in meeting.chairs:
        raise UsageError(_("{name} is not a chair.", name=meeting.name_of(who)))
    meeting.chairs.discard(who)
    call.reply(_("{name} is no longer a chair.", name=meeting.name_of(who)))


@registry.command("here", summary=_("Mark yourself present."))
def do_here(call: Call) -> None:
    meeting = call.meeting
    meeting.attendance.setdefault(call.event.sender, call.event.at)
    call.reply(_("{name} is present.", name=meeting.name_of(call.event.sender)))


@registry.command("status", summary=_("Show the meeting, its current prompt, time and counts."))
def do_status(call: Call) -> None:
    meeting = call.meeting
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
        lines.append(_("Topic: {text}", text=section.text))
    live = meeting.live_items()
    lines.append(
        _(
            "{messages} messages, {items} items ({decisions} decisions, {actions} actions), "
            "{people} people.",
            messages=sum(1 for e in meeting.log if not e.redacted and not e.is_command),
            items=len(live),
            decisions=sum(1 for i in live if i.kind is ItemKind.DECISION),
            actions=sum(1 for i in live if i.kind is ItemKind.ACTION),
            people=len(meeting.present()),
        )
    )
    for hook in status_hooks:
        lines.extend(hook(call))
    call.reply(*lines)


# Features add lines to !status (e.g. time left in the timebox).
status_hooks: list = []
