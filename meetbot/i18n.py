"""The bot's own strings, in every language of the room.

Strings are marked with :func:`_` and kept as :class:`Msg` values (message id plus
parameters) until they are rendered for a reader, so one notice can be shown in each of a
room's languages. Catalogues are the ``.po`` files under ``meetbot/locale`` (Babel reads
them directly, so no compiled ``.mo`` is needed at run time).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "meetbot"
SOURCE_LANGUAGE = "en"
SUPPORTED_LANGUAGES = ("en", "fr", "es")

_CODE_SPAN = re.compile(r"`[^`\n]+`")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_escape(text: str) -> str:
    """Make arbitrary user text inert inside Markdown that is rendered to HTML."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


@dataclass(frozen=True)
class Msg:
    """A translatable message: a catalogue id and the values to put in it."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: str, escape: Callable[[str], str] | None = None) -> str:
        template = translation_table(lang).get(self.msgid) or self.msgid
        values = {k: _render_param(v, lang, escape) for k, v in self.params.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: fall back to the source text.
            return self.msgid.format(**values)


def _render_param(value: object, lang: str, escape: Callable[[str], str] | None) -> str:
    if isinstance(value, Msg):
        return value.render(lang, escape)
    if isinstance(value, Verbatim):
        return value.text
    if isinstance(value, tuple):
        return ", ".join(_render_param(v, lang, escape) for v in value)
    if isinstance(value, Pill):
        if escape is None:
            return value.name
        return f"[{escape(value.name)}](https://matrix.to/#/{quote(value.user_id, safe='@:')})"
    if isinstance(value, Localized):
        text = value.pick(lang)
        return escape(text) if escape else text
    if isinstance(value, Code):
        return f"`{value.text}`" if escape else value.text
    text = str(value)
    if escape and _CODE_SPAN.fullmatch(text):
        # A value that is one code span (e.g. "`!optout`"): Markdown shows it as is, and
        # escapes any HTML inside by itself.
        return text
    return escape(text) if escape else text


@dataclass(frozen=True)
class Verbatim:
    """A parameter that is already safe Markdown (built by the bot, not typed by a person)."""

    text: str


def _(msgid: str, **params: object) -> Msg:
    """Mark a string for translation (Babel extracts the first argument)."""
    return Msg(msgid, params)


@cache
def translation_table(lang: str) -> Mapping[str, str]:
    """Message id -> translated text for ``lang`` (empty for the source language)."""
    po_file = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not po_file.exists():
        return {}
    with po_file.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
    }


def render_lines(lines: Iterable[Msg | str], lang: str, escape: bool = False) -> str:
    esc = md_escape if escape else None
    out = []
    for line in lines:
        if isinstance(line, Msg):
            out.append(line.render(lang, esc))
        else:
            out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class Localized:
    """Text authored in several languages (an agenda prompt); picks the reader's language."""

    texts: Mapping[str, str]

    def pick(self, lang: str) -> str:
        return self.texts.get(lang) or self.texts.get(SOURCE_LANGUAGE) or next(
            iter(self.texts.values()), ""
        )


@dataclass(frozen=True)
class Pill:
    """A person named in a notice: a mention pill in HTML, their name in plain text."""

    user_id: str
    name: str


@dataclass(frozen=True)
class Code:
    """A command or identifier shown as a code span (no Markdown escaping inside)."""

    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", self.text.replace("`", "'"))
