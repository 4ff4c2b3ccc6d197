"""One registry of commands: it drives parsing, permissions, usage errors and ``!help``.

A command is declared once, next to its handler::

    @command("action", args=text, summary=_("Record an action ..."))
    def do_action(call: Call, text: str) -> None: ...
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any

from meetbot.core.durations import DurationError, parse_duration
from meetbot.core.effects import Effect, Notice
from meetbot.core.events import Message
from meetbot.core.hooks import Hooks
from meetbot.core.model import Meeting, RoomSettings, RoomState
from meetbot.i18n import Code, Msg, _

USER_ID = re.compile(r"@[^\s:]+:[^\s>)\]]+")


class Role(enum.IntEnum):
    ANYONE = 0
    FACILITATOR = 1


class Scope(enum.Enum):
    MEETING = "meeting"  # needs a running meeting in this room
    ROOM = "room"  # works in any room, meeting or not
    COORDINATOR = "coordinator"  # only in the coordinator room


class UsageError(Exception):
    """The arguments do not fit; ``reason`` says why (the usage line is added for you)."""

    def __init__(self, reason: Msg | None = None) -> None:
        super().__init__(reason.msgid if reason else "usage")
        self.reason = reason


ArgParser = Callable[[str, Message], Any]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Callable[..., None]
    summary: Msg
    usage: str = ""
    aliases: tuple[str, ...] = ()
    role: Role = Role.ANYONE
    scope: Scope = Scope.MEETING
    args: ArgParser | None = None
    group: str = "meeting"
    # Also answered in a direct chat with the bot (the personal commands).
    direct: bool = False

    def usage_line(self, prefix: str) -> str:
        return f"{prefix}{self.name} {self.usage}".rstrip()


@dataclass
class Call:
    """One command being carried out: who asked, where, and what it produces."""

    command: Command
    event: Message
    state: RoomState
    settings: RoomSettings
    effects: list[Effect] = field(default_factory=list)

    @property
    def meeting(self) -> Meeting:
        assert self.state.meeting is not None, "scope MEETING guarantees a meeting"
        return self.state.meeting

    @property
    def features(self) -> Features:
        """The commands and hooks of the bot handling this call."""
        return active_features()

    @property
    def prefix(self) -> str:
        return self.settings.command_prefix

    @property
    def reader_language(self) -> str:
        """Answers go to one person: in their chosen language, else the room's first."""
        return self.event.sender_language or self.settings.languages[0]

    def reply(
        self, *lines: Msg | str, mentions: tuple[str, ...] = (), language: str | None = None
    ) -> None:
        self.effects.append(
            Notice(
                room_id=self.event.room_id,
                lines=lines,
                languages=(language or self.reader_language,),
                reply_to=self.event.event_id,
                mentions=mentions,
                kind="reply",
                key=f"reply:{self.event.event_id}:{len(self.effects)}",
                thread_root=self.event.thread_root,
            )
        )

    def announce(self, *lines: Msg | str, mentions: tuple[str, ...] = ()) -> None:
        self.effects.append(
            Notice(
                room_id=self.event.room_id,
                lines=lines,
                languages=self.settings.languages,
                mentions=mentions,
                kind="announce",
                key=f"announce:{self.event.event_id}:{len(self.effects)}",
            )
        )

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)


def is_facilitator(settings: RoomSettings, meeting: Meeting | None, event: Message) -> bool:
    return (
        event.sender in settings.facilitators
        or event.sender_power >= settings.facilitator_power
        or (meeting is not None and event.sender in meeting.chairs)
        or (
            event.room_id == settings.coordinator_room
            and event.sender in settings.coordinator_users
        )
    )


def no_meeting_here(prefix: str) -> Msg:
    """The answer to a command that needs a meeting, in a room where none is running."""
    return _("No meeting is running here. A facilitator can start one with {start}.",
             start=prefix + "startmeeting")


def facilitators_only(command: str) -> Msg:
    """The answer to a participant who used a facilitator's command (with its prefix)."""
    return _("Only a facilitator or chair can use {command}.", command=Code(command))


class CommandRegistry:
    """The commands of one bot, in the order people meet them (the composition root's)."""

    def __init__(self, commands: Iterable[Command] = ()) -> None:
        self._commands: dict[str, Command] = {}
        self._by_name: dict[str, Command] = {}
        for command in commands:
            self.add(command)

    def add(self, cmd: Command) -> None:
        for key in (cmd.name, *cmd.aliases):
            if key in self._commands:
                raise ValueError(f"command {key!r} declared twice")
            self._commands[key] = cmd
        self._by_name[cmd.name] = cmd

    def lookup(self, name: str) -> Command | None:
        return self._commands.get(name.lower())

    def __iter__(self) -> Iterator[Command]:
        return iter(self._by_name.values())

    def direct(self) -> list[Command]:
        """The commands answered in a direct chat, in the order they were declared."""
        return [c for c in self if c.direct]

    def in_order(self) -> list[Command]:
        """Commands as people meet them: the core's first, then each feature's in turn."""
        return list(self)


_COMMANDS = "__meetbot_commands__"


def command(
    name: str,
    *,
    summary: Msg,
    usage: str = "",
    aliases: tuple[str, ...] = (),
    role: Role = Role.ANYONE,
    scope: Scope = Scope.MEETING,
    args: ArgParser | None = None,
    group: str = "meeting",
    direct: bool = False,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Declare a command next to its handler. This only marks the handler: the composition
    root collects the marked handlers of the modules it lists (:meth:`Features.collect`)."""

    def mark(handler: Callable[..., None]) -> Callable[..., None]:
        cmd = Command(name, handler, summary, usage, aliases, role, scope, args, group, direct)
        declared = getattr(handler, _COMMANDS, ())
        setattr(handler, _COMMANDS, (*declared, cmd))
        return handler

    return mark


@dataclass(frozen=True)
class Features:
    """What one bot can do: its commands and its hooks, built once by the composition root."""

    commands: CommandRegistry
    hooks: Hooks

    @classmethod
    def collect(cls, modules: Iterable[ModuleType]) -> Features:
        """The commands declared in ``modules`` (in their order, each in definition order)
        and their ``HOOKS``. A handler imported from another module is not collected twice."""
        registry = CommandRegistry()
        hooks = Hooks()
        for module in modules:
            for value in vars(module).values():
                if getattr(value, "__module__", None) != module.__name__:
                    continue
                for cmd in getattr(value, _COMMANDS, ()):
                    registry.add(cmd)
            declared = getattr(module, "HOOKS", None)
            if declared is not None:
                hooks = hooks + declared
        return cls(registry, hooks)


# The features in force while the engine handles an event (set by ``Engine.handle``, and
# reset when it returns): the commands and hooks a handler reaches, for ``!help``,
# ``!status`` or a timer acting as a command. Outside ``handle`` there are none.
ACTIVE_FEATURES: ContextVar[Features] = ContextVar("meetbot_features")


def active_features() -> Features:
    try:
        return ACTIVE_FEATURES.get()
    except LookupError:
        raise RuntimeError("no features are in force: call this from Engine.handle") from None


# -- parsing a message into a command ----------------------------------------------------

_REPLY_FALLBACK = re.compile(r"\A(?:>[^\n]*\n)+\n?")


def strip_reply_fallback(body: str) -> str:
    """Remove the ``> quoted`` lines that clients put before a reply's own text."""
    return _REPLY_FALLBACK.sub("", body, count=1)


def split_command(body: str, prefix: str) -> tuple[str, str] | None:
    """``"!action do it"`` -> ``("action", "do it")``; ``None`` when it is not a command."""
    if not prefix or prefix not in body:
        return None  # most messages, at no regex's cost (this runs several times for each)
    text = strip_reply_fallback(body).lstrip()
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    if not rest or rest[0].isspace():
        return None
    name, _sep, args = rest.partition(" ")
    name, _nl, more = name.partition("\n")
    args = (more + " " + args).strip() if more else args.strip()
    return name.lower(), args


# -- argument parsers -------------------------------------------------------------------


def text(raw: str, event: Message) -> str:
    if not raw.strip():
        raise UsageError(_("This command needs some text."))
    return raw.strip()


def optional_text(raw: str, event: Message) -> str:
    return raw.strip()


def optional_user(raw: str, event: Message) -> str | None:
    """A person named as ``@user:server`` or a mention pill; None when nobody is named."""
    found = USER_ID.search(raw)
    if found:
        return found.group(0)
    if event.mentions:
        return event.mentions[0]
    if raw.strip():
        raise UsageError(_("Name a person as a mention or as @user:server."))
    return None


def user(raw: str, event: Message) -> str:
    who = optional_user(raw, event)
    if who is None:
        raise UsageError(_("Name a person as a mention or as @user:server."))
    return who


def optional_duration(raw: str, event: Message) -> timedelta | None:
    return duration(raw, event) if raw.strip() else None


# Item numbers have at most this many digits; int() refuses thousands of them, and isdecimal()
# (not isdigit(): "²" is a digit int() refuses) says what int() accepts.
MAX_NUMBER_DIGITS = 9


def whole_number(raw: str, error: Msg) -> int:
    """A number people count with (``3`` or ``#3``); ``error`` says what was expected."""
    token = raw.strip().lstrip("#")
    if not token.isdecimal() or len(token) > MAX_NUMBER_DIGITS or int(token) < 1:
        raise UsageError(error)
    return int(token)


def number(raw: str, event: Message) -> int:
    return whole_number(raw, _("Give an item number, such as 3."))


def word(raw: str, event: Message) -> str:
    token = raw.strip().split()
    if not token:
        raise UsageError(_("This command needs an argument."))
    return token[0]


def optional_word(raw: str, event: Message) -> str | None:
    token = raw.strip().split()
    return token[0] if token else None


# The longest timebox, extension or speaking time a command accepts: far beyond it, adding it
# to a date overflows (``!time 9999999d``), and nothing in a meeting lasts longer anyway.
MAX_DURATION = timedelta(hours=24)


def duration(raw: str, event: Message) -> timedelta:
    try:
        value = parse_duration(raw.strip())
    except DurationError as exc:
        raise UsageError(
            _("{problem} Write a duration such as 90s, 10m or 1h.", problem=str(exc))
        ) from exc
    except OverflowError:  # more seconds than a timedelta holds
        value = MAX_DURATION * 2
    if value <= timedelta(0) or value > MAX_DURATION:
        raise UsageError(
            _(
                "{problem} Write a duration such as 90s, 10m or 1h.",
                problem="A duration is more than zero and at most 24h.",
            )
        )
    return value


def mentioned_users(body: str, mentions: tuple[str, ...]) -> tuple[str, ...]:
    """Users named in a message: its ``m.mentions`` pills plus any ``@user:server`` typed."""
    found: dict[str, None] = dict.fromkeys(mentions)
    for match in USER_ID.finditer(body):
        found.setdefault(match.group(0).rstrip(".,;:!?"), None)
    return tuple(found)
