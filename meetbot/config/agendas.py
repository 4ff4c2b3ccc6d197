"""Agenda files: ``prompts/NAME.yaml``, an ordered list of prompts in en, fr and es."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from meetbot.config.schema import ConfigError, format_validation_error
from meetbot.core.durations import DurationError, parse_duration
from meetbot.core.model import Agenda, Prompt


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    text: dict[str, str] = Field(min_length=1)
    timebox: timedelta | None = None

    @field_validator("timebox", mode="before")
    @classmethod
    def _timebox(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise ValueError(f"{exc} Write a duration such as 90s, 15m or 1h.") from exc


class _AgendaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    title: dict[str, str] = Field(default_factory=dict)
    on_timebox_end: Literal["ask", "advance"] = "ask"
    prompts: list[_PromptFile] = Field(min_length=1)

    @field_validator("prompts")
    @classmethod
    def _unique(cls, value: list[_PromptFile]) -> list[_PromptFile]:
        ids = [p.id for p in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"prompt ids must be unique; repeated: {', '.join(dupes)}")
        return value


def load_agenda(prompts_dir: Path, name: str) -> Agenda:
    path = prompts_dir / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        known = ", ".join(sorted(p.stem for p in prompts_dir.glob("*.yaml"))) or "none"
        raise ConfigError(
            f"{path}: no such agenda file (agendas in {prompts_dir}: {known})"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        parsed = _AgendaFile.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(str(path), exc)) from exc
    if parsed.id is not None and parsed.id != name:
        raise ConfigError(
            f"{path}: id: {parsed.id!r} must match the file name ({name!r}); meetings refer "
            "to their agenda by it"
        )
    return Agenda(
        id=name,
        title=parsed.title or {"en": name},
        prompts=tuple(Prompt(p.id, dict(p.text), p.timebox) for p in parsed.prompts),
        on_timebox_end=parsed.on_timebox_end,
    )


class AgendaLibrary:
    """Agendas by name, loaded once from the prompts folder."""

    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self._cache: dict[str, Agenda] = {}

    def get(self, name: str) -> Agenda:
        if name not in self._cache:
            self._cache[name] = load_agenda(self.prompts_dir, name)
        return self._cache[name]
