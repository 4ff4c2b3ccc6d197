"""The outbox sender: what the core decided to say, sent to Matrix exactly once.

Rows are sent in order **within a room**, never across rooms: a room that fails (the bot was
kicked, the room's server is down) delays only itself. A room's live translations go in a
lane of their own, in their order: the room's answers never queue behind them.

What a failure means is decided by :func:`meetbot.matrix.delivery_policy.decide`: transient
failures are retried with a capped back-off for as long as it takes (a stop interrupts the
wait at once), permanent ones are kept as failed rows and told once to the people who can
act on them.

Matrix transaction ids derive from the row's cause, so a resend after a crash is deduplicated
by the homeserver (same device, same access token: the session is kept across starts).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from nio import AsyncClient, JoinResponse, RoomRedactResponse, RoomSendResponse
from nio.exceptions import EncryptionError, LocalProtocolError

from meetbot.core.effects import Notice
from meetbot.i18n import Msg, _
from meetbot.matrix.delivery_policy import Action, Decision, Failure, Reason, decide
from meetbot.matrix.event_size import fit_content
from meetbot.metrics import Metrics
from meetbot.storage.store import OutboxMessage
from meetbot.waiting import wait_any

if TYPE_CHECKING:
    from meetbot.app import MeetBotApp

log = logging.getLogger(__name__)

PER_ROOM = 20  # rows of each lane looked at in one pass
LANES = 8  # rooms sending live translations at the same time (answers always go)
Lane = tuple[str, bool]  # (room id, background): a room's answers, or its live translations
TOLD = "told:"  # kv key prefix: a give-up already told (cleared when the room works again)

REASONS: dict[Reason, Msg] = {
    Reason.NOT_IN_ROOM: _("I am not in that room any more (kicked, banned or never invited)."),
    Reason.UNKNOWN_ROOM: _("The homeserver does not know that room."),
    Reason.TOO_LARGE: _("The message was too large for the homeserver."),
    Reason.ENCRYPTION: _("I could not encrypt for that room."),
    Reason.REJECTED: _("The homeserver refused the message."),
}


class DanglingReference(Exception):
    pass


class Sent(enum.Enum):
    DONE = "done"  # sent, or given up for good
    WAIT = "wait"  # refers to a row of the room not sent yet: later rows may go first
    RETRY = "retry"  # not sent: this room waits (``until``), the others go on


def failure_of(response: Any = None, exc: BaseException | None = None) -> Failure:
    """nio's answer (or the exception it raised) as the policy sees it."""
    if exc is not None:
        if isinstance(exc, asyncio.TimeoutError):
            return Failure(exception="timeout")
        if isinstance(exc, EncryptionError):
            return Failure(exception="encryption")
        if isinstance(exc, LocalProtocolError):
            # nio raises this for a room it does not know (to encrypt for it).
            text = str(exc).lower()
            return Failure(exception="no_room" if "room" in text else "encryption")
        return Failure(exception="transport")  # OSError, aiohttp.ClientError
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return Failure(
        errcode=getattr(response, "status_code", None) or None,
        http_status=status if isinstance(status, int) else None,
        retry_after_ms=getattr(response, "retry_after_ms", None),
    )


class OutboxSender:
    """Drains the outbox until stopped. ``run()`` in a task; ``stop()`` ends it at once."""

    def __init__(
        self, app: MeetBotApp, client: AsyncClient, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics if metrics is not None else Metrics()
        self.store = app.store
        self.client = client
        self._stop = asyncio.Event()
        self._room_waits_until: dict[str, float] = {}
        self._all_wait_until = 0.0  # the account is rate-limited: every room waits
        self._rejoined: set[int] = set()  # rows for which the room was joined again

    def stop(self) -> None:
        self._stop.set()
        self.app.outbox_ready.set()

    async def run(self) -> None:
        """Send what is pending in lanes: each room's answers in one, its live translations
        (background rows) in another. A lane sends its rows in order, one at a time; lanes
        send side by side (answers always, at most ``LANES`` rooms' translations at once), so
        neither a room with a long queue nor its own translations hold up an answer."""
        lanes: dict[Lane, asyncio.Task[bool]] = {}
        wake = asyncio.Event()  # a lane has finished: its room (or a waiting one) may go on
        try:
            while not self._stop.is_set():
                self.app.outbox_ready.clear()
                wake.clear()
                pending = await self.store.pending_outbox(limit=500, per_room=PER_ROOM)
                rows: dict[Lane, list[OutboxMessage]] = {}
                for message in pending:
                    rows.setdefault((message.room_id, message.background), []).append(message)
                now = time.monotonic()
                for key, queue in rows.items():
                    busy = sum(1 for _room, background in lanes if background)
                    if key in lanes or (key[1] and busy >= LANES) \
                            or self._all_wait_until > now \
                            or self._room_waits_until.get(key[0], 0.0) > now:
                        continue
                    name = f"meetbot-outbox-{key[0]}{'-background' if key[1] else ''}"
                    lane = asyncio.create_task(self._lane(queue), name=name)
                    lanes[key] = lane
                    lane.add_done_callback(partial(self._lane_done, lanes, key, wake))
                if self._stop.is_set():
                    return
                await wait_any((self.app.outbox_ready, wake), self._idle_wait())
        finally:
            for lane in lanes.values():
                lane.cancel()
            await asyncio.gather(*lanes.values(), return_exceptions=True)

    def _lane_done(self, lanes: dict[Lane, asyncio.Task[bool]], key: Lane, wake: asyncio.Event,
                   lane: asyncio.Task[bool]) -> None:
        lanes.pop(key, None)
        wake.set()
        room = key[0]
        if lane.cancelled():
            return
        error = lane.exception()
        if error is not None:  # a bug: log it, try the room again a little later
            log.error("sending to %s failed", room, exc_info=error)
        if error is not None or not lane.result():
            # Nothing went: the room is looked at again after a pause, not in a loop.
            pause = 5.0 if error is not None else 0.05
            until = max(self._room_waits_until.get(room, 0.0), time.monotonic() + pause)
            self._room_waits_until[room] = until

    def _idle_wait(self) -> float:
        """Until the soonest room (or the whole account) may send again; 5 s at most."""
        now = time.monotonic()
        waits = [t for t in (*self._room_waits_until.values(), self._all_wait_until) if t > now]
        return min(max(min(waits) - now, 0.05), 5.0) if waits else 5.0

    async def _lane(self, queue: list[OutboxMessage]) -> bool:
        """A lane's pending rows, in order; True if anything was sent or given up."""
        progressed = False
        for message in queue:
            if self._stop.is_set() or self._all_wait_until > time.monotonic():
                break
            outcome = await self.send(message)
            if outcome is Sent.RETRY:
                break  # the room's later rows wait for this one
            if outcome is Sent.DONE:
                progressed = True
        return progressed

    async def send(self, message: OutboxMessage) -> Sent:
        """Send one row and act on the answer."""
        try:
            content = await self._resolve_placeholders(message.content)
        except DanglingReference as exc:
            # What it points at was never sent (nothing to edit or redact): drop it.
            async with self.store.db.transaction():
                await self.store.mark_attempt(message.id, str(exc), give_up=True)
            return Sent.DONE
        if content is None:
            return Sent.WAIT
        content = fit_content(content)  # the record keeps every text whole
        response: Any = None
        error: BaseException | None = None
        try:
            if message.event_type == "m.room.redaction":
                response = await self.client.room_redact(
                    message.room_id,
                    str(content["redacts"]),
                    content.get("reason"),
                    tx_id=message.txn_id,
                )
            else:
                response = await self.client.room_send(
                    message.room_id,
                    message.event_type,
                    content,
                    tx_id=message.txn_id,
                    ignore_unverified_devices=True,
                )
        except (LocalProtocolError, EncryptionError, OSError, asyncio.TimeoutError) as exc:
            error = exc
        except Exception as exc:  # aiohttp's ClientError and friends: the transport
            if type(exc).__module__.startswith("aiohttp"):
                error = exc
            else:
                raise
        if error is None and isinstance(response, (RoomSendResponse, RoomRedactResponse)):
            async with self.store.db.transaction():
                await self.store.mark_sent(message.id, response.event_id)
                await self._room_works(message.room_id)
            self._rejoined.discard(message.id)
            self.metrics.outbox_sent.labels(message.room_id).inc()
            return Sent.DONE
        failure = failure_of(response, error)
        decision = decide(failure, message.attempts, rejoined=message.id in self._rejoined)
        described = f"{type(error).__name__}: {error}" if error is not None else str(response)
        return await self._act(message, decision, described)

    async def _act(self, message: OutboxMessage, decision: Decision, error: str) -> Sent:
        room = message.room_id
        if decision.action is Action.REJOIN:
            self._rejoined.add(message.id)
            joined = await self.client.join(room)
            if isinstance(joined, JoinResponse):
                # Send again once a sync has brought the room (a moment, not an attempt).
                log.info("joined %s again after: %s", room, error)
                self._room_waits_until[room] = time.monotonic() + 1.0
                self.metrics.outbox_retries.labels(room).inc()
                return Sent.RETRY
            log.warning("cannot join %s again: %s", room, joined)
            decision = decide(Failure(errcode="M_FORBIDDEN"), message.attempts, rejoined=True)
        give_up = decision.action is Action.GIVE_UP
        reason = decision.reason or Reason.REJECTED
        async with self.store.db.transaction():
            await self.store.mark_attempt(message.id, error, give_up)
            if give_up:
                await self._tell_give_up(message, reason)
        if give_up:
            self._rejoined.discard(message.id)
            self.metrics.outbox_give_ups.labels(room, reason.value).inc()
            log.error("gave up sending %s to %s: %s", message.txn_id, room, error)
            self.app.outbox_ready.set()
            return Sent.DONE
        self.metrics.outbox_retries.labels(room).inc()
        now = time.monotonic()
        if decision.action is Action.RATE_LIMITED:
            self._all_wait_until = now + decision.delay
            log.info("rate-limited by the homeserver: waiting %.1fs", decision.delay)
        else:
            self._room_waits_until[room] = now + decision.delay
            log.warning(
                "sending to %s failed (%s); again in %.0fs", room, error, decision.delay
            )
        return Sent.RETRY

    async def _room_works(self, room_id: str) -> None:
        """A send to the room went through: it is reachable, and a later give-up is news."""
        self._room_waits_until.pop(room_id, None)
        if room_id in self.app.unreachable_rooms:
            self.app.mark_reachable(room_id)
            for reason in Reason:
                await self.store.delete_value(f"{TOLD}{room_id}:{reason.value}")

    async def _tell_give_up(self, message: OutboxMessage, reason: Reason) -> None:
        """Keep the give-up (the failed row) and tell it once: in the room itself when the
        room still works (a message too large), else to the coordinator."""
        room = message.room_id
        if reason is not Reason.TOO_LARGE:
            self.app.mark_unreachable(room, reason.value)
        told_key = f"{TOLD}{room}:{reason.value}"
        if await self.store.get_value(told_key):
            return
        await self.store.set_value(told_key, message.txn_id)
        name = self.app.room_label(room)
        key = f"giveup:{room}:{reason.value}:{message.txn_id}"
        if reason is Reason.TOO_LARGE:
            notice = Notice(
                room_id=room,
                lines=(_("One of my messages here could not be sent."), REASONS[reason]),
                languages=self.app.settings_for(room).languages,
                kind="announce",
                key=key,
            )
            await self.app.enqueue_notice(notice)
            return
        coordinator = self.app.coordinator_room
        if coordinator is None or coordinator == room:
            log.error("messages for %s cannot be delivered and nobody can be told", name)
            return
        notice = Notice(
            room_id=coordinator,
            lines=(
                _("I could not deliver a message to {room}.", room=name),
                REASONS[reason],
                _("It is kept as undelivered. Invite me to that room again; {status} here "
                  "lists the rooms I cannot reach.", status="`!status`"),
            ),
            languages=self.app.coordinator_languages(),
            kind="announce",
            key=key,
        )
        await self.app.enqueue_notice(notice)

    async def _resolve_placeholders(self, content: dict[str, Any]) -> dict[str, Any] | None:
        """Rows may point at another row's event as ``txn:ID`` (edits, redactions).

        None while that row is not sent yet.
        """
        redacts = content.get("redacts")
        if isinstance(redacts, str) and redacts.startswith("txn:"):
            event_id = await self._sent(redacts[4:])
            return None if event_id is None else {**content, "redacts": event_id}
        relates = content.get("m.relates_to")
        if not isinstance(relates, dict):
            return content
        target = relates.get("event_id")
        if isinstance(target, str) and target.startswith("txn:"):
            event_id = await self._sent(target[4:])
            if event_id is None:
                return None
            content = {**content, "m.relates_to": {**relates, "event_id": event_id}}
        return content

    async def _sent(self, txn_id: str) -> str | None:
        state = await self.store.outbox_state(txn_id)
        if state is None or state[0] == "failed":
            raise DanglingReference(f"refers to {txn_id}, which was never sent")
        return state[1]
