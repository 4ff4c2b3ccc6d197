"""The kinds of values a config holds, each checked with a message that says how to fix it:
durations, language codes, Matrix ids, URLs."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from meetbot.core.durations import DurationError, parse_duration

LANGUAGE = r"^[a-z]{2,3}$"
USER_ID = r"^@[^:\s]+:\S+$"
# Room ids of room version 12 have no server part ("!abc"); aliases always do.
ROOM = r"^(![^\s]+|#[^:\s]+:\S+)$"
REGION_ID = r"^[a-z0-9][a-z0-9_-]*$"
PROMPT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# Codes in CLDR's list of languages that name no language.
_NOT_LANGUAGES = {"und", "zxx", "mul", "mis"}


class AtKey(ValueError):
    """A problem found by a check of a whole section, about one of its keys (pydantic would
    report it at the section itself)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def short(value: Any, limit: int = 40) -> str:
    """A value as the file shows it, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- durations --------------------------------------------------------------------------------

_ZERO = re.compile(r"\s*0+(\.0*)?\s*[smhdSMHD]?\s*")
DURATION_HINT = "Write a duration such as 90s, 15m or 1h."


def duration(value: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, timedelta)):
        raise ValueError(f"expected a duration such as 90s, 15m or 1h, not {short(value)}")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"{exc} {DURATION_HINT}") from exc
    except (OverflowError, ValueError) as exc:  # .inf, .nan, 1e300
        raise ValueError(f"{short(value)} is not a usable duration. {DURATION_HINT}") from exc


def positive_duration(value: Any) -> timedelta:
    is_zero = isinstance(value, str) and _ZERO.fullmatch(value)
    delta = timedelta(0) if is_zero else duration(value)
    if delta <= timedelta(0):
        raise ValueError("must be longer than 0s; write a duration such as 30s or 2m")
    return delta


def duration_or_zero(value: Any) -> timedelta:
    """A duration that may be 0 (``0``, ``0s``, ``0m``): never negative."""
    if isinstance(value, str) and _ZERO.fullmatch(value):
        return timedelta(0)
    delta = duration(value)
    if delta < timedelta(0):
        raise ValueError("must not be negative; write 0s, or a duration such as 10m")
    return delta


def durations(value: Any, example: str = "[24h, 1h]") -> list[timedelta]:
    """A list of positive durations; a single value says that a list is expected."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"expected a list of durations such as {example}, not {short(value)}"
        )
    return [positive_duration(v) for v in value]


# -- languages --------------------------------------------------------------------------------


@cache
def _languages() -> dict[str, str]:
    """Language code -> English name, from the CLDR data Babel ships (ISO 639-1 codes, and
    639-3 codes for the languages that have no two-letter one)."""
    from babel import Locale

    return {
        code: str(name)
        for code, name in Locale("en").languages.items()
        if re.fullmatch(LANGUAGE, code) and code not in _NOT_LANGUAGES
    }


def language_name(code: str) -> str:
    return _languages().get(code, code)


def language(value: str) -> str:
    """A language code the bot, its detector and its translators use: ``en``, ``fr``, ``es``."""
    known = _languages()
    if value in known:
        return value
    if value.lower() in known:
        raise _not_a_code(value, f"write it in lower case: {value.lower()}")
    stem = re.split(r"[-_]", value, maxsplit=1)[0].lower()
    if stem != value.lower() and stem in known:
        raise _not_a_code(value, f"write the language alone: {stem} (regional variants are "
                          "not told apart)")
    by_name = {name.lower(): code for code, name in known.items()}
    if value.strip().lower() in by_name:
        raise _not_a_code(value, f"write its code: {by_name[value.strip().lower()]}")
    raise _not_a_code(value, "use a two-letter ISO 639-1 code such as en, fr or es", "a known")


def _not_a_code(value: str, fix: str, kind: str = "a") -> ValueError:
    return ValueError(f"{short(value)} is not {kind} language code; {fix}")


def timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        fix = f"did you mean {close[0]}?" if close else "use an IANA name such as America/Bogota"
        raise ValueError(f"unknown time zone {short(value)}; {fix}") from exc
    return value


# -- Matrix ids and URLs ----------------------------------------------------------------------


def user_ids(value: list[str]) -> list[str]:
    for user in value:
        if not re.match(USER_ID, user):
            raise ValueError(f"{user!r} is not a Matrix user id such as @alice:example.org")
    return value


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def http_url(value: Any, example: str, default_scheme: str = "https") -> str:
    """An http(s) URL with a host; the message shows the fix with the value given."""
    if not isinstance(value, str):
        raise ValueError(f"expected a URL such as {example}, not {short(value)}")
    text = value.strip()
    if not text:
        raise ValueError(f"is empty; write a URL such as {example}")
    if not _SCHEME.match(text):
        raise ValueError(
            f"{short(value)} has no http:// or https:// in front; write "
            f"{default_scheme}://{text.lstrip(':/')}"
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"{short(value)} is not an http:// or https:// URL such as {example}")
    try:
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"{short(value)} has a port that is not a number; e.g. {example}") \
            from exc
    if not host:
        raise ValueError(f"{short(value)} has no host name; write a URL such as {example}")
    return text
