"""The record's items: decisions, actions, ideas, notes and links, numbered, and how
they are listed, struck out and corrected."""

from __future__ import annotations

from meetbot.core.events import Edit, Message
from meetbot.core.mentions import with_names
from meetbot.core.model import Item, ItemKind, RoomSettings
from meetbot.core.registry import (
    Call,
    Role,
    UsageError,
    active_features,
    command,
    mentioned_users,
    number,
    split_command,
    text,
)
from meetbot.i18n import Msg, Pill, _

KIND_LABELS: dict[ItemKind, Msg] = {
    ItemKind.PROMPT: _("Prompt"),
    ItemKind.TOPIC: _("Topic"),
    ItemKind.INFO: _("Info"),
    ItemKind.IDEA: _("Idea"),
    ItemKind.DECISION: _("Decision"),
    ItemKind.ACTION: _("Action"),
    ItemKind.LINK: _("Link"),
}


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


def kind_label(settings: RoomSettings, item: Item) -> Msg:
    """What an item is; a prompt says its place in the agenda too ("Prompt 2/3"), as the
    room saw it announced."""
    place = settings.agenda.find(item.prompt_id) if item.kind is ItemKind.PROMPT and \
        item.prompt_id else None
    if place is None:
        return KIND_LABELS[item.kind]
    return _("Prompt {number}/{total}", number=place + 1, total=len(settings.agenda.prompts))


def _record(call: Call, kind: ItemKind, body: str) -> None:
    item = add_item(call, kind, body)
    call.reply(_("{kind} #{n} recorded.", kind=KIND_LABELS[kind], n=item.n))


@command(
    "agreed",
    aliases=("decision", "accepted"),
    usage="TEXT",
    args=text,
    role=Role.FACILITATOR,
    summary=_("Record a decision."),
)
def do_agreed(call: Call, body: str) -> None:
    _record(call, ItemKind.DECISION, body)


@command("info", usage="TEXT", args=text, summary=_("Record a piece of information."))
def do_info(call: Call, body: str) -> None:
    _record(call, ItemKind.INFO, body)


@command("idea", usage="TEXT", args=text, summary=_("Record an idea."))
def do_idea(call: Call, body: str) -> None:
    _record(call, ItemKind.IDEA, body)


def assignees_of(settings: RoomSettings, body: str, mentions: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(u for u in mentioned_users(body, mentions) if u != settings.bot_user_id)


@command(
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


@command(
    "link",
    usage="URL [TEXT]",
    args=_link_args,
    summary=_("Record a link, with an optional description."),
)
def do_link(call: Call, link: tuple[str, str]) -> None:
    url, description = link
    item = add_item(call, ItemKind.LINK, description or url, url=url)
    call.reply(_("{kind} #{n} recorded.", kind=KIND_LABELS[ItemKind.LINK], n=item.n))


@command("items", summary=_("List this meeting's numbered items."))
def do_items(call: Call) -> None:
    meeting = call.meeting
    live = meeting.live_items()
    if not live:
        call.reply(
            _(
                "No items yet. Record one with {action}, {info} or {idea}.",
                action=call.prefix + "action",
                info=call.prefix + "info",
                idea=call.prefix + "idea",
            )
        )
        return
    lines: list[Msg | str] = [_("**Items** ({count}):", count=len(live))]
    for item in live:
        lines.append(
            _(
                "- \\#{n} {kind}: {text} — {author}",
                n=item.n,
                kind=kind_label(call.settings, item),
                text=with_names(item.text, meeting.names),
                author=meeting.name_of(item.author),
            )
        )
    call.reply(*lines)


@command(
    "strike",
    usage="N",
    args=number,
    role=Role.FACILITATOR,
    summary=_("Remove item N from the record (see its number with !items)."),
)
def do_strike(call: Call, n: int) -> None:
    item = call.meeting.item(n)
    if item is None or item.struck:
        raise UsageError(_("There is no item #{n}; see {items}.", n=n, items=call.prefix + "items"))
    item.struck = True
    call.reply(_("Item #{n} removed.", n=n))


@command(
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
        _("Removed #{n} ({kind}: {text}).", n=item.n, kind=KIND_LABELS[item.kind],
          text=with_names(item.text, call.meeting.names))
    )


def apply_item_edit(settings: RoomSettings, item: Item, edit: Edit) -> None:
    """An edited command message updates its item's text; the command never runs again."""
    parsed = split_command(edit.body, settings.command_prefix)
    if parsed is None:
        return
    name, raw = parsed
    command = active_features().commands.lookup(name)
    if command is None or command.name not in ITEM_COMMANDS or not raw.strip():
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


ITEM_COMMANDS = frozenset({"agreed", "info", "idea", "action", "link", "topic"})
