"""nio events -> core events. The only place that knows Matrix's event shapes."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

from nio import (
    Event as NioEvent,
)
from nio import (
    MatrixRoom,
    ReactionEvent,
    RedactionEvent,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageNotice,
    RoomMessageText,
    UnknownEvent,
)

from meetbot.core.consent_commands import kept_when_opted_out
from meetbot.core.events import Edit, Event, Membership, Message, Reaction, Redaction

_PILL = re.compile(r'href="https://matrix\.to/#/(@[^"?/]+)')


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _mentions(content: dict[str, Any]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict):
        for user in mentions.get("user_ids") or []:
            if isinstance(user, str):
                found.setdefault(user, None)
    formatted = content.get("formatted_body")
    if isinstance(formatted, str):
        for match in _PILL.finditer(formatted):
            found.setdefault(match.group(1).replace("%3A", ":").replace("%40", "@"), None)
    return tuple(found)


def convert(
    room: MatrixRoom,
    event: NioEvent,
    *,
    live: bool,
    language_of: dict[str, str] | None = None,
    opted_out: Collection[str] = (),
    command_prefix: str = "!",
) -> Event | None:
    """The core's view of ``event``, or None for events the core does not care about.

    The messages of people in ``opted_out`` reach the core without their text (only their
    consent commands keep it), so nothing they say is ever stored.
    """
    source: dict[str, Any] = getattr(event, "source", {}) or {}
    content: dict[str, Any] = source.get("content") or {}
    common = {
        "event_id": event.event_id,
        "room_id": room.room_id,
        "sender": event.sender,
        "at": to_datetime(event.server_timestamp),
        "live": live,
    }
    if isinstance(event, (RoomMessageText, RoomMessageNotice, RoomMessageEmote)):
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
            new = content.get("m.new_content") or {}
            body: str = new["body"] if isinstance(new.get("body"), str) else event.body
            if event.sender in opted_out:
                body = ""
            return Edit(**common, target=relates["event_id"], body=body, mentions=_mentions(new))
        msgtype = content.get("msgtype", "m.text")
        reply = relates.get("m.in_reply_to") or {}
        if event.sender in opted_out and not kept_when_opted_out(event.body, command_prefix):
            return Message(
                **common,
                body="",
                withdrawn=True,
                sender_opted_out=True,
                sender_power=room.power_levels.get_user_level(event.sender),
            )
        return Message(
            **common,
            body=event.body,
            display_name=room.user_name(event.sender) or "",
            msgtype=msgtype if isinstance(msgtype, str) else "m.text",
            mentions=_mentions(content),
            reply_to=reply.get("event_id") if isinstance(reply, dict) else None,
            thread_root=relates.get("event_id") if relates.get("rel_type") == "m.thread" else None,
            sender_power=room.power_levels.get_user_level(event.sender),
            sender_language=(language_of or {}).get(event.sender),
            sender_opted_out=event.sender in opted_out,
        )
    if isinstance(event, RedactionEvent):
        return Redaction(**common, target=event.redacts, reason=event.reason)
    if isinstance(event, ReactionEvent):
        return Reaction(**common, target=event.reacts_to, key=event.key)
    if isinstance(event, RoomMemberEvent):
        common["sender"] = event.state_key
        name = content.get("displayname")
        return Membership(
            **common,
            membership=event.membership,
            display_name=name if isinstance(name, str) else "",
        )
    if isinstance(event, UnknownEvent) and event.type == "m.reaction":
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.annotation":
            return Reaction(
                **common, target=relates.get("event_id", ""), key=relates.get("key", "")
            )
    return None
