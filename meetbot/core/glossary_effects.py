"""What the glossary commands ask the shells to do (``!term``, ``!glossary``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from meetbot.core.effects import Effect


@dataclass(frozen=True)
class AddTerm:
    """Store a glossary term added from a room: ``lang`` '' keeps ``source`` as written in
    every language, else ``target`` is its fixed translation into ``lang``."""

    room_id: str
    event_id: str
    user_id: str
    source: str
    lang: str = ""
    target: str = ""


@dataclass(frozen=True)
class RemoveTerm:
    """Remove the room-added terms with these words, and say what was removed."""

    room_id: str
    event_id: str
    user_id: str
    source: str
    languages: tuple[str, ...] = ("en",)  # the asker's language, for the answer
    thread_root: str | None = None
    answer: bool = True  # False for a command read from history: done, not answered

    @property
    def answers(self) -> str | None:
        """The command this effect's shell answers (with one reply), if any."""
        return self.event_id if self.answer else None


@dataclass(frozen=True)
class ShowGlossary:
    """Answer with the glossary (the file's terms and the rooms'), a block per language."""

    room_id: str
    event_id: str
    languages: tuple[str, ...] = ("en",)
    thread_root: str | None = None
    answer: bool = True

    @property
    def answers(self) -> str | None:
        """The command this effect's shell answers (with one reply), if any."""
        return self.event_id if self.answer else None


def effect(value: AddTerm | RemoveTerm | ShowGlossary) -> Effect:
    """These travel in the core's effect list like the built-in effects; the glossary shell
    (:mod:`meetbot.translation.glossary_shell`) handles them."""
    return cast(Effect, value)
