"""The glossary file (``translation.glossary``): terms kept verbatim and fixed translations.

```yaml
keep:                       # names kept as written in every language
  - Guifi.net
terms:                      # one entry per term: how it is written in each language
  - en: community network
    es: red comunitaria
    fr: réseau communautaire
  - source: mesh            # looked for in any language (a term added from a room)
    es: malla
```

A problem is one line naming the config file, the key and the glossary file (with the line,
or the entry, in it), like every config error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from meetbot.config.files import ConfigError, read_yaml
from meetbot.config.messages import format_validation_error
from meetbot.config.values import LANGUAGE

KEY = "translation.glossary"
EXAMPLE = "config/glossary.example.yaml"
SOURCE = "source"  # an entry's term looked for whatever the text's language
MAX_TERM = 200


def term_problem(text: str) -> str | None:
    """What is wrong with a term's text as a glossary holds it (None: nothing)."""
    if not text.strip():
        return "must not be empty"
    if "\n" in text.strip():
        return "must be on one line"
    if len(text) > MAX_TERM:
        return f"is too long: at most {MAX_TERM} characters"
    if not any(ch.isalnum() for ch in text):
        return "has no letter or digit: nothing to find in a text"
    return None


def _term(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected the term's text, not {value!r} (put it in quotes)")
    problem = term_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return " ".join(value.split())


def _entry(entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise ValueError(
            f"expected lines such as 'en: community network' and 'es: red comunitaria', not "
            f"{entry!r}"
        )
    out: dict[str, str] = {}
    for lang, text in entry.items():
        if lang != SOURCE and not (isinstance(lang, str) and re.match(LANGUAGE, lang)):
            raise ValueError(
                f"{lang!r} is not a language code such as en, fr or es (or {SOURCE}: for a "
                "term looked for in a text of any language)"
            )
        try:
            out[lang] = _term(text)
        except ValueError as exc:
            raise ValueError(f"{lang}: {exc}") from None
    if len(out) < 2 or list(out) == [SOURCE]:
        raise ValueError(
            "give the term in one language and its translation in another (en: community "
            "network, es: red comunitaria); a name kept as written goes under keep:"
        )
    return out


class GlossaryFile(BaseModel):
    """What the file holds; ``terms`` entries map a language code (or ``source``) to text."""

    model_config = ConfigDict(extra="forbid")
    keep: list[Annotated[str, BeforeValidator(_term)]] = []
    terms: list[Annotated[dict[str, str], BeforeValidator(_entry)]] = []

    @field_validator("keep", "terms", mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        return [] if value is None else value


def read_glossary(path: Path, config_file: Path | str | None = None) -> GlossaryFile:
    """The glossary file at ``path``; a :class:`ConfigError` naming the config file, the key
    and the glossary file otherwise."""
    where = f"{config_file}: {KEY}: " if config_file else f"{KEY}: "
    try:
        raw = read_yaml(path, missing=f"write one (see {EXAMPLE}) or fix the path")
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from exc
    if raw is None:
        return GlossaryFile()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}{path}: expected 'keep:' and 'terms:' lines, see {EXAMPLE}")
    try:
        return GlossaryFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(f"{where}{path}", exc, GlossaryFile, example=EXAMPLE)
        ) from exc


def dump_glossary(glossary: GlossaryFile) -> str:
    """The glossary as a file people can read and edit (keys in a stable order)."""
    header = (
        "# The translation glossary (translation.glossary; see docs/translation.md).\n"
        "# keep: names kept as written in every language.\n"
        "# terms: one entry per term, how it is written in each language; 'source:' is a\n"
        "# term looked for in a text of any language.\n"
    )
    data: dict[str, Any] = {}
    if glossary.keep:
        data["keep"] = list(glossary.keep)
    if glossary.terms:
        data["terms"] = [dict(entry) for entry in glossary.terms]
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100) if data else ""
    return header + body


def merged(glossary: GlossaryFile, room_terms: list[tuple[str, str, str]]) -> GlossaryFile:
    """The file's glossary with the rooms' terms ``(source, lang, target)`` written in: a name
    kept joins ``keep``; a fixed translation joins the entry that already has those words
    (in any language), else a new ``source:`` entry; a room's translation replaces the file's
    for the same words and language."""
    keep = list(glossary.keep)
    terms = [dict(entry) for entry in glossary.terms]
    for source, lang, target in room_terms:
        folded = source.casefold()
        if not lang:
            if all(name.casefold() != folded for name in keep):
                keep.append(source)
            continue
        entry = next((e for e in terms if any(t.casefold() == folded for t in e.values())),
                     None)
        if entry is None:
            terms.append({SOURCE: source, lang: target})
        else:
            entry[lang] = target
    return GlossaryFile(keep=keep, terms=terms)
