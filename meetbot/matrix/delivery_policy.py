"""What to do when the homeserver does not take a message: a pure decision, tested as a table.

Every failure is either **transient** (the homeserver or the network is having a bad moment:
wait and send again, for as long as it takes) or **permanent** (sending again can never
work: give up, keep the row as failed and tell a person). ``M_FORBIDDEN`` and an unknown
room first get one chance to heal by joining the room again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

BACKOFF_CAP_S = 30.0
# Errors that can clear by themselves but not forever (e.g. keys for an encrypted room that
# never arrive): sent again this many times, then given up.
BOUNDED_ATTEMPTS = 8


class Action(enum.Enum):
    RETRY = "retry"  # wait ``delay`` seconds, then send again (this room only)
    RATE_LIMITED = "rate_limited"  # the account is limited: every room waits ``delay``
    REJOIN = "rejoin"  # join the room again, then send again
    GIVE_UP = "give_up"  # permanent: keep the row as failed and tell someone


class Reason(enum.Enum):
    """Why a message was given up, in words a facilitator can act on (see ``explain``)."""

    NOT_IN_ROOM = "not_in_room"
    TOO_LARGE = "too_large"
    UNKNOWN_ROOM = "unknown_room"
    ENCRYPTION = "encryption"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Failure:
    """A failed send as the policy sees it (the shell extracts it from nio's answer)."""

    errcode: str | None = None  # Matrix error code, e.g. M_FORBIDDEN
    http_status: int | None = None
    exception: str | None = None  # "transport", "timeout", "encryption", "no_room"
    retry_after_ms: int | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    delay: float = 0.0
    reason: Reason | None = None


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: 1, 2, 4 … capped at 30."""
    return float(min(2 ** max(attempts, 0), BACKOFF_CAP_S))


def decide(failure: Failure, attempts: int, *, rejoined: bool = False) -> Decision:
    """What to do after ``attempts`` earlier failed tries (this one not counted).

    ``rejoined``: the bot already tried to join the room again for this message.
    """
    wait = backoff(attempts)
    if failure.exception in ("transport", "timeout"):
        return Decision(Action.RETRY, wait)
    if failure.exception == "no_room":
        # nio does not know the room (never joined, left, or joined but not synced yet):
        # join, then give the sync a few chances to bring the room, then give up.
        if not rejoined:
            return Decision(Action.REJOIN)
        if attempts + 1 >= BOUNDED_ATTEMPTS:
            return Decision(Action.GIVE_UP, reason=Reason.NOT_IN_ROOM)
        return Decision(Action.RETRY, wait)
    if failure.exception == "encryption":
        if attempts + 1 >= BOUNDED_ATTEMPTS:
            return Decision(Action.GIVE_UP, reason=Reason.ENCRYPTION)
        return Decision(Action.RETRY, wait)
    code = failure.errcode or ""
    if code == "M_LIMIT_EXCEEDED" or failure.http_status == 429:
        delay = (failure.retry_after_ms or 1000) / 1000
        return Decision(Action.RATE_LIMITED, max(delay, 0.05))
    if code == "M_TOO_LARGE" or failure.http_status == 413:
        return Decision(Action.GIVE_UP, reason=Reason.TOO_LARGE)
    if code == "M_FORBIDDEN":
        if rejoined:
            return Decision(Action.GIVE_UP, reason=Reason.NOT_IN_ROOM)
        return Decision(Action.REJOIN)
    if code in ("M_NOT_FOUND", "M_UNKNOWN_ROOM") or (
        failure.http_status == 404 and not code.startswith("M_UNRECOGNIZED")
    ):
        if rejoined:
            return Decision(Action.GIVE_UP, reason=Reason.UNKNOWN_ROOM)
        return Decision(Action.REJOIN)
    if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        # The session is gone: nothing can be sent until an operator logs the bot in again;
        # keep everything (the operator is told in the log).
        return Decision(Action.RETRY, BACKOFF_CAP_S)
    if failure.http_status is None or failure.http_status >= 500:
        # A gateway or the homeserver itself in trouble (or no answer at all): transient.
        return Decision(Action.RETRY, wait)
    if attempts + 1 >= BOUNDED_ATTEMPTS:
        return Decision(Action.GIVE_UP, reason=Reason.REJECTED)
    return Decision(Action.RETRY, wait)
