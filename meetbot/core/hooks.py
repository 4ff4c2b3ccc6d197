"""Extension points for features that react to more than commands.

A feature module declares what it reacts to in one constant, ``HOOKS = Hooks(tick=(on_tick,))``;
the composition root (``meetbot/runtime/features.py``) merges the declarations of the
features it lists, in its order. Nothing is registered by importing a module.

A hook is a function ``(state, settings, event) -> list[Effect]``; hooks run after the core
has updated the record for the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

Hook = Callable[..., list[Any]]


@dataclass(frozen=True)
class Hooks:
    message: tuple[Hook, ...] = ()
    edit: tuple[Hook, ...] = ()
    redaction: tuple[Hook, ...] = ()
    reaction: tuple[Hook, ...] = ()
    membership: tuple[Hook, ...] = ()
    tick: tuple[Hook, ...] = ()
    # Called as (state, settings, meeting, event) when a meeting starts or ends.
    meeting_started: tuple[Hook, ...] = ()
    meeting_ended: tuple[Hook, ...] = ()
    # Called as (call) -> lines for ``!status``.
    status: tuple[Callable[..., list[Any]], ...] = ()
    # Called as (call, more) when a facilitator extends the meeting's end (``!extend``).
    extend_meeting: tuple[Callable[..., None], ...] = ()
    # Hooks above that only say what to do outside the record (translate, check) and change
    # nothing in it: a replay that rebuilds a meeting, whose effects are dropped, skips them.
    effects_only: tuple[Hook, ...] = ()

    def replaying(self) -> Hooks:
        """These hooks as a replay of the record runs them: without the effects-only ones."""
        skip = set(self.effects_only)
        return Hooks(**{f.name: tuple(h for h in getattr(self, f.name) if h not in skip)
                        for f in fields(self)})

    def __add__(self, other: Hooks) -> Hooks:
        return Hooks(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )
