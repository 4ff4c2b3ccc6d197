"""The bot's configuration: a YAML file validated by pydantic.

Every error names the file and the key (``config.yaml: regions[0].timezone: ...``), so a
person can fix it without reading code.
"""

from __future__ import annotations

import os
import typing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from meetbot.config import values
from meetbot.config.files import ConfigError, read_yaml
from meetbot.config.messages import format_validation_error
from meetbot.config.values import REGION_ID, ROOM, USER_ID, AtKey, positive_duration

# The example config's password: a copied example must not reach the homeserver with it.
PLACEHOLDER_PASSWORD = "change me"
HOMESERVER_EXAMPLE = "https://matrix.example.org"
LIBRETRANSLATE_EXAMPLE = "http://127.0.0.1:5000"


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LOG_LEVELS = typing.get_args(LogLevel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduledMeeting(_Strict):
    number: int = Field(ge=1, le=99)
    starts: datetime  # local time in the region's timezone (no offset)
    duration: timedelta = timedelta(minutes=90)
    agenda: str | None = None
    title: str | None = None

    _check_duration = field_validator("duration", mode="before")(positive_duration)


class RegionConfig(_Strict):
    id: str = Field(pattern=REGION_ID)
    name: str
    room: str = Field(pattern=ROOM)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    timezone: str = "UTC"
    agenda: str = "default"
    meetings: list[ScheduledMeeting] = Field(default_factory=list)
    reminders: list[timedelta] | None = None
    # Written answers: each scheduled meeting's prompts open this long before its start and
    # stay open this long after its end (None: off).
    async_window: timedelta | None = None

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for index, lang in enumerate(value):
            values.language(lang)
            if lang in value[:index]:
                raise ValueError(f"{lang!r} is listed twice; list each language once")
        return value

    _check_timezone = field_validator("timezone")(values.timezone)

    @field_validator("async_window", mode="before")
    @classmethod
    def _async_window(cls, value: Any) -> Any:
        return None if value is None else values.positive_duration(value)

    @field_validator("reminders", mode="before")
    @classmethod
    def _reminders(cls, value: Any) -> Any:
        return None if value is None else values.durations(value)

    @model_validator(mode="after")
    def _unique_numbers(self) -> RegionConfig:
        numbers = [m.number for m in self.meetings]
        for index, number in enumerate(numbers):
            if number in numbers[:index]:
                raise AtKey(f"meetings[{index}].number",
                            f"{number} is already the number of meetings[{numbers.index(number)}]; "
                            "give each meeting its own number")
        return self


class CoordinatorConfig(_Strict):
    room: str = Field(pattern=ROOM)
    language: str = "en"
    users: list[str] = Field(default_factory=list)

    _check_language = field_validator("language")(values.language)
    _check_users = field_validator("users")(values.user_ids)


def _server_url(value: Any) -> str:
    """A LibreTranslate server's http(s) URL with a host, such as ``http://127.0.0.1:5000``."""
    return values.http_url(value, LIBRETRANSLATE_EXAMPLE, default_scheme="http")


ServerURL = Annotated[str, BeforeValidator(_server_url)]


class TranslationConfig(_Strict):
    backend: Literal["argos", "apertium", "libretranslate", "none"] = "argos"
    models_dir: Path | None = None  # default: data_dir/models
    # One LibreTranslate server, or a list of equal servers the bot spreads requests over
    # and fails over between (always a list once read).
    libretranslate_url: list[ServerURL] = Field(
        default_factory=lambda: [LIBRETRANSLATE_EXAMPLE]
    )
    api_key: SecretStr | None = None
    display: Literal["reply", "thread", "off"] = "reply"
    mode: Literal["meetings", "always"] = "meetings"
    detection_threshold: float = Field(default=0.6, ge=0, le=1)
    # Terms kept verbatim and fixed translations (YAML; config/glossary.example.yaml).
    glossary: Path | None = None
    # !check: a round trip scoring below this (chrF, 0-100) gets a hint; with !check auto,
    # only such messages are sent to their author.
    check_threshold: float = Field(default=70, ge=0, le=100)
    # argos: CTranslate2 threads per batch (None: all cores but one, at least one).
    argos_threads: int | None = Field(default=None, ge=1, le=256)

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
        lambda v: None if v is None else positive_duration(v)
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


class SiteConfig(_Strict):
    """The network's web space (``meetbot site``), rebuilt after each meeting and withdrawal."""

    out: Path


class Config(_Strict):
    homeserver: str
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
    site: SiteConfig | None = None
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Where the file was read from; relative paths in it are resolved against its folder.
    source: Path | None = Field(default=None, exclude=True)

    _check_durations = field_validator("late_start_grace", mode="before")(
        values.duration_or_zero
    )
    _check_startup_timeout = field_validator("startup_timeout", mode="before")(
        positive_duration
    )
    _check_catch_up_window = field_validator("catch_up_window", mode="before")(
        values.duration_or_zero
    )
    _check_reminders = field_validator("reminders", mode="before")(values.durations)
    _check_facilitators = field_validator("facilitators")(values.user_ids)

    @field_validator("homeserver", mode="before")
    @classmethod
    def _homeserver(cls, value: Any) -> str:
        return values.http_url(value, HOMESERVER_EXAMPLE)

    @field_validator("password", "access_token", mode="before")
    @classmethod
    def _secret(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        env = "MEETBOT_PASSWORD" if info.field_name == "password" else "MEETBOT_ACCESS_TOKEN"
        what = "password" if info.field_name == "password" else "access token"
        if not value.strip():
            raise ValueError(f"is empty; write the bot's {what} here, or delete the line and "
                             f"set {env} in the environment")
        if info.field_name == "password" and value.strip().lower() == PLACEHOLDER_PASSWORD:
            raise ValueError(f"{value!r} is the example's placeholder; write the bot's real "
                             f"password here, or delete the line and set {env} in the "
                             "environment")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
            return value.strip().upper()
        return value

    @model_validator(mode="after")
    def _checks(self) -> Config:
        if self.password is None and self.access_token is None:
            raise AtKey("password", "missing: write the bot's password here (or its "
                        "access_token), or set MEETBOT_PASSWORD in the environment")
        for key in ("id", "room"):
            seen: dict[str, int] = {}
            for index, region in enumerate(self.regions):
                value = getattr(region, key)
                if value in seen:
                    raise AtKey(f"regions[{index}].{key}",
                                f"{value!r} is already the {key} of regions[{seen[value]}]; "
                                f"give each region its own {key}")
                seen[value] = index
        folders = {"data_dir": self.data_path}
        if self.translation.models_dir is not None:
            folders["translation.models_dir"] = self.models_path
        if self.prompts_dir is not None:
            folders["prompts_dir"] = self.prompts_path
        for key, folder in folders.items():
            blocker = _file_in_the_way(folder)
            if blocker is not None:
                said = "is a file" if blocker == folder else f"is inside a file ({blocker})"
                raise AtKey(key, f"{folder} {said}; {key} must name a folder (meetbot creates "
                            "it if it is missing)")
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
    def glossary_path(self) -> Path | None:
        glossary = self.translation.glossary
        return self._resolve(glossary) if glossary is not None else None

    @property
    def minutes_path(self) -> Path:
        return self.data_path / "minutes"

    @property
    def site_path(self) -> Path | None:
        return self._resolve(self.site.out) if self.site is not None else None

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


def _file_in_the_way(folder: Path) -> Path | None:
    """The file that stands where ``folder`` (or one of the folders above it) should be."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None


def find_prompts_dir(start: Path) -> Path:
    """``prompts/`` beside the config file, above it, or the one shipped with meetbot."""
    for candidate in (start / "prompts", start.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "prompts"


def load_config(path: Path | str, env: dict[str, str] | None = None) -> Config:
    """Read and validate a config file; raise :class:`ConfigError` naming file and key."""
    path = Path(path)
    env = dict(os.environ) if env is None else env
    raw = read_yaml(path, missing=(
        "give the config file with --config FILE (or MEETBOT_CONFIG), or copy "
        f"config/meetbot.example.yaml to {path} and edit it"
    ))
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected 'key: value' lines (homeserver:, user_id:, ...), not "
            f"{'a list' if isinstance(raw, list) else 'a single value'}; "
            "see config/meetbot.example.yaml"
        )
    if env.get("MEETBOT_PASSWORD") and not raw.get("password"):
        raw["password"] = env["MEETBOT_PASSWORD"]
    if env.get("MEETBOT_ACCESS_TOKEN") and not raw.get("access_token"):
        raw["access_token"] = env["MEETBOT_ACCESS_TOKEN"]
    if env.get("MEETBOT_HEALTH_PORT") and "health" not in raw:
        # The container image turns health on this way; a `health:` key in the file wins.
        raw["health"] = {"port": env["MEETBOT_HEALTH_PORT"]}
    if "password" not in raw and "access_token" not in raw and "MEETBOT_PASSWORD" in env:
        # Set, but empty: docker compose passes ${MEETBOT_PASSWORD:-} when .env lacks it.
        raise ConfigError(
            f"{path}: password: missing, and MEETBOT_PASSWORD is empty in the environment; "
            "give it a value (docker compose: in the .env file beside docker-compose.yml), or "
            f"write password: in {path}"
        )
    try:
        config = Config.model_validate({**raw, "source": path.resolve()})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc, Config)) from exc
    if config.glossary_path is not None:  # read now: a mistake in it stops the start
        from meetbot.config.glossary import read_glossary

        read_glossary(config.glossary_path, path)
    return config
