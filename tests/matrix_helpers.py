"""Real Matrix clients (matrix-nio) that play the people of a meeting in integration tests.

A :class:`Participant` registers (or logs in) on the embedded homeserver, syncs in a
background task and records every timeline event per room, decrypted when end-to-end
encryption is on. Tests then wait for events with asyncio primitives, never sleeps::

    alice = await Participant.create(hs, "alice")
    room = await alice.create_room(invite=[bot_user_id])
    sent = await alice.send(room, "!start")
    await alice.wait_for_notice(room, "Meeting started", after=sent)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nio import (
    AsyncClient,
    AsyncClientConfig,
    EncryptionError,
    Event,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    ProfileSetDisplayNameResponse,
    Response,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomLeaveResponse,
    RoomMessageNotice,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
)

from meetbot.demo.homeserver import Homeserver, RegisteredUser

EventPredicate = Callable[[Event], bool]
_R = TypeVar("_R", bound=Response)
_T = TypeVar("_T")

# Long-poll length of the background sync: Synapse answers as soon as anything
# happens, so this only bounds how long close() may have to cancel a request.
SYNC_TIMEOUT_MS = 30_000
MEGOLM = "m.megolm.v1.aes-sha2"


class MatrixRequestError(RuntimeError):
    """A client-server request returned an error response."""

    def __init__(self, what: str, response: Any) -> None:
        self.response = response
        self.errcode: str | None = getattr(response, "status_code", None)
        self.retry_after_ms: int | None = getattr(response, "retry_after_ms", None)
        super().__init__(f"{what} failed: {response}")


class MakeParticipant(Protocol):
    """Type of the ``make_participant`` fixture (see conftest.py)."""

    def __call__(
        self, name: str = "user", *, homeserver: Homeserver | None = None, **kwargs: Any
    ) -> Awaitable[Participant]: ...


def _expect(response: Any, expected: type[_R], what: str) -> _R:
    """Return ``response`` if it has the success type, else raise with nio's error."""
    if not isinstance(response, expected):
        raise MatrixRequestError(what, response)
    return response


def _body(event: Event) -> str:
    return str(getattr(event, "body", "") or "")


class Participant:
    """One person in a meeting: a logged-in nio client plus everything it has seen."""

    def __init__(self, homeserver: Homeserver, client: AsyncClient, user: RegisteredUser) -> None:
        self.homeserver = homeserver
        self.client = client
        self.user = user
        self._events: dict[str, list[Event]] = defaultdict(list)
        self._event_ids: set[str] = set()
        self._invites: set[str] = set()
        # Set by the sync callbacks; every waiter re-checks its condition on notify.
        self._changed = asyncio.Condition()
        self._sync_task: asyncio.Task[None] | None = None
        self._sync_error: BaseException | None = None

    # -- construction -----------------------------------------------------------

    @classmethod
    async def create(
        cls,
        homeserver: Homeserver,
        username: str,
        *,
        password: str | None = None,
        encryption: bool = False,
        store_dir: Path | None = None,
        display_name: str | None = None,
        device_id: str | None = None,
        max_limit_exceeded: int | None = None,
    ) -> Participant:
        """Register (or log in) ``username`` and start syncing in the background.

        Args:
            encryption: Enable E2EE; the olm store lives in ``store_dir`` (default:
                a per-user directory inside the homeserver's data dir).
            device_id: Reuse a device when logging in to an existing account.
            max_limit_exceeded: nio's 429 retry budget; ``0`` makes 429s visible.
        """
        password = password or f"{username}-password"
        # urllib blocks; keep the event loop (and any bot running in it) responsive.
        user = await asyncio.to_thread(homeserver.register, username, password, device_id=device_id)
        store_path = ""
        if encryption:
            store = store_dir or homeserver.data_dir / "participant-stores" / username
            store.mkdir(parents=True, exist_ok=True)
            store_path = str(store)
        config = AsyncClientConfig(
            encryption_enabled=encryption,
            store_sync_tokens=encryption,
            max_limit_exceeded=max_limit_exceeded,
        )
        client = AsyncClient(
            homeserver.url, user.user_id, device_id=user.device_id,
            store_path=store_path, config=config,
        )  # fmt: skip
        # restore_login also loads the olm store when encryption is enabled.
        client.restore_login(user.user_id, user.device_id, user.access_token)
        participant = cls(homeserver, client, user)
        try:
            await participant._start()
            if display_name is not None:
                await participant.set_display_name(display_name)
        except BaseException:
            await participant.close()
            raise
        return participant

    async def _start(self) -> None:
        self.client.add_event_callback(self._on_event, Event)  # type: ignore[arg-type]
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)  # type: ignore[arg-type]
        self.client.add_response_callback(self._on_sync, SyncResponse)  # type: ignore[arg-type]
        if self.client.olm is not None and self.client.should_upload_keys:
            # Other devices need our one-time keys to send us megolm sessions.
            _expect(await self.client.keys_upload(), Response, "keys upload")
        # One blocking sync first, so rooms joined before are known when create() returns.
        await self.client.sync(timeout=0, full_state=True)
        self._sync_task = asyncio.create_task(self._sync_forever(), name=f"sync {self.user_id}")

    async def _sync_forever(self) -> None:
        try:
            await self.client.sync_forever(timeout=SYNC_TIMEOUT_MS)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # Wake every waiter now instead of letting them time out silently.
            self._sync_error = exc
            async with self._changed:
                self._changed.notify_all()
            raise

    async def close(self) -> None:
        """Stop syncing and close the HTTP session. Never logs out: that would
        delete the device and its keys, which a restarted test may still need."""
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
            self._sync_task = None
        await self.client.close()

    # -- identity ---------------------------------------------------------------

    @property
    def user_id(self) -> str:
        """Full Matrix id, e.g. ``@alice_1a2b:localhost``."""
        return self.user.user_id

    @property
    def device_id(self) -> str:
        """The device this participant is logged in with."""
        return self.user.device_id

    def __repr__(self) -> str:
        return f"Participant({self.user_id!r})"

    # -- sync callbacks ---------------------------------------------------------

    async def _on_event(self, room: MatrixRoom, event: Event) -> None:
        async with self._changed:
            event_id = getattr(event, "event_id", None)
            if event_id is not None:
                if event_id in self._event_ids:
                    return
                self._event_ids.add(event_id)
            self._events[room.room_id].append(event)
            self._changed.notify_all()

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        # nio fires this for every member event of the invite state, not just ours.
        if event.state_key != self.user_id or event.membership != "invite":
            return
        async with self._changed:
            self._invites.add(room.room_id)
            self._changed.notify_all()

    async def _on_sync(self, _response: SyncResponse) -> None:
        async with self._changed:
            # A room key may arrive after the message it unlocks.
            self._retry_decryption()
            # Room state (members, encryption) changed too; let state waiters re-check.
            self._changed.notify_all()

    def _retry_decryption(self) -> None:
        if self.client.olm is None:
            return
        for events in self._events.values():
            for index, event in enumerate(events):
                if isinstance(event, MegolmEvent):
                    with contextlib.suppress(EncryptionError):
                        events[index] = self.client.decrypt_event(event)

    # -- waiting ----------------------------------------------------------------

    async def _wait_until(
        self, check: Callable[[], _T | None], timeout: float, describe: Callable[[], str]
    ) -> _T:
        """Wait until ``check()`` returns something other than None (or False)."""

        def ready() -> _T | None:
            if self._sync_error is not None:
                raise RuntimeError(f"{self.user_id}: sync loop died") from self._sync_error
            return check()

        try:
            async with self._changed:
                result = await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"{self.user_id}: timed out after {timeout:.1f} s: {describe()}"
            ) from None
        assert result is not None  # wait_for only returns once ready() is truthy
        return result

    def _find(self, room_id: str, predicate: EventPredicate, after: str | None) -> Event | None:
        events = self._events.get(room_id, [])
        start = 0
        if after is not None:
            ids = [getattr(e, "event_id", None) for e in events]
            if after not in ids:
                # Sync delivers in timeline order: nothing after it has arrived yet.
                return None
            start = ids.index(after) + 1
        return next((e for e in events[start:] if predicate(e)), None)

    async def wait_for(
        self,
        room_id: str,
        predicate: EventPredicate,
        timeout: float = 20.0,
        *,
        after: str | None = None,
    ) -> Event:
        """First event in ``room_id`` (already seen or future) matching ``predicate``.

        ``after`` restricts the search to events following that event id.
        """
        return await self._wait_until(
            lambda: self._find(room_id, predicate, after),
            timeout,
            lambda: f"no matching event in {room_id}; seen:\n{self.describe(room_id)}",
        )

    async def wait_for_notice(
        self,
        room_id: str,
        contains: str,
        sender: str | None = None,
        after: str | None = None,
        timeout: float = 20.0,
    ) -> RoomMessageNotice:
        """First ``m.notice`` whose body contains ``contains`` (optionally by ``sender``)."""

        def matches(event: Event) -> bool:
            return (
                isinstance(event, RoomMessageNotice)
                and contains in event.body
                and (sender is None or event.sender == sender)
            )

        event = await self.wait_for(room_id, matches, timeout, after=after)
        assert isinstance(event, RoomMessageNotice)
        return event

    async def wait_for_room(self, room_id: str, timeout: float = 20.0) -> MatrixRoom:
        """Wait until the client's sync knows ``room_id`` (needed before sending)."""
        return await self._wait_until(
            lambda: self.client.rooms.get(room_id),
            timeout,
            lambda: f"room {room_id} never appeared in sync",
        )

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 20.0) -> None:
        """Wait until this client's room state lists ``user_id`` as joined.

        In an encrypted room, send only after this: nio shares the megolm session
        with the members it knows at send time.
        """

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users

        await self._wait_until(joined, timeout, lambda: f"{user_id} never joined {room_id}")

    async def wait_for_invite(self, room_id: str | None = None, timeout: float = 20.0) -> str:
        """Wait for an invite (to ``room_id`` or any room); return the room id."""

        def invited() -> str | None:
            if room_id is None:
                return next(iter(self._invites), None)
            return room_id if room_id in self._invites else None

        return await self._wait_until(invited, timeout, lambda: "no invite arrived")

    # -- reading ----------------------------------------------------------------

    def events(self, room_id: str) -> list[Event]:
        """Every timeline event seen in ``room_id`` so far, in order."""
        return list(self._events.get(room_id, []))

    def notices(self, room_id: str, sender: str | None = None) -> list[RoomMessageNotice]:
        """The ``m.notice`` messages seen in ``room_id``, optionally from one sender."""
        return [
            e
            for e in self._events.get(room_id, [])
            if isinstance(e, RoomMessageNotice) and (sender is None or e.sender == sender)
        ]

    def replies_to(self, room_id: str, event_id: str) -> list[RoomMessageNotice]:
        """The notices seen in ``room_id`` that reply to ``event_id``."""
        return [
            n for n in self.notices(room_id)
            if n.source["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
            .get("event_id") == event_id
        ]

    async def direct_chat(self, known: set[str], timeout: float = 60) -> str:
        """The room of the bot's direct message: an invite to a room not in ``known``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._invites - known:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.user_id}: no direct chat from the bot")
            await asyncio.sleep(0.1)
        return str(next(iter(self._invites - known)))

    def describe(self, room_id: str, last: int = 20) -> str:
        """Human-readable tail of the room's events, for assertion messages."""
        lines = [
            f"  {e.sender} {type(e).__name__} {_body(e)[:120]!r}"
            for e in self._events.get(room_id, [])[-last:]
        ]
        return "\n".join(lines) or "  (nothing)"

    # -- actions ----------------------------------------------------------------

    async def create_room(
        self,
        name: str | None = None,
        invite: Iterable[str] = (),
        encrypted: bool = False,
        power_level_users: Mapping[str, int] | None = None,
        alias: str | None = None,
    ) -> str:
        """Create a private room and return its id once sync knows it.

        Rooms use the server's default version (12 on current Synapse), where the
        creator has unlimited power and must not appear in the ``users`` map, so
        this participant is dropped from ``power_level_users``.
        """
        initial_state = []
        if encrypted:
            initial_state.append(
                {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
            )
        power_levels = None
        if power_level_users is not None:
            users = {u: pl for u, pl in power_level_users.items() if u != self.user_id}
            power_levels = {"users": users}
        response = await self.client.room_create(
            alias=alias,
            name=name,
            invite=list(invite),
            initial_state=initial_state,
            power_level_override=power_levels,
        )
        room_id = _expect(response, RoomCreateResponse, "room create").room_id
        room = await self.wait_for_room(room_id)
        if encrypted:
            # nio only encrypts once it has seen the m.room.encryption state.
            await self._wait_until(
                lambda: room.encrypted, 20.0, lambda: f"{room_id} never became encrypted"
            )
        return room_id

    async def join(self, room_id_or_alias: str) -> str:
        """Join a room by id or alias; return the room id once sync knows it."""
        response = await self.client.join(room_id_or_alias)
        room_id = _expect(response, JoinResponse, f"join {room_id_or_alias}").room_id
        await self.wait_for_room(room_id)
        return room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        """Invite ``user_id`` to ``room_id``."""
        response = await self.client.room_invite(room_id, user_id)
        _expect(response, RoomInviteResponse, f"invite {user_id}")

    async def leave(self, room_id: str) -> None:
        """Leave ``room_id``."""
        _expect(await self.client.room_leave(room_id), RoomLeaveResponse, "leave")

    async def set_display_name(self, name: str) -> None:
        """Set this participant's global display name."""
        response = await self.client.set_displayname(name)
        _expect(response, ProfileSetDisplayNameResponse, "set display name")

    async def send(
        self,
        room_id: str,
        body: str,
        *,
        msgtype: str = "m.text",
        mentions: Iterable[str] = (),
        reply_to: str | None = None,
        formatted_body: str | None = None,
    ) -> str:
        """Send a message and return its event id.

        ``mentions`` fills ``m.mentions.user_ids``; ``reply_to`` makes it a reply;
        ``formatted_body`` is sent as ``org.matrix.custom.html``.
        """
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        mentioned = list(mentions)
        if mentioned:
            content["m.mentions"] = {"user_ids": mentioned}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        if formatted_body is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted_body
        return await self.send_event(room_id, "m.room.message", content)

    async def edit(self, room_id: str, event_id: str, new_body: str) -> str:
        """Replace the text of ``event_id`` (an ``m.replace`` edit); return the edit's id."""
        content = {
            "msgtype": "m.text",
            "body": f"* {new_body}",
            "m.new_content": {"msgtype": "m.text", "body": new_body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self.send_event(room_id, "m.room.message", content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """Annotate ``event_id`` with ``key`` (e.g. an emoji); return the reaction's id."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        return await self.send_event(room_id, "m.reaction", content)

    async def redact(self, room_id: str, event_id: str, reason: str | None = None) -> str:
        """Redact ``event_id``; return the redaction's event id."""
        response = await self.client.room_redact(room_id, event_id, reason=reason)
        return _expect(response, RoomRedactResponse, "redact").event_id

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send any room event (encrypted when the room is); return its event id."""
        if self.client.olm is not None:
            # nio refuses to send to a room its sync has not shown it yet.
            await self.wait_for_room(room_id)
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        return _expect(response, RoomSendResponse, f"send {event_type}").event_id


def element_reply(room: str, original: str, original_sender: str, quoted: str,
                  reply: str) -> dict[str, Any]:
    """A reply as Element still sends it: the quote in the body and in <mx-reply>."""
    return {
        "msgtype": "m.text",
        "body": f"> <{original_sender}> {quoted}\n\n{reply}",
        "format": "org.matrix.custom.html",
        "formatted_body": (
            f'<mx-reply><blockquote><a href="https://matrix.to/#/{room}/{original}">In reply '
            f'to</a> <a href="https://matrix.to/#/{original_sender}">{original_sender}</a>'
            f"<br>{quoted}</blockquote></mx-reply>{reply}"
        ),
        "m.relates_to": {"m.in_reply_to": {"event_id": original}},
    }
