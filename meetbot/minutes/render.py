"""Rendering the minutes document as Markdown and HTML files (the chat summaries are in
:mod:`meetbot.minutes.summaries`).

Each output reads only the JSON document from :mod:`meetbot.minutes.document`. User text is
escaped by default in both template formats: HTML by Jinja's autoescape, Markdown by a
``finalize`` hook, so a template that forgets a filter stays safe.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from meetbot.core.durations import format_duration
from meetbot.core.mentions import with_names
from meetbot.i18n import md_escape
from meetbot.minutes.labels import LABELS, label
from meetbot.minutes.log_lines import HtmlLog, MarkdownLog, markdown_printer
from meetbot.minutes.text import md_text, media_url, moment_text, safe_url

UNASSIGNED = "UNASSIGNED"  # the actions group for nobody; no Matrix user id looks like this

if TYPE_CHECKING:
    from jinja2 import Environment


# Names, labels and times come back line after line, and every text again in each
# language's minutes of the same document (see :func:`new_document`).
_md_printed = functools.lru_cache(maxsize=8192)(md_text)
_md_print = markdown_printer(_md_printed)


def _md_finalize(value: object) -> object:
    """Escape every value a Markdown template prints unless it was made safe on purpose."""
    return Markup(_md_print(value))


def new_document() -> None:
    """Forget what the last document's rendering kept: a document's minutes in several
    languages share it, and nothing is kept from one document to the next."""
    _md_printed.cache_clear()
    _clock.cache_clear()
    _link.cache_clear()


def _md_inline(text: str) -> str:
    """Escape text that sits inside one line (a heading, a label): line breaks become spaces."""
    return md_escape(" ".join(text.split()))


@functools.cache
def _environment(markdown: bool) -> Environment:
    """The template environment (built when a first document is rendered: Jinja2 stays off
    the bot's start path)."""
    from jinja2 import PackageLoader, StrictUndefined, select_autoescape

    from meetbot.minutes.fast_jinja import QuickEnvironment as Environment

    loader = PackageLoader("meetbot.minutes", "templates")
    if markdown:
        return Environment(
            loader=loader,
            autoescape=False,
            finalize=_md_finalize,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    return Environment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# -- what the templates can call -------------------------------------------------------


class Helpers:
    """What a template may call while rendering one document for one reader."""

    def __init__(self, data: Mapping[str, Any], language: str, markdown: bool) -> None:
        self.data = data
        self.language = language
        self.markdown = markdown
        self.start_date = str(data["started_at"])[:10]
        self._labels: dict[tuple[object, ...], str] = {}

    def t(self, key: str, **params: object) -> str:
        """A label in the reader's language, its parameters escaped for this format."""
        cache_key = (key, *params.items())
        try:
            return self._labels[cache_key]
        except KeyError:
            text = self._labels[cache_key] = self._label(key, **params)
        except TypeError:  # a parameter that cannot be a key
            text = self._label(key, **params)
        return text

    def _label(self, key: str, **params: object) -> str:
        if self.markdown:
            return Markup(label(key, **params).render(self.language, _md_inline))
        # Plain text: the HTML autoescape escapes label and parameters together.
        return label(key, **params).render(self.language)

    def clock(self, iso: str) -> str:
        """Local time of a line; with its date once the meeting has run past midnight."""
        return _clock(iso, self.start_date)

    def href(self, url: str | None) -> str | None:
        # Checked again here: the document may have been loaded back from a file.
        return _link(url) if url else None

    def media(self, url: str | None) -> str | None:
        """A shared file's ``mxc://`` address, checked again, ready to link."""
        checked = media_url(url)
        return Markup(checked) if checked else None

    def field(self, key_or_text: str) -> str:
        """A label followed by a colon as the reader's language writes it ("Région :")."""
        name = label(key_or_text) if key_or_text in LABELS else str(key_or_text)
        return self.t("field", name=name)

    def original(self, language: str | None) -> str:
        """What introduces an original beside its translation: "original (es):"."""
        if language:
            return self.t("original_in", language=language)
        return self.field("original")

    def ref(self, item: Mapping[str, Any]) -> str:
        """How the minutes name an item: a prompt by its place in the agenda ("Prompt 2/3",
        as the room saw it announced), any other item by its number ("Action #2")."""
        if item.get("prompt_number"):
            return self.t("prompt_place", number=item["prompt_number"],
                          total=item["prompt_total"])
        text = f"{self.t(item['kind'])} #{item['n']}"
        return Markup(text) if self.markdown else text

    def named(self, text: str) -> str:
        """User text with the people it mentions shown by name ("Sam", not the id)."""
        return with_names(text, self.data.get("names") or {})

    def translated(self, entry: Mapping[str, Any], text: str) -> str | None:
        """The reader's translation when it says something other than the original."""
        if entry.get("language") == self.language:
            return None
        translation = (entry.get("translations") or {}).get(self.language)
        if not translation or translation.strip() == text.strip():
            return None
        return str(translation)

    def corrected(self, entry: Mapping[str, Any]) -> bool:
        """Whether the reader's translation is a person's (a !fix), not the machine's."""
        return (entry.get("translation_sources") or {}).get(self.language) == "human"


@functools.lru_cache(maxsize=8192)  # each reply's link, again in every language's minutes
def _link(url: str) -> Markup | None:
    checked = safe_url(url)
    return Markup(checked) if checked else None


@functools.lru_cache(maxsize=8192)  # each line's time, again in every language's minutes
def _clock(iso: str, start_date: str) -> Markup:
    if len(iso) >= 16 and iso[10] == "T" and iso[13] == ":":  # as the document writes it
        day, time = iso[:10], iso[11:16]
    else:
        at = datetime.fromisoformat(iso)
        day, time = at.date().isoformat(), f"{at:%H:%M}"
    return Markup(time if day == start_date else f"{day} {time}")


def duration_text(seconds: int | None) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds is not None else ""


# Bot-made text for the templates: digits, dashes and colons, safe in both formats.
def _duration(seconds: int | None) -> Markup:
    return Markup(duration_text(seconds))


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _dates_whole(text: str) -> Markup:
    """HTML text, escaped, in which each ISO date is kept on one line."""
    return Markup(_DATE.sub(lambda m: f'<span class="date">{m.group(0)}</span>',
                            str(escape(text))))


def _context(data: Mapping[str, Any], language: str, markdown: bool) -> dict[str, Any]:
    helpers = Helpers(data, language, markdown)
    items_by_n = {item["n"]: item for item in data["items"]}
    log: MarkdownLog | HtmlLog
    if markdown:
        log = MarkdownLog(helpers, items_by_n, _md_print)
        made_in_python: dict[str, Any] = {"log": log, "beside": log.beside}
    else:
        log = HtmlLog(helpers, items_by_n)
        made_in_python = {"log": log, "beside": log.beside, "user_text": log.user_text}
    return {
        "data": data,
        "language": language,
        "items_by_n": items_by_n,
        "unassigned": UNASSIGNED,
        "t": helpers.t,
        "clock": helpers.clock,
        "href": helpers.href,
        "translated": helpers.translated,
        "corrected": helpers.corrected,
        "named": helpers.named,
        "ref": helpers.ref,
        "field": helpers.field,
        "original": helpers.original,
        "when": moment_text,
        "duration": _duration,
        "media": helpers.media,
        "dates_whole": _dates_whole,
        **made_in_python,
    }


def render_template(name: str, context: Mapping[str, Any], *, markdown: bool) -> str:
    """Render one of the package's templates with this module's escaping rules."""
    return _environment(markdown).get_template(name).render(dict(context))


def render_markdown(data: Mapping[str, Any], language: str) -> str:
    """The minutes as Markdown, headings in ``language``; user text cannot become markup."""
    return _environment(True).get_template("minutes.md.j2").render(
        _context(data, language, markdown=True)
    )


def render_html(data: Mapping[str, Any], language: str) -> str:
    """The minutes as one self-contained HTML page, headings in ``language``."""
    return _environment(False).get_template("minutes.html.j2").render(
        _context(data, language, markdown=False)
    )
