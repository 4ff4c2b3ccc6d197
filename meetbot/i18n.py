"""The bot's own strings, in every language of the room.

Strings are marked with :func:`_` and kept as :class:`Msg` values (message id plus
parameters) until they are rendered for a reader, so one notice can be shown in each of a
room's languages. A string that holds a count is marked with :func:`ngettext` instead: its
singular and plural source texts and the count, and the reader's language picks the form
by its own plural rule (French says "0 décision", Spanish "0 decisiones"). Catalogues are
the ``.po`` files under ``meetbot/locale``; they are read with Babel when first needed and
turned into :class:`gettext.GNUTranslations` in memory (no compiled ``.mo`` is kept).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "meetbot"
SOURCE_LANGUAGE = "en"
SUPPORTED_LANGUAGES = ("en", "fr", "es")
# The parameter of a plural message that holds its count (and picks its form).
COUNT = "count"

_CODE_SPAN = re.compile(r"`[^`\n]+`")

# What Markdown (Python-Markdown, which renders the bot's notices, and CommonMark alike)
# would read as markup inside a line of text, and how it is made plain again.
_MD_INLINE = re.compile(
    r"""
    (?P<backslash>\\(?=[!-/:-@\[-`{-~]|$))   # a backslash that would escape what follows
    | (?P<code>`)                              # code spans
    | (?P<brackets>[\[\]])                     # links, images, reference definitions
    | (?P<star>(?<!\s)\*|\*(?!\s|$))           # a star touching a word: emphasis
    | (?P<underscore>(?<![^\W_])_|_(?![^\W_]))  # an underscore at a word's edge: emphasis
    | (?P<tag><)                                # HTML, comments, <https://…>, <a@b.c>
    | (?P<entity>&(?=\#|[A-Za-z0-9]+;))        # character references (&copy; &#60;)
    | (?P<closing>\#+(?=\s*$))                 # a heading's closing hashes ("### C#")
    """,
    re.VERBOSE,
)
# What opens a block at the start of a line: a heading, a quote, a list item, a rule.
_MD_LINE_START = re.compile(
    r"^(?P<indent>\s*)(?:(?P<mark>[#>])|(?P<bullet>[-+*])(?=\s|$)|(?P<number>[0-9]{1,9})"
    r"(?P<delim>[.)])(?=\s|$))"
)
_MD_RULE = re.compile(r"^\s*(?P<first>[=\-*_])[=\-*_\s]*$")


def _md_inline(match: re.Match[str]) -> str:
    kind, text = match.lastgroup, match.group(0)
    if kind == "tag":
        return "&lt;"
    if kind == "entity":
        return "&amp;"
    return "".join("\\" + ch for ch in text)


# A line with nothing for the patterns above to find: no character they escape, and no
# block mark, rule or number where the line starts. Most lines people write are like this,
# and this one pattern tells so several times sooner than trying all of the above.
_MD_QUIET = re.compile(r"\s*[^\s#>+*=_0-9\\`\[\]<&-][^\\`\[\]*_<&#]*")


def _md_line(line: str) -> str:
    return line if _MD_QUIET.fullmatch(line) else _md_escape_line(line)


def _md_escape_line(line: str) -> str:
    escaped = _MD_INLINE.sub(_md_inline, line)
    rule = _MD_RULE.match(escaped)
    if rule and rule.group("first") == "=":  # a setext underline: "=" has no escape
        return escaped[: rule.start("first")] + "&#61;" + escaped[rule.end("first") :]
    if rule:
        return escaped[: rule.start("first")] + "\\" + escaped[rule.start("first") :]
    start = _MD_LINE_START.match(escaped)
    if start is None:
        return escaped
    if start.group("number"):
        at = start.start("delim")
    else:
        at = start.start("mark") if start.group("mark") else start.start("bullet")
    return escaped[:at] + "\\" + escaped[at:]


def md_escape(text: str) -> str:
    """Make arbitrary user text inert inside Markdown that is rendered to HTML.

    Only what Markdown would misread is escaped: a star or underscore that could start
    emphasis, backticks, brackets, what looks like HTML or a character reference, and at
    the start of a line a heading, quote, list or rule marker. The rest stays as typed, so
    the Markdown reads as plain text (``Maya (facilitator)``, ``!startmeeting``,
    ``9e02cfbc-8ba3``) and renders the same.
    """
    if "\n" not in text:  # one line, the usual case: what splitting and joining give
        return _md_line(text)
    return "\n".join(_md_line(line) for line in text.split("\n"))


@dataclass(frozen=True)
class Msg:
    """A translatable message: a catalogue id and the values to put in it.

    A plural message also has its plural source text (``plural``); its count is the
    parameter ``count``, which chooses the form and can be shown as ``{count}``.
    """

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None

    def __post_init__(self) -> None:
        if self.plural is not None and not isinstance(self.params.get(COUNT), int):
            raise TypeError(f"a plural message needs a whole-number {COUNT}=: {self.msgid!r}")

    def with_params(self, **params: object) -> Msg:
        """The same message (singular and plural) with other values."""
        return Msg(self.msgid, params, self.plural)

    def template(self, lang: str) -> str:
        """The text to fill in for ``lang``, in the form its count calls for."""
        return _choose(translations(lang), self)

    def render(self, lang: str, escape: Callable[[str], str] | None = None) -> str:
        values = {k: _render_param(v, lang, escape) for k, v in self.params.items()}
        try:
            return self.template(lang).format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: fall back to the source text.
            return _choose(_SOURCE, self).format(**values)


_SOURCE = gettext.NullTranslations()  # English: the source text itself, "n != 1" for plurals


def _choose(translations: gettext.NullTranslations, msg: Msg) -> str:
    if msg.plural is None:
        return translations.gettext(msg.msgid)
    count = msg.params[COUNT]
    assert isinstance(count, int)
    return translations.ngettext(msg.msgid, msg.plural, count)


def _render_param(value: object, lang: str, escape: Callable[[str], str] | None) -> str:
    if type(value) is int and value >= 0:
        return str(value)  # digits, which no escaping changes (an item's number, a count)
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


def ngettext(singular: str, plural: str, count: int, **params: object) -> Msg:
    """Mark a string that holds a count: ``ngettext("{count} decision", "{count} decisions", n)``.

    Babel extracts the first two arguments as ``msgid`` and ``msgid_plural``; each language
    picks its form for ``count`` by the ``Plural-Forms`` rule of its catalogue. The count is
    also the parameter ``{count}``. A sentence with several counts is one message whose
    parameters are plural messages, one per count, so that each agrees with its noun.
    """
    return Msg(singular, {COUNT: count, **params}, plural)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for ``lang`` (the source text for the source language or none).

    Untranslated and fuzzy entries are left out, so their source text is shown.
    """
    po_file = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not po_file.exists():
        return _SOURCE
    with po_file.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    mo = BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


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
