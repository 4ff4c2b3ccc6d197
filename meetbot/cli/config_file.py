"""The config file ``meetbot init`` writes: what a valid answer is, the answers, and the
commented YAML they become (written whole, and only once it loads as a valid config)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from meetbot.config.schema import ROOM, USER_ID, ConfigError, load_config

LANGUAGES = ("en", "fr", "es")
BACKENDS = ("argos", "apertium", "libretranslate", "none")
REGION_ID = r"^[a-z0-9][a-z0-9_-]*$"


# -- what a valid answer is ---------------------------------------------------------------


def homeserver_url(text: str) -> str:
    text = text.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", text):
        raise ValueError(f"{text!r} is not a URL such as https://matrix.example.org")
    return text


def user_id(text: str) -> str:
    text = text.strip()
    if not re.match(USER_ID, text):
        raise ValueError(f"{text!r} is not a Matrix user id such as @alice:example.org")
    return text


def user_ids(text: str) -> list[str]:
    return [user_id(part) for part in re.split(r"[,\s]+", text.strip()) if part]


def room(text: str) -> str:
    text = text.strip()
    if not re.match(ROOM, text):
        raise ValueError(
            f"{text!r} is not a room id or alias such as !abc:example.org or #latam:example.org"
        )
    return text


def region_id(text: str) -> str:
    text = text.strip()
    if not re.match(REGION_ID, text):
        raise ValueError(
            f"{text!r} is not a region id: lower-case letters, digits, - and _ (e.g. latam)"
        )
    return text


def languages(text: str) -> list[str]:
    found = [part for part in re.split(r"[,\s+]+", text.strip().lower()) if part]
    wrong = [lang for lang in found if lang not in LANGUAGES]
    if wrong or not found:
        raise ValueError(
            f"{', '.join(wrong) or 'nothing'}: give languages among {', '.join(LANGUAGES)}, "
            "e.g. es,en (the first is the region's default)"
        )
    if len(set(found)) != len(found):
        raise ValueError(f"{text.strip()!r} names a language twice")
    return found


def language(text: str) -> str:
    found = languages(text)
    if len(found) != 1:
        raise ValueError(f"give one language among {', '.join(LANGUAGES)}")
    return found[0]


def timezone(text: str) -> str:
    text = text.strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; use an IANA name such as America/Bogota or UTC"
        ) from None
    return text


def backend(text: str) -> str:
    text = text.strip().lower()
    if text not in BACKENDS:
        raise ValueError(f"{text!r}: choose one of {', '.join(BACKENDS)}")
    return text


def server_of(user: str) -> str:
    return user.split(":", 1)[1]


# -- the answers ----------------------------------------------------------------------------


@dataclass
class Region:
    id: str
    name: str
    room: str
    languages: list[str]
    timezone: str = "UTC"


@dataclass
class Answers:
    homeserver: str
    user_id: str
    # Exactly one of password / access_token, or neither when the secret comes from the
    # environment (``secret_env`` names the variable).
    password: str | None
    access_token: str | None
    device_id: str | None
    secret_env: str | None
    regions: list[Region]
    coordinator_room: str
    coordinator_users: list[str]
    coordinator_language: str = "en"
    facilitators: list[str] = field(default_factory=list)
    translation: str = "argos"
    data_dir: str = "./data"


# -- the file ----------------------------------------------------------------------------------


def _q(value: str) -> str:
    """A YAML double-quoted scalar (any text stays what it is)."""
    return yaml.safe_dump(value, default_style='"', allow_unicode=True, width=2**16).strip()


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _section(title: str) -> str:
    return f"\n# --- {title} " + "-" * max(3, 86 - len(title))


def render(a: Answers, path: str) -> str:
    """The config file: every key with a comment saying what it is for."""
    out = [
        "# meetbot configuration, written by `meetbot init`. Edit it freely: every key is",
        "# explained here and in config/meetbot.example.yaml (the fully commented example).",
        f"# Check it, then check the rooms:  meetbot check-config --config {path} --online",
        "# Relative paths are resolved against the folder of this file.",
        _section("The bot's Matrix account"),
        "# The homeserver's client-server API URL.",
        f"homeserver: {_q(a.homeserver)}",
        "# The bot's own account (not a person's).",
        f"user_id: {_q(a.user_id)}",
    ]
    if a.password is not None:
        out += ["# Used to log in once: the session (access token and device) is then kept in",
                "# data_dir, so every start reuses the same device and its encryption keys.",
                "# Or leave it out and set MEETBOT_PASSWORD in the environment.",
                f"password: {_q(a.password)}"]
    elif a.access_token is not None:
        out += ["# The access token of a login of the bot's own (not one of Element's sessions:",
                "# that device has encryption keys of its own). Or MEETBOT_ACCESS_TOKEN in the",
                "# environment.",
                f"access_token: {_q(a.access_token)}"]
        if a.device_id:
            out += ["# The token's device, for a homeserver whose whoami does not name it.",
                    f"device_id: {_q(a.device_id)}"]
    else:
        out += [f"# The secret comes from {a.secret_env} in the environment; or write it here:",
                '# password: "..."        or        access_token: "..."']
    out += [
        "# The name of the bot's session, shown in its session list.",
        "device_name: meetbot",
        "# Take part in end-to-end encrypted rooms (keys kept in data_dir/crypto).",
        "encryption: true",
        _section("Where the bot keeps things"),
        "# Database, encryption keys, session, minutes, reports, models. Back it up.",
        f"data_dir: {_q(a.data_dir)}",
        "# Agenda files; default: prompts/ beside or above this file, else meetbot's own.",
        "# prompts_dir: ./prompts",
        _section("Who facilitates"),
        "# What starts a chat command (!startmeeting, !next ...).",
        'command_prefix: "!"',
        "# Facilitators may start and end meetings, walk the agenda and record decisions in",
        "# any room; so may anyone with facilitator_power_level in a room, and a meeting's chairs.",
        f"facilitators: {_list(a.facilitators)}",
        "# The room power level that also makes someone a facilitator (50: moderators).",
        "facilitator_power_level: 50",
        _section("The research coordinator"),
        "# Receives each meeting's summary and minutes, and the report across regions.",
        "coordinator:",
        "  # Room id (!abc...) or alias (#name:server); the bot must be invited there.",
        f"  room: {_q(a.coordinator_room)}",
        "  # The language of summaries and reports: en, fr or es.",
        f"  language: {a.coordinator_language}",
        "  # May invite the bot and run reports.",
        f"  users: {_list(a.coordinator_users)}",
        _section("The regions: one room each"),
        "# id: stable, used in reports and exports; room: id or alias (invite the bot there);",
        "# languages: what the bot posts in, the first is the default; timezone: IANA name,",
        "# meeting times are local to it; agenda: a file in prompts/ (default.yaml).",
        "regions:",
    ]
    for region in a.regions:
        out += [
            f"  - id: {region.id}",
            f"    name: {_q(region.name)}",
            f"    room: {_q(region.room)}",
            f"    languages: [{', '.join(region.languages)}]",
            f"    timezone: {_q(region.timezone)}",
            "    agenda: default",
            "    # Scheduled meetings (local time): the bot reminds, opens and closes them.",
            "    # meetings:",
            "    #   - {number: 1, starts: 2027-01-15T18:00, duration: 90m}",
        ]
    out += [
        _section("Timing"),
        "# Reminders before each scheduled meeting (durations: 90s, 15m, 1h, 1d).",
        "reminders: [24h, 1h]",
        "# If the bot was down when a meeting should start, it still opens it this late.",
        "late_start_grace: 15m",
        "# Messages sent while the bot was down and younger than this when it comes back are",
        "# answered and translated; older ones are recorded silently.",
        "catch_up_window: 10m",
        "# How long `meetbot run` tries to reach the homeserver, log in and sync once.",
        "startup_timeout: 2m",
        _section("Live translation (docs/translation.md)"),
        "translation:",
        "  # argos (offline models: meetbot models install en es fr) | apertium |",
        "  # libretranslate (a server, or a list of them: libretranslate_url, api_key) |",
        "  # none (record only).",
        f"  backend: {a.translation}",
        "  # reply (a notice replying to each message) | thread | off (record, post nothing).",
        "  display: reply",
        "  # meetings: translate only while a meeting runs | always.",
        "  mode: meetings",
        "  # Below this confidence of language detection, the region's first language is assumed.",
        "  detection_threshold: 0.6",
        _section("Privacy (docs/research.md)"),
        "privacy:",
        "  # Exports carry pseudonyms (P-7F3A) unless this is true.",
        "  export_matrix_ids: false",
        "  # How long after a meeting people may withdraw; default: always.",
        "  # withdrawal_window: 30d",
        "",
        "# DEBUG | INFO | WARNING | ERROR",
        "log_level: INFO",
        "# text | json (one JSON object per line, for a log collector)",
        "log_format: text",
    ]
    return "\n".join(out) + "\n"


def write_config(path: Path, text: str, env: dict[str, str]) -> None:
    """Write ``text`` to ``path`` (mode 0600: it may hold a secret) if it is a valid config;
    a complete file or none, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.init-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            load_config(tmp, env=env)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(tmp), str(path))) from None
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
