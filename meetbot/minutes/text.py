"""Turning user text, links and times into safe, readable pieces of the minutes.

Everything a person typed is hostile until escaped: the minutes are opened in browsers and
their Markdown is pasted into chat clients and wikis that render it.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from meetbot.i18n import md_escape

# Schemes a recorded link may use; anything else (javascript:, data:) is shown as text only.
# The core checks this when a link is recorded, but an edit can replace the address.
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "matrix"})

# Kept as they are in a URL; everything else is percent-encoded, which also keeps the URL from
# closing a Markdown link or an HTML attribute early.
_URL_SAFE = "/:?#@!$&+,;=%~"


def md_text(text: str, indent: str = "  ") -> str:
    """Escape user text for Markdown, keeping its line breaks inside a list item.

    Blank lines and leading spaces would end the list item or open a code block, so they go;
    the JSON keeps the text exactly as typed.
    """
    if _LINE_BREAK.search(text) is None:  # one line: what splitting and joining would give
        line = text.strip()
        return md_escape(line) if line else ""
    lines = [line.strip() for line in text.splitlines()]
    return ("  \n" + indent).join(md_escape(line) for line in lines if line)


# Where str.splitlines() breaks a line.
_LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def safe_url(url: str | None) -> str | None:
    """The address, percent-encoded, if its scheme may be linked; otherwise ``None``."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    if scheme not in SAFE_SCHEMES:
        return None
    return quote(url.strip(), safe=_URL_SAFE)


# What quote(text, safe="") leaves as it is (RFC 3986's unreserved characters), and "$".
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~$-]*")


def quote_id(text: str) -> str:
    """``quote(text, safe="")``, quicker for the usual event id (letters, digits, ``$``):
    the minutes link every line to its event."""
    if _PLAIN_ID.fullmatch(text):
        return text.replace("$", "%24")
    return quote(text, safe="")


def permalink(room_id: str, event_id: str, via: str | None = None) -> str:
    """A matrix.to link to one event; ``via`` helps clients that are not in the room yet."""
    link = f"https://matrix.to/#/{quote(room_id, safe='')}/{quote_id(event_id)}"
    if via:
        link += f"?via={quote(via, safe='')}"
    return link


def as_utc(at: datetime) -> datetime:
    """Events carry aware times; a naive one is taken as UTC rather than the server's zone."""
    if at.tzinfo is None:
        return at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc)


def zone(name: str) -> ZoneInfo:
    """The region's zone; an unknown name falls back to UTC so minutes are never lost."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_iso(at: datetime, tz: ZoneInfo) -> str:
    return as_utc(at).astimezone(tz).isoformat(timespec="seconds")


def utc_iso(at: datetime) -> str:
    return as_utc(at).isoformat(timespec="seconds").replace("+00:00", "Z")


def truncate(text: str, limit: int) -> str:
    """Shorten text for a chat summary; the minutes themselves always keep all of it."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# A Matrix content URI: mxc://<server name>/<media id> (the spec's grammar for both parts).
_MXC = re.compile(r"mxc://[A-Za-z0-9.:\[\]-]+/[A-Za-z0-9_-]+")


def media_url(url: str | None) -> str | None:
    """A shared file's ``mxc://`` address if it is one, else ``None`` (never linked)."""
    if url and _MXC.fullmatch(url.strip()):
        return url.strip()
    return None


def file_size(size: int | None) -> str:
    """``31 kB``, ``1.6 MB``: a file's size as a reader grasps it (decimal units)."""
    if size is None or size < 0:
        return ""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 999.5 or unit == "TB":
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return ""  # pragma: no cover - the loop always returns


# -- times: the region's clock, and UTC only when it differs ------------------------------

_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal",
                        "Zulu", "Etc/Zulu", "Z"})


def _aware(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _zone_label(at: datetime, zone_name: str | None) -> str:
    """The zone as people know it: ``America/Bogota``; ``UTC`` for UTC itself."""
    if (not zone_name or zone_name in _UTC_ZONES) and not at.utcoffset():
        return "UTC"
    if zone_name:
        return zone_name
    offset = at.strftime("%z")  # a document without its zone's name: the offset stands in
    return f"UTC{offset[:3]}:{offset[3:]}"


def _clock(at: datetime, day: str) -> str:
    """``10:00`` on ``day``, else ``2024-05-02 10:00``."""
    return f"{at:%H:%M}" if at.date().isoformat() == day else f"{at:%Y-%m-%d %H:%M}"


def moment_text(iso: str | None, zone_name: str | None = None) -> str:
    """A moment as the region lives it, with its zone named once, and UTC only when it reads
    otherwise: ``2024-05-01 10:00 America/Bogota (15:00 UTC)``, ``2026-12-01 11:13 UTC``."""
    return span_text(iso, None, zone_name)


def span_text(start: str | None, end: str | None, zone_name: str | None = None) -> str:
    """From ``start`` to ``end`` (ISO times in the region's zone), the zone named once:
    ``2024-05-01 10:00–11:02 America/Bogota (15:00–16:02 UTC)``; one moment when ``end``
    is ``None`` or falls in the same minute."""
    if not start:
        return ""
    begin = _aware(start)
    finish = _aware(end) if end else None
    if finish is not None and f"{finish:%Y-%m-%d %H:%M}" == f"{begin:%Y-%m-%d %H:%M}":
        finish = None
    day = begin.date().isoformat()
    local = f"{begin:%Y-%m-%d %H:%M}"
    if finish is not None:
        local += ("–" if finish.date() == begin.date() else " – ") + _clock(finish, day)
    zone = _zone_label(begin, zone_name)
    if zone == "UTC" or (not begin.utcoffset() and not (finish and finish.utcoffset())):
        return f"{local} {zone}"
    utc_begin = begin.astimezone(timezone.utc)
    utc = _clock(utc_begin, day)
    if finish is not None:
        utc_finish = finish.astimezone(timezone.utc)
        utc += ("–" if utc_finish.date() == utc_begin.date() else " – ")
        utc += _clock(utc_finish, utc_begin.date().isoformat())
    return f"{local} {zone} ({utc} UTC)"
