"""The meeting engine: feed it one event, get back the effects.

``handle`` is pure: it reads the event, the room's state and its settings, updates the state
in place and returns what should happen. Storage, Matrix and timers live in the shells.
Replaying a room's stored events through ``handle`` rebuilds the same state, which is how the
bot resumes after a restart and how minutes are regenerated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from meetbot.core.commands.items import apply_item_edit
from meetbot.core.commands.meeting import default_title
from meetbot.core.effects import Effect, Notice, Translate
from meetbot.core.events import Edit, Event, Membership, Message, Reaction, Redaction, Tick
from meetbot.core.model import Item, ItemKind, LogEntry, Meeting, RoomSettings, RoomState
from meetbot.core.registry import (
    ACTIVE_FEATURES,
    Call,
    Features,
    Role,
    Scope,
    UsageError,
    facilitators_only,
    is_facilitator,
    no_meeting_here,
    split_command,
)
from meetbot.i18n import Code, Msg, _


@dataclass
class Outcome:
    effects: list[Effect] = field(default_factory=list)
    # The meeting this event belongs to (it is stored with it), or None outside meetings.
    meeting_id: str | None = None


class Engine:
    """The core with its features (commands and hooks), as the composition root built it."""

    def __init__(self, features: Features) -> None:
        self.features = features
        self._replaying = Features(features.commands, features.hooks.replaying())

    def handle(self, state: RoomState, settings: RoomSettings, event: Event) -> Outcome:
        return self._run(self.features, state, settings, event)

    def replay(self, state: RoomState, settings: RoomSettings, event: Event) -> None:
        """Fold a stored event into the record as :meth:`handle` did, without the hooks that
        only work out effects (a rebuild drops them: a long meeting's translations and
        checks need not be asked for again to be ignored)."""
        self._run(self._replaying, state, settings, event)

    def _run(
        self, features: Features, state: RoomState, settings: RoomSettings, event: Event
    ) -> Outcome:
        token = ACTIVE_FEATURES.set(self.features)  # (no context manager: every event)
        try:
            return _handle(features, state, settings, event)
        finally:
            ACTIVE_FEATURES.reset(token)


def _handle(features: Features, state: RoomState, settings: RoomSettings, event: Event) -> Outcome:
    hooks = features.hooks
    before = state.meeting
    if isinstance(event, Message):
        effects = _on_message(features, state, settings, event)
    elif isinstance(event, Edit):
        effects = _on_edit(features, state, settings, event)
    elif isinstance(event, Redaction):
        effects = _on_redaction(features, state, settings, event)
    elif isinstance(event, Reaction):
        effects = _run_hooks(hooks.reaction, state, settings, event)
    elif isinstance(event, Membership):
        effects = _on_membership(features, state, settings, event)
    elif isinstance(event, Tick):
        effects = _run_hooks(hooks.tick, state, settings, event)
    else:  # pragma: no cover - the union is closed
        effects = []
    meeting = before or state.meeting
    if not event.live:
        # History is recorded (translations too) but never answered or posted.
        effects = [
            replace(e, post=False) if isinstance(e, Translate) else e
            for e in effects
            if not (isinstance(e, Notice) and e.kind == "reply")
        ]
    return Outcome(effects, meeting.id if meeting else None)


def _run_hooks(
    handlers: tuple[Callable[..., list[Effect]], ...],
    state: RoomState,
    settings: RoomSettings,
    event: Event,
) -> list[Effect]:
    effects: list[Effect] = []
    for handler in handlers:
        effects.extend(handler(state, settings, event))
    return effects


def _on_message(
    features: Features, state: RoomState, settings: RoomSettings, event: Message
) -> list[Effect]:
    if event.sender == settings.bot_user_id:
        return []
    meeting = state.meeting
    if event.withdrawn:
        if meeting is not None and event.created_item:
            withdrawn_placeholder(meeting, event)
        return []
    parsed = split_command(event.body, settings.command_prefix) if _may_command(event) else None
    if meeting is not None:
        _log_message(meeting, event, is_command=parsed is not None)
    effects: list[Effect] = []
    if parsed is None:
        effects.extend(_run_hooks(features.hooks.message, state, settings, event))
        return effects
    name, raw_args = parsed
    effects.extend(dispatch(features, state, settings, event, name, raw_args))
    if meeting is None and state.meeting is not None:
        # The command that started the meeting is its first line.
        _log_message(state.meeting, event, is_command=True)
    effects.extend(_run_hooks(features.hooks.message, state, settings, event))
    return effects


# Messages a command can come from. Notices are what bots send: answering another bot's notice
# could start two bots talking to each other forever. Files, polls and locations are no
# commands either, whatever their name or text says.
COMMAND_MSGTYPES = frozenset({"m.text", "m.emote"})


def _may_command(event: Message) -> bool:
    return event.msgtype in COMMAND_MSGTYPES and event.attachment is None


def withdrawn_placeholder(meeting: Meeting, event: Message) -> None:
    """A removed item keeps its number (later ``!strike N`` must still mean the same item)."""
    meeting.add_item(
        Item(
            n=meeting.next_item_number(),
            kind=ItemKind.INFO,
            text="",
            author="",
            at=event.at,
            event_id=event.event_id,
            section=None,
            struck=True,
        )
    )


def _log_message(meeting: Meeting, event: Message, *, is_command: bool) -> None:
    meeting.names[event.sender] = event.display_name or meeting.names.get(event.sender, "")
    meeting.add_log(
        LogEntry(
            event_id=event.event_id,
            sender=event.sender,
            at=event.at,
            body=event.body,
            msgtype=event.msgtype,
            is_command=is_command,
            reply_to=event.reply_to,
            attachment=event.attachment,
        )
    )


def dispatch(
    features: Features,
    state: RoomState,
    settings: RoomSettings,
    event: Message,
    name: str,
    raw_args: str,
) -> list[Effect]:
    registry = features.commands
    prefix = settings.command_prefix
    command = registry.lookup(name)
    if command is None:
        helper = registry.lookup("help")
        assert helper is not None, "the help command is always registered"
        call = Call(helper, event, state, settings)  # only to reply
        call.reply(
            _(
                "Unknown command {command}. Type {help} for the list.",
                command=Code(f"{prefix}{name}"),
                help=Code(f"{prefix}help"),
            )
        )
        return call.effects
    call = Call(command, event, state, settings)
    if settings.direct:
        if not command.direct:
            call.reply(
                _(
                    "In a direct chat I answer only {commands}. {command} works in your "
                    "meeting's room.",
                    commands=tuple(Code(f"{prefix}{c.name}") for c in registry.direct()),
                    command=Code(f"{prefix}{name}"),
                )
            )
            return call.effects
    elif command.scope is Scope.COORDINATOR and settings.coordinator_room != event.room_id:
        call.reply(_("{command} works only in the coordinator room.", command=Code(prefix + name)))
        return call.effects
    elif command.scope is Scope.MEETING and state.meeting is None:
        call.reply(no_meeting_here(prefix))
        return call.effects
    if command.role is Role.FACILITATOR and not is_facilitator(settings, state.meeting, event):
        call.reply(facilitators_only(prefix + command.name))
        return call.effects
    try:
        value = command.args(raw_args, event) if command.args else None
    except UsageError as err:
        reason: Msg | str = err.reason or ""
        call.reply(_("{reason} Usage: {usage}", reason=reason, usage=command.usage_line(prefix)))
        return call.effects
    try:
        if command.args is None:
            command.handler(call)
        else:
            command.handler(call, value)
    except UsageError as err:
        reason = err.reason or ""
        call.reply(_("{reason} Usage: {usage}", reason=reason, usage=command.usage_line(prefix)))
    return call.effects


def _on_edit(
    features: Features, state: RoomState, settings: RoomSettings, event: Edit
) -> list[Effect]:
    meeting = state.meeting
    if meeting is None:
        return []
    entry = meeting.log_entry(event.target)
    # Only the author's own edits count (Matrix clients enforce this, a raw event may not).
    if entry is None or entry.sender != event.sender or entry.redacted:
        return []
    entry.edits.append((event.at, event.body))
    item = meeting.item_for_event(event.target)
    if item is not None and not item.struck:
        apply_item_edit(settings, item, event)
    effects = _run_hooks(features.hooks.edit, state, settings, event)
    return effects


def _on_redaction(
    features: Features, state: RoomState, settings: RoomSettings, event: Redaction
) -> list[Effect]:
    meeting = state.meeting
    effects: list[Effect] = []
    if meeting is not None:
        entry = meeting.log_entry(event.target)
        if entry is not None:
            meeting.redact(entry)
        item = meeting.item_for_event(event.target)
        if event.target == meeting.start_event:
            # The title was typed in the redacted message: it goes with it. The first prompt
            # was the bot's, not the person's, and stays.
            meeting.title = default_title(settings, meeting.started_at)
        elif item is not None:
            item.struck = True
    effects.extend(_run_hooks(features.hooks.redaction, state, settings, event))
    return effects


def _on_membership(
    features: Features, state: RoomState, settings: RoomSettings, event: Membership
) -> list[Effect]:
    meeting = state.meeting
    if meeting is not None and event.display_name:
        meeting.names[event.sender] = event.display_name
    return _run_hooks(features.hooks.membership, state, settings, event)
