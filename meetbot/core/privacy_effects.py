"""What the consent and coordinator commands ask the shells to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from meetbot.core.effects import Effect


@dataclass(frozen=True)
class ConsentChanged:
    """Someone opted out of the record (``opted_out``) or back in.

    Opting out also removes their messages of the meeting running in ``room_id``.
    """

    user_id: str
    opted_out: bool
    room_id: str
    meeting_id: str | None
    at: datetime


@dataclass(frozen=True)
class WithdrawalRequested:
    """Delete everything ``user_id`` contributed to the research store, then tell them."""

    user_id: str
    room_id: str
    event_id: str
    at: datetime


@dataclass(frozen=True)
class ReportRequested:
    """Build the cross-region report and post it to ``room_id`` (the coordinator room)."""

    room_id: str
    event_id: str


def effect(value: ConsentChanged | WithdrawalRequested | ReportRequested) -> Effect:
    """These travel in the core's effect list like the built-in effects; the app dispatches
    them to the handlers this feature installs (``app.effect_handlers``)."""
    return cast(Effect, value)
