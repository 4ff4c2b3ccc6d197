"""Before the bot runs for real: can it reach every room of its config, and say what it must?

``meetbot check-config --online`` runs :func:`preflight`. It only reads: it logs in the way
``meetbot run`` does (restoring the session kept in ``data_dir``, so no new device each time;
the first login's session is kept for ``run``), without loading the encryption keys, then
resolves each alias, lists the rooms the bot is in and those it is invited to, and reads
each joined room's state. It never joins, leaves or sends anything.

What the bot needs in a room, from what it does there (matrix/outbox.py): it posts
``m.room.message`` notices (``m.room.encrypted`` ones in an encrypted room) and, where it
posts translations, redacts its own translation notices when their original is redacted,
which takes the level of ``m.room.redaction`` events (the ``redact`` level is for other
people's events: the bot never redacts those). It sets no state, invites and kicks nobody.
:func:`assess` judges a room's state against that, purely.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nio import (
    AsyncClient,
    JoinedRoomsResponse,
    RoomGetStateResponse,
    RoomMemberEvent,
    RoomResolveAliasResponse,
    SyncResponse,
)
from nio.crypto import ENCRYPTION_ENABLED

from meetbot.config.schema import Config
from meetbot.matrix.session import LoginFailed, Unreachable, open_session, probe, session_file

# One sync that brings the invites and, for each room the bot left, its last membership
# event (a kick or a ban, and by whom): no other timeline, no state, no presence.
_NOTHING = {"not_types": ["*"]}
INVITES_AND_DEPARTURES = {
    "presence": _NOTHING,
    "account_data": _NOTHING,
    "room": {"include_leave": True, "timeline": {"types": ["m.room.member"], "limit": 1},
             "state": _NOTHING, "ephemeral": _NOTHING, "account_data": _NOTHING},
}


class Status(enum.Enum):
    OK = "ok"
    NOTE = "note"  # nothing to fix now, but not everything could be checked
    FIX = "fix"


@dataclass(frozen=True)
class ConfiguredRoom:
    """A room the config names: ``label`` for people, ``key`` where it is in the file."""

    label: str
    room: str
    key: str
    posts_translations: bool


@dataclass(frozen=True)
class RoomReport:
    room: ConfiguredRoom
    status: Status
    text: str


@dataclass
class Report:
    """What ``check-config --online`` found: ``problem`` if it could not log in at all."""

    session: str = ""
    problem: str | None = None
    rooms: list[RoomReport] = field(default_factory=list)

    @property
    def needs_fixing(self) -> bool:
        return self.problem is not None or any(r.status is Status.FIX for r in self.rooms)


def configured_rooms(config: Config) -> list[ConfiguredRoom]:
    translates = config.translation.backend != "none" and config.translation.display != "off"
    rooms = [ConfiguredRoom(f"region {r.id}", r.room, f"regions[{n}].room", translates)
             for n, r in enumerate(config.regions)]
    if config.coordinator is not None:
        rooms.append(ConfiguredRoom("coordinator room", config.coordinator.room,
                                    "coordinator.room", False))
    return rooms


# -- what the bot may do in a room, from its state (pure) -------------------------------


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _creators_rule(version: str) -> bool:
    """Room versions where the creators have unlimited power (12 and later)."""
    return version == "org.matrix.hydra.11" or (version.isdigit() and int(version) >= 12)


@dataclass(frozen=True)
class Assessment:
    status: Status
    text: str


def assess(
    bot: str,
    where: str,
    state: list[Mapping[str, Any]],
    *,
    encryption: bool,
    can_encrypt: bool = True,
    redacts: bool = True,
) -> Assessment:
    """Whether ``bot`` may do what it does in a room it has joined, given the room's state
    events (as ``GET /rooms/{id}/state`` returns them); ``where`` names the room."""
    by_type = {e.get("type"): e for e in state if e.get("state_key", "") == ""}
    create = by_type.get("m.room.create") or {}
    version = str((create.get("content") or {}).get("room_version", "1"))
    encrypted = "m.room.encryption" in by_type
    if encrypted and not encryption:
        return Assessment(Status.FIX, f"{where} is encrypted but the config says "
                          "`encryption: false` — set `encryption: true` (the bot can neither "
                          "read nor post there otherwise)")
    if encrypted and not can_encrypt:
        return Assessment(Status.FIX, f"{where} is encrypted but this installation cannot "
                          "encrypt (python-olm is missing) — pip install 'matrix-nio[e2e]'")
    send_type = "m.room.encrypted" if encrypted else "m.room.message"
    creators = {create.get("sender")} | set(
        (create.get("content") or {}).get("additional_creators") or []
    )
    power = by_type.get("m.room.power_levels")
    if _creators_rule(version) and bot in creators:
        return Assessment(Status.OK, f"OK — {where}: joined; the bot created the room "
                          "(unlimited power)" + (", encrypted" if encrypted else ""))
    if power is None:
        # No power levels at all: everyone may send anything; the creator has 100.
        level = 100 if bot in creators else 0
        levels: Mapping[str, Any] = {}
    else:
        levels = power.get("content") or {}
        users = levels.get("users") or {}
        level = _int(users.get(bot, levels.get("users_default", 0)), 0)
    events = levels.get("events") or {}
    default = _int(levels.get("events_default", 0), 0)
    needs_send = _int(events.get(send_type, default), default)
    needs_redact = _int(events.get("m.room.redaction", default), default)
    problems = []
    if level < needs_send:
        problems.append(f"posting ({send_type}) needs {needs_send}")
    if redacts and level < needs_redact:
        problems.append(f"removing its own translation notices when their message is "
                        f"deleted (m.room.redaction) needs {needs_redact}")
    if problems:
        need = max(needs_send, needs_redact if redacts else 0)
        return Assessment(Status.FIX, f"the bot's power level in {where} is {level}; "
                          f"{' and '.join(problems)} — give {bot} power level {need} there "
                          "(room settings, roles and permissions)")
    done = f"posting needs {needs_send}"
    if redacts:
        done += f", removing its notices {needs_redact}"
    return Assessment(Status.OK, f"OK — {where}: joined, power level {level} ({done})"
                      + (", encrypted" if encrypted else ""))


# -- asking the homeserver ----------------------------------------------------------------


async def preflight(config: Config) -> Report:
    """Log in and check every configured room. Raises :class:`Unreachable` if the
    homeserver stops answering midway (the caller bounds the whole with a timeout)."""
    url, bot = config.homeserver, config.user_id
    problem = await probe(url)
    if problem is not None:
        return Report(problem=f"homeserver {url}: {problem.message} — check `homeserver`")
    # The keys stay untouched (a running bot may be using them); the session is shared.
    try:
        client = await open_session(config.model_copy(update={"encryption": False}))
    except (LoginFailed, Unreachable) as exc:
        secret = "`access_token`" if config.access_token is not None else "`password`"
        return Report(problem=f"cannot log in to {url} as {bot}: {exc.problem.message} — "
                      f"check `user_id` and {secret}")
    client.fail_fast = True
    try:
        report = Report(session=f"logged in to {url} as {bot} (device {client.device_id}, "
                        f"session kept in {session_file(config)})")
        report.rooms = await _check_rooms(client, config)
        return report
    finally:
        await client.close()  # never logout(): that would delete the bot's device


async def _check_rooms(client: AsyncClient, config: Config) -> list[RoomReport]:
    bot = config.user_id
    rooms = configured_rooms(config)
    resolved: dict[str, str] = {}  # configured room -> room id
    reports: dict[ConfiguredRoom, RoomReport] = {}
    for wanted in rooms:
        if not wanted.room.startswith("#"):
            resolved[wanted.room] = wanted.room
            continue
        answer = await client.room_resolve_alias(wanted.room)
        if isinstance(answer, RoomResolveAliasResponse):
            resolved[wanted.room] = answer.room_id
        elif getattr(answer, "status_code", None) == "M_NOT_FOUND":
            reports[wanted] = RoomReport(wanted, Status.FIX, f"{wanted.room} does not exist — "
                                         f"create it or fix `{wanted.key}`")
        else:
            reports[wanted] = RoomReport(wanted, Status.FIX, f"{wanted.room} cannot be resolved "
                                         f"({answer}) — check `{wanted.key}`")
    joined_answer = await client.joined_rooms()
    joined = set(joined_answer.rooms) if isinstance(joined_answer, JoinedRoomsResponse) else set()
    invited: set[str] = set()
    departures: dict[str, RoomMemberEvent] = {}
    if any(room_id not in joined for room_id in resolved.values()):
        synced = await client.sync(timeout=0, sync_filter=INVITES_AND_DEPARTURES,
                                   set_presence="offline")
        if isinstance(synced, SyncResponse):
            invited = set(synced.rooms.invite)
            for room_id, left in synced.rooms.leave.items():
                for event in left.timeline.events:
                    if isinstance(event, RoomMemberEvent) and event.state_key == bot:
                        departures[room_id] = event
    first_of: dict[str, ConfiguredRoom] = {}
    for wanted in rooms:
        if wanted in reports:
            continue
        room_id = resolved[wanted.room]
        where = room_id if room_id == wanted.room else f"{wanted.room} ({room_id})"
        other = first_of.setdefault(room_id, wanted)
        if other is not wanted and wanted.label.startswith("region"):
            reports[wanted] = RoomReport(wanted, Status.FIX, f"{where} is also the room of "
                                         f"{other.label} — give each region its own room "
                                         f"(`{wanted.key}`)")
        elif room_id in joined:
            reports[wanted] = await _joined(client, config, wanted, room_id, where)
        elif room_id in invited:
            reports[wanted] = RoomReport(wanted, Status.NOTE, f"the bot is invited to {where} "
                                         "but has not joined yet: `meetbot run` accepts the "
                                         "invite; check again then for its power level")
        else:
            reports[wanted] = RoomReport(wanted, Status.FIX,
                                         _not_in(bot, where, departures.get(room_id)))
    return [reports[wanted] for wanted in rooms]


async def _joined(
    client: AsyncClient, config: Config, wanted: ConfiguredRoom, room_id: str, where: str
) -> RoomReport:
    state = await client.room_get_state(room_id)
    if not isinstance(state, RoomGetStateResponse):
        return RoomReport(wanted, Status.FIX, f"cannot read the state of {where} ({state})")
    judged = assess(config.user_id, where, state.events, encryption=config.encryption,
                    can_encrypt=ENCRYPTION_ENABLED, redacts=wanted.posts_translations)
    return RoomReport(wanted, judged.status, judged.text)


def _not_in(bot: str, where: str, departure: RoomMemberEvent | None) -> str:
    """Why the bot is not in a room, as far as the homeserver tells: a room it was never in
    and one that does not exist look the same from outside."""
    if departure is not None and departure.membership == "ban":
        return f"the bot was banned from {where} by {departure.sender} — unban {bot} there, " \
            "then invite it"
    if departure is not None and departure.membership == "leave":
        if departure.sender != bot:
            return f"the bot was removed from {where} by {departure.sender} — invite {bot} again"
        return f"the bot left {where} — invite {bot} again"
    return f"the bot is not in {where} — invite {bot}"
