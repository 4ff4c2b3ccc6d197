"""What the core asks the shells to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from meetbot.i18n import Msg


@dataclass(frozen=True)
class Notice:
    """Post an ``m.notice`` to a room, in the given languages (one block per language).

    ``kind`` is ``reply`` for answers to a person (acknowledgements, errors, help), which are
    dropped for events that happened while the bot was away, and ``announce`` for what the
    meeting itself produces (prompts, results), which is always posted.
    """

    room_id: str
    lines: tuple[Msg | str, ...]
    languages: tuple[str, ...] = ("en",)
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    kind: str = "reply"
    key: str = ""  # stable identity used to make sending idempotent
    # The thread of the message answered: an answer belongs in the thread it was asked in.
    thread_root: str | None = None


@dataclass(frozen=True)
class MeetingStarted:
    meeting_id: str
    room_id: str


@dataclass(frozen=True)
class MeetingEnded:
    """Write the minutes and deliver them to the room and the coordinator."""

    meeting_id: str
    room_id: str


@dataclass(frozen=True)
class StartTimer:
    key: str
    room_id: str
    at: datetime


@dataclass(frozen=True)
class CancelTimer:
    key: str


@dataclass(frozen=True)
class Translate:
    """Translate a message for the room (handled by the live-translation shell).

    The translations are stored with the record (``event_id``) and, when ``post`` is set,
    shown to the room as one notice replying to the message. ``edit_of`` names the message
    whose translation notice an edit replaces; ``reply_to`` answers an on-demand request
    (nothing is stored then).
    """

    room_id: str
    event_id: str
    meeting_id: str | None
    text: str
    sender: str
    languages: tuple[str, ...] = field(default_factory=tuple)
    source_language: str | None = None  # the sender's chosen language, if any
    post: bool = True
    edit_of: str | None = None
    edit_event: str | None = None  # the edit being translated (one translation per edit)
    reply_to: str | None = None
    thread_root: str | None = None
    # The display names of the people the text mentions: the notice shows "Sam", the
    # stored translation keeps "@sam:example.org".
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TranslateProposal:
    """Show a proposal's notice in each of the room's languages (handled by the proposal
    translation shell): the posted proposal (``stage`` "posted", again after its author
    edits it) or its outcome ("closed"). The shell translates the proposal's text (and, for
    the outcome, the reasons given) as the meeting holds them when it runs, and edits the
    notice in place. ``cause`` is the event that asked (one edit per cause).
    """

    room_id: str
    meeting_id: str
    token: str  # the proposal's
    stage: str  # posted | closed
    cause: str


@dataclass(frozen=True)
class RetractTranslation:
    """The message was redacted: redact its translation notice too."""

    room_id: str
    event_id: str


@dataclass(frozen=True)
class SetUserLanguage:
    user_id: str
    language: str | None


@dataclass(frozen=True)
class SetRoomTranslation:
    room_id: str
    enabled: bool


@dataclass(frozen=True)
class CorrectTranslation:
    """``!fix``: a person's own version of the translation in the notice they replied to
    (``notice_id``), or a facilitator's undo of a correction (``undo``). Only the shell
    knows which message a notice translates, so it checks the rest and answers."""

    room_id: str
    event_id: str  # the command's event: the answer and the notice's edit derive from it
    notice_id: str
    sender: str
    name: str  # how the notice credits the person ("corrected by NAME")
    text: str  # "TEXT" or "LANG TEXT" (for undo: "" or "LANG")
    undo: bool = False
    reader_language: str = "en"
    thread_root: str | None = None


Effect = (
    Notice
    | MeetingStarted
    | MeetingEnded
    | StartTimer
    | CancelTimer
    | Translate
    | TranslateProposal
    | RetractTranslation
    | SetUserLanguage
    | SetRoomTranslation
    | CorrectTranslation
)
