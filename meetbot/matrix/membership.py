"""Which rooms the bot is in: the configured rooms, the invites it accepts, the rooms it loses.

- The rooms named in the config (a region's or the coordinator's, by id or by alias) are
  joined at start. One that cannot be joined is marked unreachable, and the coordinator room
  is told (once a day while it lasts); the bot joins by itself once invited.
- Invites are accepted or declined by the rules of :meth:`RoomMembership.answer_invites`.
- A configured room the bot was kicked, banned or removed from is marked unreachable at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from nio import (
    AsyncClient,
    InviteAliasEvent,
    InviteInfo,
    InviteMemberEvent,
    JoinedRoomsResponse,
    JoinResponse,
    RoomResolveAliasResponse,
)

from meetbot.app import MeetBotApp
from meetbot.core.effects import Notice
from meetbot.i18n import _

log = logging.getLogger(__name__)


class RoomMembership:
    """Joins the configured rooms, answers invites and notices when a room is lost."""

    def __init__(self, app: MeetBotApp, client: AsyncClient) -> None:
        self.app = app
        self.client = client
        self.config = app.config
        # Aliases of the configured rooms, resolved (alias -> room id), for invites.
        self._aliases: dict[str, str] = {}
        # Rooms the homeserver said the bot was in when it started (joined_rooms).
        self._joined: set[str] = set()

    def is_member(self, user_id: str, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users

    def _configured(self) -> list[tuple[str | None, str]]:
        """(region id, or None for the coordinator; room id or alias) of every room named in
        the config."""
        wanted: list[tuple[str | None, str]] = [(r.id, r.room) for r in self.config.regions]
        if self.config.coordinator:
            wanted.append((None, self.config.coordinator.room))
        return wanted

    # -- the configured rooms -----------------------------------------------------------
    async def resolve_aliases(self) -> None:
        """Learn the room ids of the configured aliases (an invite names the room by id)."""
        for _region, room in self._configured():
            if room.startswith("#") and room not in self._aliases:
                resolved = await self.client.room_resolve_alias(room)
                if isinstance(resolved, RoomResolveAliasResponse):
                    self._aliases[room] = resolved.room_id

    async def join_configured(self) -> None:
        """Join every configured room, remember its binding, tell what cannot be reached.

        The rooms the bot is in already (one request asks, at a restart) are not joined
        again: a join per room would hold up the start for nothing."""
        if not self.client.rooms:
            joined = await self.client.joined_rooms()
            if isinstance(joined, JoinedRoomsResponse):
                self._joined.update(joined.rooms)
        for region_id, room in self._configured():
            room_id = await self._join(room)
            if room_id is None:
                continue  # the binding remembered from an earlier start (if any) stays
            await self.app.remember_binding(region_id, room_id)
        await self._tell_unreachable()

    async def _join(self, room: str) -> str | None:
        """Join a configured room; None (and the room marked unreachable) if that fails."""
        room_id = self._aliases.get(room, room)
        if room.startswith("#") and room not in self._aliases:
            resolved = await self.client.room_resolve_alias(room)
            if not isinstance(resolved, RoomResolveAliasResponse):
                self._unreachable(room, room, f"the alias does not resolve ({resolved})")
                return None
            room_id = self._aliases[room] = resolved.room_id
        if room_id in self.client.rooms or room_id in self._joined:
            self.app.mark_reachable(room_id)
            return room_id
        joined = await self.client.join(room_id)
        if isinstance(joined, JoinResponse):
            self.app.mark_reachable(joined.room_id)
            return joined.room_id
        self._unreachable(room, room_id, str(joined))
        return room_id

    def _unreachable(self, room: str, room_id: str, why: str) -> None:
        log.error(
            "cannot join the configured room %s: %s. Invite %s to it (anyone in the room "
            "can), or correct the room in the config; the bot joins by itself once invited.",
            room,
            why,
            self.client.user_id,
        )
        self.app.mark_unreachable(room_id, why)

    async def _tell_unreachable(self) -> None:
        """Tell the coordinator room (once a day while it lasts) which rooms cannot be
        reached, once the coordinator room itself is reachable."""
        coordinator = self.app.coordinator_room
        missing = [r for r in self.app.unreachable_rooms if r != coordinator]
        if not missing or coordinator is None or coordinator in self.app.unreachable_rooms:
            return
        day = time.strftime("%Y-%m-%d", time.gmtime())
        labels = [self.app.room_label(r) for r in missing]
        await self.app.post_notice(
            Notice(
                room_id=coordinator,
                lines=tuple(
                    _("I cannot reach {room}: invite me there (or check the room in the "
                      "config).", room=label)
                    for label in labels
                ),
                languages=self.app.coordinator_languages(),
                kind="announce",
                key=f"unreachable:{coordinator}:{day}:{','.join(sorted(missing))}",
            )
        )

    def note_left(self, room_ids: Iterable[str]) -> None:
        """Rooms a sync says the bot has left: a configured one is marked unreachable."""
        for room_id in room_ids:
            if self.configured_room(room_id, set()) is not None:
                # Kicked, banned or left: !status says so at once (the outbox tells the
                # coordinator if something was still owed to the room).
                log.error("the bot is no longer in the configured room %s", room_id)
                self.app.mark_unreachable(room_id, "the bot was removed from the room")

    # -- invites --------------------------------------------------------------------------
    async def answer_invites(self, invites: dict[str, InviteInfo]) -> None:
        """Who may bring the bot into a room.

        - a room named in the config (a region's or the coordinator's): anyone in it;
        - another room: a facilitator or a coordinator user (an ad-hoc meeting);
        - a direct chat: anyone who shares a configured room with the bot (so people can
          opt out, withdraw or ask for help in private).
        """
        allowed = set(self.config.facilitators)
        if self.config.coordinator:
            allowed.update(self.config.coordinator.users)
        for room_id, info in invites.items():
            inviter, direct, aliases = None, False, set()
            for event in info.invite_state:
                if (
                    isinstance(event, InviteMemberEvent)
                    and event.state_key == self.client.user_id
                    and event.membership == "invite"
                ):
                    inviter = event.sender
                    direct = bool((event.content or {}).get("is_direct"))
                elif isinstance(event, InviteAliasEvent) and event.canonical_alias:
                    aliases.add(event.canonical_alias)
            if inviter is None:
                continue
            configured = self.configured_room(room_id, aliases)
            if configured is not None:
                log.info("accepting the invite of %s to the configured room %s",
                         inviter, configured[1])
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinResponse):
                    self.app.mark_reachable(room_id)
                    await self.app.remember_binding(configured[0], room_id)
                else:
                    self._unreachable(configured[1], room_id, str(joined))
            elif inviter in allowed and not direct:
                log.info("accepting the invite of %s to %s", inviter, room_id)
                await self.client.join(room_id)
            elif direct and self.shares_configured_room(inviter):
                log.info("accepting a direct chat with %s (%s)", inviter, room_id)
                joined = await self.client.join(room_id)
                if isinstance(joined, JoinResponse):
                    await self.app.remember_direct_room(room_id, inviter)
            else:
                why = "a direct chat with someone in none of the configured rooms" if direct \
                    else "not a facilitator, and not a configured room"
                log.info("declining the invite of %s to %s (%s)", inviter, room_id, why)
                await self.client.room_leave(room_id)

    def configured_room(self, room_id: str, aliases: set[str]) -> tuple[str | None, str] | None:
        """(region id or None for the coordinator, configured room) if the config names it."""
        for region_id, room in self._configured():
            if room in (room_id, *aliases) or self._aliases.get(room) == room_id:
                return region_id, room
            bound = (
                self.app.coordinator_room if region_id is None
                else self.app.region_rooms.get(region_id)
            )
            if bound == room_id:
                return region_id, room
        return None

    def shares_configured_room(self, user_id: str) -> bool:
        rooms = set(self.app.region_rooms.values())
        if self.app.coordinator_room:
            rooms.add(self.app.coordinator_room)
        return any(self.is_member(user_id, room) for room in rooms)
