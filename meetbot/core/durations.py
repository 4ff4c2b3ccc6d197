"""Durations as people write them in config and commands: ``90s``, ``10m``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationError(ValueError):
    pass


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Parse ``"90m"``, ``"1h30m"``, ``"45s"``; a bare number counts as minutes."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(minutes=value)
    text = value.strip().lower().replace(" ", "")
    if not text:
        raise DurationError("No duration given.")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(minutes=float(text))
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or seconds <= 0:
        raise DurationError(f"{value!r} is not a duration.")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    total = round(delta.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{seconds:02d}s" if seconds else f"{sign}{minutes}m"
    return f"{sign}{seconds}s"
