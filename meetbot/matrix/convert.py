"""nio events -> core events. The only place that knows Matrix's event shapes.

What reaches the core is what the person said, as they said it:

- a reply's legacy fallback (the quoted ``> <@bob:example.org> …`` lines before its text, the
  ``<mx-reply>`` element of its HTML) is stripped, as the spec tells receivers to do, so the
  quote never reaches the record, the minutes, the exports or a translation; the relation
  stays (``reply_to``);
- files, images, sounds, videos and stickers become an :class:`Attachment` (where the file
  is, never its bytes), their caption the message's text;
- polls and locations become messages whose text is their text fallback.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

from nio import (
    BadEvent,
    MatrixRoom,
    ReactionEvent,
    RedactionEvent,
    RoomEncryptedMedia,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageMedia,
    RoomMessageNotice,
    RoomMessageText,
    RoomMessageUnknown,
    StickerEvent,
    UnknownEvent,
)
from nio import (
    Event as NioEvent,
)

from meetbot.core.commands.research_consent import kept_when_opted_out
from meetbot.core.events import (
    Attachment,
    Edit,
    Event,
    Membership,
    Message,
    Reaction,
    Redaction,
)

_PILL = re.compile(r'href="https://matrix\.to/#/(@[^"?/]+)')
# The HTML part of a reply's fallback (the spec puts it first; it is dropped wherever it is).
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
# The first line of a reply's plain-text fallback: "> <@alice:example.org> original text",
# "> * <@alice:example.org> waves" for an emote.
_QUOTED_SENDER = re.compile(r"> (?:\* )?<[^<>\n]+>")

TEXT_MSGTYPES = ("m.text", "m.notice", "m.emote")
MEDIA_MSGTYPES = ("m.image", "m.file", "m.audio", "m.video")
STICKER = "m.sticker"
POLL = "m.poll"
LOCATION = "m.location"
POLL_START_TYPES = ("m.poll.start", "org.matrix.msc3381.poll.start")


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


# -- replies ----------------------------------------------------------------------------


def without_reply_fallback(body: str, formatted_body: str | None = None) -> str:
    """``body`` without a reply's quoted fallback: the leading ``>`` lines and the one blank
    line after them.

    Only a real fallback goes: it is announced by an ``<mx-reply>`` in the HTML, or its first
    line quotes the replied-to sender as the spec writes it. A person's own Markdown quote at
    the start of a reply stays.
    """
    lines = body.split("\n")
    announced = bool(formatted_body) and _MX_REPLY.search(formatted_body or "") is not None
    if not (announced or _QUOTED_SENDER.match(lines[0])):
        return body
    quoted = 0
    while quoted < len(lines) and lines[quoted].startswith(">"):
        quoted += 1
    if quoted == 0:
        return body
    if quoted < len(lines) and lines[quoted].strip() == "":
        quoted += 1
    return "\n".join(lines[quoted:])


def without_reply_html(formatted_body: str) -> str:
    """The HTML without its ``<mx-reply>`` element (the quoted message and its sender)."""
    return _MX_REPLY.sub("", formatted_body)


def _has_reply(content: dict[str, Any]) -> bool:
    relates = content.get("m.relates_to")
    return isinstance(relates, dict) and isinstance(relates.get("m.in_reply_to"), dict)


def _own_text(content: dict[str, Any], *, replying: bool) -> str:
    """The text the person wrote: for a reply (or what may be one), without the quote."""
    body = _str(content.get("body"))
    if not replying:
        return body
    formatted = content.get("formatted_body")
    return without_reply_fallback(body, formatted if isinstance(formatted, str) else None)


def _relations(content: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the event replied to, the thread's root). A thread's ``m.in_reply_to`` marked
    ``is_falling_back`` only serves clients without threads: it is no reply."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None, None
    thread = relates.get("rel_type") == "m.thread"
    root = relates.get("event_id") if thread and isinstance(relates.get("event_id"), str) else None
    in_reply_to = relates.get("m.in_reply_to")
    reply = in_reply_to.get("event_id") if isinstance(in_reply_to, dict) else None
    if not isinstance(reply, str) or (thread and relates.get("is_falling_back") is True):
        reply = None
    return reply, root


# -- mentions ---------------------------------------------------------------------------


def _mentions(content: dict[str, Any]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict):
        for user in mentions.get("user_ids") or []:
            if isinstance(user, str):
                found.setdefault(user, None)
    formatted = content.get("formatted_body")
    if isinstance(formatted, str):
        # The quote of a reply names its sender: that is no mention of the person replying.
        for match in _PILL.finditer(without_reply_html(formatted)):
            found.setdefault(match.group(1).replace("%3A", ":").replace("%40", "@"), None)
    return tuple(found)


# -- what was said ----------------------------------------------------------------------


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _kind_of(event: NioEvent) -> str | None:
    """What kind of message ``event`` is (its msgtype, or m.sticker / m.poll / m.location),
    or None when the core does not record it as a message."""
    if isinstance(event, (RoomMessageText, RoomMessageNotice, RoomMessageEmote)):
        msgtype = (event.source.get("content") or {}).get("msgtype")
        return msgtype if msgtype in TEXT_MSGTYPES else "m.text"
    if isinstance(event, (RoomMessageMedia, RoomEncryptedMedia)):
        msgtype = (event.source.get("content") or {}).get("msgtype")
        return msgtype if msgtype in MEDIA_MSGTYPES else "m.file"
    if isinstance(event, StickerEvent):
        return STICKER
    if isinstance(event, BadEvent) and event.type == STICKER:
        return STICKER  # an encrypted room's sticker carries "file", which nio does not parse
    if isinstance(event, RoomMessageUnknown) and event.msgtype == LOCATION:
        return LOCATION
    if isinstance(event, UnknownEvent) and event.type in POLL_START_TYPES:
        return POLL
    return None


def _said(kind: str, content: dict[str, Any], *, replying: bool) -> tuple[str, Attachment | None]:
    """The text (a caption for a file) and the attachment of a message's content."""
    if kind in MEDIA_MSGTYPES or kind == STICKER:
        return _attachment(kind, content, replying=replying)
    if kind == POLL:
        return _poll_text(content), None
    if kind == LOCATION:
        return _location_text(content), None
    return _own_text(content, replying=replying), None


def _attachment(kind: str, content: dict[str, Any], *, replying: bool) -> tuple[str, Attachment]:
    """A shared file, and its caption. When ``filename`` is given, ``body`` is a caption;
    otherwise ``body`` is the file's name (a sticker's: its description)."""
    file = content.get("file")
    encrypted = isinstance(file, dict)
    info = content.get("info")
    info = info if isinstance(info, dict) else {}
    source: dict[str, Any] = file if isinstance(file, dict) else content
    url = _str(source.get("url"))
    mimetype = _str(info.get("mimetype")) or _str(source.get("mimetype")) or None
    size = info.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        size = None
    body = _own_text(content, replying=replying)
    filename = _str(content.get("filename")) if kind != STICKER else ""
    caption = body if filename and body != filename else ""
    name = filename or ("" if caption else body)
    return caption, Attachment(
        kind=kind, name=name, url=url, mimetype=mimetype, size=size, encrypted=encrypted
    )


def _text_block(block: object) -> str:
    """The plain text of an extensible-events text block: ``m.text`` (a list of
    representations, plain first), the unstable ``org.matrix.msc1767.text``, or ``body``."""
    if not isinstance(block, dict):
        return ""
    representations = block.get("m.text")
    if isinstance(representations, list):
        plain = [
            r for r in representations
            if isinstance(r, dict) and _str(r.get("mimetype") or "text/plain") == "text/plain"
        ]
        for representation in plain:
            if _str(representation.get("body")):
                return _str(representation.get("body"))
    return _str(block.get("org.matrix.msc1767.text")) or _str(block.get("body"))


def _poll_text(content: dict[str, Any]) -> str:
    """A poll as text: its question, then its answers numbered; else its text fallback."""
    poll = content.get("m.poll") or content.get("org.matrix.msc3381.poll.start")
    if isinstance(poll, dict):
        question = _text_block(poll.get("question"))
        answers = [_text_block(a) for a in poll.get("answers") or []]
        if question:
            numbered = [f"{n}. {a}" for n, a in enumerate((a for a in answers if a), start=1)]
            return "\n".join([question, *numbered])
    return _text_block(content)


def _location_text(content: dict[str, Any]) -> str:
    """A location as text: its description and its ``geo:`` URI."""
    body = _str(content.get("body"))
    geo_uri = _str(content.get("geo_uri"))
    if geo_uri and geo_uri not in body:
        return f"{body}\n{geo_uri}" if body else geo_uri
    return body


# -- the conversion ---------------------------------------------------------------------


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
    kind = _kind_of(event)
    if kind is not None:
        return _message(room, content, common, kind, language_of, opted_out, command_prefix)
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


def _message(
    room: MatrixRoom,
    content: dict[str, Any],
    common: dict[str, Any],
    kind: str,
    language_of: dict[str, str] | None,
    opted_out: Collection[str],
    command_prefix: str,
) -> Message | Edit:
    sender = common["sender"]
    relates = content.get("m.relates_to")
    relates = relates if isinstance(relates, dict) else {}
    if relates.get("rel_type") == "m.replace" and isinstance(relates.get("event_id"), str):
        return _edit(content, common, kind, relates["event_id"], opted_out)
    body, attachment = _said(kind, content, replying=_has_reply(content))
    power = room.power_levels.get_user_level(sender)
    if sender in opted_out and (
        kind not in TEXT_MSGTYPES or not kept_when_opted_out(body, command_prefix)
    ):
        return Message(
            **common, body="", withdrawn=True, sender_opted_out=True, sender_power=power
        )
    reply_to, thread_root = _relations(content)
    return Message(
        **common,
        body=body,
        display_name=room.user_name(sender) or "",
        msgtype=kind,
        mentions=_mentions(content),
        reply_to=reply_to,
        thread_root=thread_root,
        sender_power=power,
        sender_language=(language_of or {}).get(sender),
        sender_opted_out=sender in opted_out,
        attachment=attachment,
    )


def _edit(
    content: dict[str, Any],
    common: dict[str, Any],
    kind: str,
    target: str,
    opted_out: Collection[str],
) -> Edit:
    """An edit: the new text is in ``m.new_content``. Old clients only read the top-level
    body, ``* new text``. Whether the edited message was a reply is not said here, so a
    fallback is recognised by its own shape."""
    new = content.get("m.new_content")
    if isinstance(new, dict) and isinstance(new.get("body"), str):
        new_type = new.get("msgtype")
        new_kind = new_type if new_type in (*TEXT_MSGTYPES, *MEDIA_MSGTYPES) else kind
        body, _ = _said(str(new_kind), new, replying=True)
        mentions = _mentions(new)
    elif isinstance(new, dict) and kind == POLL:
        body, mentions = _poll_text(new), ()
    else:
        top = _own_text(content, replying=True)
        body, mentions = (top[2:] if top.startswith("* ") else top), _mentions(content)
    if common["sender"] in opted_out:
        body, mentions = "", ()
    return Edit(**common, target=target, body=body, mentions=mentions)
