"""The bot's configuration: a YAML file validated by pydantic.

Every error names the file and the key (``config.yaml: regions[0].timezone: ...``), so a
person can fix it without reading code.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from meetbot.core.durations import DurationError, parse_duration

LANGUAGE = r"^[a-z]{2,3}$"
USER_ID = r"^@[^:\s]+:\S+$"
# Room ids of room version 12 have no server part ("!abc"); aliases always do.
ROOM = r"^(![^\s]+|#[^:\s]+:\S+)$"


class ConfigError(Exception):
    """A configuration problem, already phrased for a person."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(f"{exc} Write a duration such as 90s, 15m or 1h.") from exc


_ZERO = re.compile(r"\s*0+(\.0*)?\s*[smhdSMHD]?\s*")


def positive_duration(value: Any) -> timedelta:
    delta = timedelta(0) if isinstance(value, str) and _ZERO.fullmatch(value) else _duration(value)
    if delta <= timedelta(0):
        raise ValueError("must be longer than 0s; write a duration such as 30s or 2m")
    return delta


def _duration_or_zero(value: Any) -> timedelta:
    """A duration that may be 0 (``0``, ``0s``, ``0m``): never negative."""
    if isinstance(value, str) and _ZERO.fullmatch(value):
        return timedelta(0)
    delta = _duration(value)
    if delta < timedelta(0):
        raise ValueError("must not be negative; write 0s, or a duration such as 10m")
    return delta


class ScheduledMeeting(_Strict):
    number: int = Field(ge=1, le=99)
    starts: datetime  # local time in the region's timezone (no offset)
    duration: timedelta = timedelta(minutes=90)
    agenda: str | None = None
    title: str | None = None

    _check_duration = field_validator("duration", mode="before")(_duration)


class RegionConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    room: str = Field(pattern=ROOM)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    timezone: str = "UTC"
    agenda: str = "default"
    meetings: list[ScheduledMeeting] = Field(default_factory=list)
    reminders: list[timedelta] | None = None

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for lang in value:
            if not re.match(LANGUAGE, lang):
                raise ValueError(f"{lang!r} is not a language code such as en, fr or es")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as America/Bogota"
            ) from exc
        return value

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        return None if value is None else [_duration(v) for v in value]

    @model_validator(mode="after")
    def _unique_numbers(self) -> RegionConfig:
        numbers = [m.number for m in self.meetings]
        if len(numbers) != len(set(numbers)):
            raise ValueError("meetings: each meeting needs its own number")
        return self


class CoordinatorConfig(_Strict):
    room: str = Field(pattern=ROOM)
    language: str = Field(default="en", pattern=LANGUAGE)
    users: list[str] = Field(default_factory=list)

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        return _check_user_ids(value)


def _server_url(value: Any) -> str:
    """An http(s) URL with a host, such as ``http://127.0.0.1:5000``."""
    example = "write a URL such as http://127.0.0.1:5000"
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a URL; {example}")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL ({exc}); {example}") from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} has no scheme (http:// or https://); {example}")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host; {example}")
    return value.strip()


ServerURL = Annotated[str, BeforeValidator(_server_url)]


class TranslationConfig(_Strict):
    backend: Literal["argos", "apertium", "libretranslate", "none"] = "argos"
    models_dir: Path | None = None  # default: data_dir/models
    # One LibreTranslate server, or a list of equal servers the bot spreads requests over
    # and fails over between (always a list once read).
    libretranslate_url: list[ServerURL] = Field(default_factory=lambda: ["http://127.0.0.1:5000"])
    api_key: SecretStr | None = None
    display: Literal["reply", "thread", "off"] = "reply"
    mode: Literal["meetings", "always"] = "meetings"
    detection_threshold: float = Field(default=0.6, ge=0, le=1)

    @field_validator("libretranslate_url", mode="before")
    @classmethod
    def _one_or_more_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [_server_url(value)]  # one server: an error names the key itself
        if isinstance(value, list | tuple) and not value:
            raise ValueError("give at least one URL, or one URL without a list")
        return value

    @field_validator("libretranslate_url", mode="after")
    @classmethod
    def _distinct_urls(cls, value: list[str]) -> list[str]:
        seen = [url.rstrip("/") for url in value]
        for url in seen:
            if seen.count(url) > 1:
                raise ValueError(f"{url!r} is listed twice; list each server once")
        return value


class PrivacyConfig(_Strict):
    # Exports carry pseudonyms only, unless this is set on purpose.
    export_matrix_ids: bool = False
    # How long after a meeting people may still withdraw what they said (None: always).
    withdrawal_window: timedelta | None = None

    _check_window = field_validator("withdrawal_window", mode="before")(
        lambda v: None if v is None else _duration(v)
    )


class HealthConfig(_Strict):
    """``/healthz`` and ``/metrics`` over HTTP, inside the bot's process (absent: off)."""

    port: int = Field(default=9108, ge=1, le=65535)
    # Loopback by default: the numbers name rooms. 0.0.0.0 for a scraper in another container.
    host: str = Field(default="127.0.0.1", min_length=1)
    # Unhealthy after this long without a successful sync (default: 3 × the 30s long poll).
    # Keep it well above 30s: an idle bot's sync returns only every 30s.
    max_sync_age: timedelta | None = None

    _check_max_sync_age = field_validator("max_sync_age", mode="before")(
        lambda v: None if v is None else positive_duration(v)
    )


def _check_user_ids(value: list[str]) -> list[str]:
    for user in value:
        if not re.match(USER_ID, user):
            raise ValueError(f"{user!r} is not a Matrix user id such as @alice:example.org")
    return value


class Config(_Strict):
    homeserver: str = Field(pattern=r"^https?://")
    user_id: str = Field(pattern=USER_ID)
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    # The device of access_token, for a homeserver whose whoami does not name it.
    device_id: str | None = Field(default=None, min_length=1)
    device_name: str = "meetbot"
    data_dir: Path = Path("data")
    prompts_dir: Path | None = None
    command_prefix: str = Field(default="!", min_length=1, max_length=3)
    facilitators: list[str] = Field(default_factory=list)
    facilitator_power_level: int = 50
    coordinator: CoordinatorConfig | None = None
    regions: list[RegionConfig] = Field(default_factory=list)
    reminders: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)]
    )
    late_start_grace: timedelta = timedelta(minutes=15)
    # How long `meetbot run` tries to reach the homeserver, log in and sync once before it
    # gives up (exit code 3), naming the homeserver and the error.
    startup_timeout: timedelta = timedelta(minutes=2)
    # Events younger than this that arrive while the bot was down are handled as live when it
    # comes back (translated and answered); older ones are recorded silently.
    catch_up_window: timedelta = timedelta(minutes=10)
    encryption: bool = True
    translation: TranslationConfig = TranslationConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    health: HealthConfig | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Where the file was read from; relative paths in it are resolved against its folder.
    source: Path | None = Field(default=None, exclude=True)

    _check_durations = field_validator("late_start_grace", mode="before")(_duration)
    _check_startup_timeout = field_validator("startup_timeout", mode="before")(
        positive_duration
    )
    _check_catch_up_window = field_validator("catch_up_window", mode="before")(
        _duration_or_zero
    )

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        return [_duration(v) for v in value]

    @field_validator("facilitators")
    @classmethod
    def _facilitators(cls, value: list[str]) -> list[str]:
        return _check_user_ids(value)

    @model_validator(mode="after")
    def _checks(self) -> Config:
        if self.password is None and self.access_token is None:
            raise ValueError(
                "give password or access_token (or set MEETBOT_PASSWORD in the environment)"
            )
        ids = [r.id for r in self.regions]
        if len(ids) != len(set(ids)):
            raise ValueError("regions: two regions share an id; each id must be unique")
        rooms = [r.room for r in self.regions]
        if len(rooms) != len(set(rooms)):
            raise ValueError("regions: two regions share a room; give each region its own room")
        return self

    # -- derived paths ----------------------------------------------------------------
    def _resolve(self, path: Path) -> Path:
        if path.is_absolute() or self.source is None:
            return path
        return (self.source.parent / path).resolve()

    @property
    def data_path(self) -> Path:
        return self._resolve(self.data_dir)

    @property
    def models_path(self) -> Path:
        models = self.translation.models_dir
        return self._resolve(models) if models else self.data_path / "models"

    @property
    def minutes_path(self) -> Path:
        return self.data_path / "minutes"

    @property
    def database_path(self) -> Path:
        return self.data_path / "meetbot.sqlite3"

    @property
    def prompts_path(self) -> Path:
        if self.prompts_dir is not None:
            return self._resolve(self.prompts_dir)
        return find_prompts_dir(self.source.parent if self.source else Path.cwd())

    def region(self, region_id: str) -> RegionConfig | None:
        return next((r for r in self.regions if r.id == region_id), None)


def find_prompts_dir(start: Path) -> Path:
    """``prompts/`` beside the config file, above it, or the one shipped with meetbot."""
    for candidate in (start / "prompts", start.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "prompts"


def format_validation_error(source: str, error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = _location(problem.get("loc", ()))
        message = problem.get("msg", "invalid").removeprefix("Value error, ")
        if problem.get("type") == "extra_forbidden":
            message = "unknown key (check its spelling against config/meetbot.example.yaml)"
        elif problem.get("type") == "missing":
            message = "missing: this key is required"
        elif problem.get("type") == "string_pattern_mismatch":
            message = _pattern_hint(str(problem.get("ctx", {}).get("pattern", "")), problem)
        lines.append(f"{source}: {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _pattern_hint(pattern: str, problem: Any) -> str:
    value = problem.get("input")
    hints = {
        ROOM: "is not a room id or alias such as !abc:example.org or #meetings:example.org",
        USER_ID: "is not a Matrix user id such as @alice:example.org",
        LANGUAGE: "is not a language code such as en, fr or es",
        r"^https?://": "is not a URL such as https://matrix.example.org",
    }
    return f"{value!r} {hints.get(pattern, 'has the wrong form')}"


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_config(path: Path | str, env: dict[str, str] | None = None) -> Config:
    """Read and validate a config file; raise :class:`ConfigError` naming file and key."""
    path = Path(path)
    env = dict(os.environ) if env is None else env
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {exc}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the file must be a mapping of keys (see meetbot.example.yaml)")
    if env.get("MEETBOT_PASSWORD") and not raw.get("password"):
        raw["password"] = env["MEETBOT_PASSWORD"]
    if env.get("MEETBOT_ACCESS_TOKEN") and not raw.get("access_token"):
        raw["access_token"] = env["MEETBOT_ACCESS_TOKEN"]
    if env.get("MEETBOT_HEALTH_PORT") and "health" not in raw:
        # The container image turns health on this way; a `health:` key in the file wins.
        raw["health"] = {"port": env["MEETBOT_HEALTH_PORT"]}
    try:
        config = Config.model_validate({**raw, "source": path.resolve()})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from exc
    return config
