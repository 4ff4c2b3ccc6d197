"""Agenda files: ``prompts/NAME.yaml``, an ordered list of prompts in en, fr and es."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from meetbot.config.files import ConfigError, read_yaml
from meetbot.config.messages import format_validation_error
from meetbot.config.values import PROMPT_ID, positive_duration
from meetbot.core.model import Agenda, Prompt


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=PROMPT_ID)
    text: dict[str, str] = Field(min_length=1)
    timebox: timedelta | None = None

    @field_validator("timebox", mode="before")
    @classmethod
    def _timebox(cls, value: Any) -> Any:
        return None if value is None else positive_duration(value)


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
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in prompts_dir.glob("*.yaml"))) or "none"
        raise ConfigError(f"{path}: no such agenda file (agendas in {prompts_dir}: {known})")
    raw = read_yaml(path)
    try:
        parsed = _AgendaFile.model_validate(raw or {})
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(str(path), exc, _AgendaFile, "prompts/default.yaml")
        ) from exc
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
