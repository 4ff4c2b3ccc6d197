"""The minutes' log, line after line, and a text beside its translation, written in Python
for both templates.

The log is most of a minutes file: a 2,000-message meeting has some 2,200 lines in each of
four files (Markdown and HTML in two languages). As Jinja macros (a line, its reply, its
shared file, its text beside its translation) each line cost five macro calls, and they were
most of the time the minutes took. The templates now print the log in one piece, made here,
and call :meth:`_Log.beside` (and in HTML :meth:`HtmlLog.user_text`) for their other texts,
with the same output byte for byte (the golden minutes in ``tests/golden/demo`` and the
hostile-input tests hold it) and the same escaping rules as the templates:

- HTML: every value escaped as autoescape would (``markupsafe.escape``), user text in
  ``dir="auto"`` spans;
- Markdown: every value as the Markdown ``finalize`` hook prints it
  (:func:`markdown_printer`), so user text cannot become markup.

Bot-made pieces (a label from ``t``, a time from ``clock``, a checked link) come from the
template's own helpers and are already safe in their format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from markupsafe import Markup, escape

from meetbot.minutes.text import file_size

Entry = Mapping[str, Any]


class Helpers(Protocol):
    """What the log needs of the template's helpers (``render.Helpers``)."""

    language: str

    def t(self, key: str, **params: object) -> str: ...
    def clock(self, iso: str) -> str: ...
    def href(self, url: str | None) -> str | None: ...
    def media(self, url: str | None) -> str | None: ...
    def named(self, text: str) -> str: ...
    def translated(self, entry: Entry, text: str) -> str | None: ...
    def corrected(self, entry: Entry) -> bool: ...
    def original(self, language: str | None) -> str: ...
    def ref(self, item: Entry) -> str: ...

# What a log line of these kinds starts with: no words, so no translation is needed.
MSGTYPE_MARKS = {
    "m.image": "🖼", "m.file": "📎", "m.audio": "🔊", "m.video": "🎞", "m.sticker": "🏷",
    "m.poll": "📊", "m.location": "📍",
}

_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;",
                               '"': "&#34;"})


def html(value: object) -> str:
    """``str(markupsafe.escape(value))``, sooner for the usual plain string."""
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
            return text.translate(_HTML_ESCAPES)
        return text
    if kind is Markup:  # already safe
        return str.__str__(value)  # type: ignore[arg-type]
    if kind is int:  # digits
        return int.__repr__(value)  # type: ignore[arg-type]
    return str(escape(value))


class _Log:
    """The log of one document for one reader, in one format."""

    def __init__(self, helpers: Helpers, items_by_n: Mapping[int, Entry],
                 out: Callable[[object], str]) -> None:
        self.h = helpers
        self.items_by_n = items_by_n
        self.out = out  # how the template prints a value: {{ value }}
        self._labels: dict[str, str] = {}

    def label(self, key: str) -> str:
        """A label without parameters, printed: the same on every line, so made once."""
        printed = self._labels.get(key)
        if printed is None:
            printed = self._labels[key] = self.out(self.h.t(key))
        return printed

    def line(self, line: Entry) -> str:
        raise NotImplementedError

    def __call__(self, log: Iterable[Entry]) -> Markup:
        line = self.line
        return Markup("".join([line(entry) for entry in log]))

    def beside(self, entry: Entry, text: str) -> Markup:
        """User text and, when the reader's language has one, its translation first with
        the original after it (the templates' ``beside``)."""
        return Markup(self._beside(entry, text))

    def _beside(self, entry: Entry, text: str) -> str:
        raise NotImplementedError


class MarkdownLog(_Log):
    """The log of ``minutes.md.j2``: one list item per line."""

    def __init__(self, helpers: Helpers, items_by_n: Mapping[int, Entry],
                 printed: Callable[[object], str]) -> None:
        super().__init__(helpers, items_by_n, printed)

    def line(self, line: Entry) -> str:
        out = self.out
        name = out(line["display_name"])
        who = f"\\* **{name}**" if line["msgtype"] == "m.emote" else f"**{name}**:"
        edited = f" *({self.label('edited')})*" if line["edited"] else ""
        return (f"- {self.h.clock(line['at'])} {who} {self._replied(line['reply_to'])}"
                f"{self._shared(line)}{self._beside(line, line['body'])}{edited}\n")

    def _beside(self, entry: Entry, text: str) -> str:
        h, out = self.h, self.out
        translated = h.translated(entry, text)
        if not translated:
            return out(h.named(text))
        corrected = f" *({self.label('corrected_translation')})*" if h.corrected(entry) else ""
        return (f"{out(h.named(translated))}{corrected}  \n"
                f"  *{out(h.original(entry['language']))}* {out(h.named(text))}")

    def _replied(self, reply: Entry | None) -> str:
        if not reply:
            return ""
        out = self.out
        if reply["display_name"]:
            shown = out(reply["display_name"])
            if reply["item"] in self.items_by_n:
                shown += f", {out(self.h.ref(self.items_by_n[reply['item']]))}"
        else:
            shown = self.label("view_in_matrix")
        return f"↪ [{shown}]({out(self.h.href(reply['permalink']))}) "

    def _shared(self, line: Entry) -> str:
        a = line["attachment"]
        if not a:
            mark = MSGTYPE_MARKS.get(line["msgtype"] or "", "")
            return f"{mark} " if mark else ""
        out = self.out
        name = out(a["name"] or a["kind"])
        url = self.h.media(a["url"])
        shown = f"[{name}]({out(url)})" if url else name
        return (f"{MSGTYPE_MARKS.get(a['kind'] or '', '')} {shown} "
                f"({_facts(out, a)}){' — ' if line['body'] else ''}")


class HtmlLog(_Log):
    """The log of ``minutes.html.j2``: one ``<li>`` per line, each its own anchor."""

    def __init__(self, helpers: Helpers, items_by_n: Mapping[int, Entry]) -> None:
        super().__init__(helpers, items_by_n, html)

    def line(self, line: Entry) -> str:
        n = html(line["line"])
        at = line["at"]
        edited = (f' <span class="muted">({self.label("edited")})</span>'
                  if line["edited"] else "")
        return (
            f'<li id="L{n}" class="msgtype-{html(line["msgtype"])}">\n'
            f'<a class="muted" href="#L{n}"><time datetime="{html(at)}">'
            f"{html(self.h.clock(at))}</time></a>\n"
            f'<span class="who" dir="auto">{html(line["display_name"])}</span>\n'
            f'<span class="body">{self._replied(line["reply_to"])}{self._shared(line)}'
            f'{self._beside(line, line["body"])}{edited}</span>\n</li>\n'
        )

    @staticmethod
    def _user_text(text: object, lang: object = None, cls: str = "text") -> str:
        attr = f' lang="{html(lang)}"' if lang else ""
        return f'<span class="{html(cls)}" dir="auto"{attr}>{html(text)}</span>'

    def user_text(self, text: object, lang: object = None, cls: str = "text") -> Markup:
        """User text in a span of its own direction (``dir="auto"``), in its language."""
        return Markup(self._user_text(text, lang, cls))

    def _beside(self, entry: Entry, text: str) -> str:
        h = self.h
        translated = h.translated(entry, text)
        language = entry.get("language")
        if not translated:
            return self._user_text(h.named(text), language)
        corrected = (f' <span class="corrected">({self.label("corrected_translation")})</span>'
                     if h.corrected(entry) else "")
        return (f'{self._user_text(h.named(translated), h.language, "text translated")}'
                f'{corrected} <span class="original">{html(h.original(language))} '
                f"{self._user_text(h.named(text), language)}</span>")

    def _replied(self, reply: Entry | None) -> str:
        if not reply:
            return ""
        if reply["line"]:
            item = self.items_by_n.get(reply["item"]) if reply["item"] is not None else None
            kind = f" ({html(self.h.ref(item))})" if item is not None else ""
            link = (f'<a href="#L{html(reply["line"])}"><span dir="auto">'
                    f'{html(reply["display_name"])}</span>{kind}</a>')
        else:
            href = self.h.href(reply["permalink"])
            link = (f'<a href="{html(href)}" rel="noopener noreferrer">'
                    f'{self.label("view_in_matrix")}</a>' if href else "")
        return f'<span class="reply">↪ {link}</span> '

    def _shared(self, line: Entry) -> str:
        a = line["attachment"]
        if not a:
            mark = MSGTYPE_MARKS.get(line["msgtype"] or "", "")
            return f"{mark} " if mark else ""
        name = self._user_text(a["name"] or a["kind"], None, "name")
        url = self.h.media(a["url"])
        shown = (f'<a href="{html(url)}" rel="noopener noreferrer nofollow">{name}</a>'
                 if url else name)
        return (f'<span class="attachment">{MSGTYPE_MARKS.get(a["kind"] or "", "")} {shown} '
                f'<span class="muted">({_facts(html, a)})</span></span>'
                f"{' ' if line['body'] else ''}")


def markdown_printer(md_text: Callable[[str], str]) -> Callable[[object], str]:
    """How a Markdown template prints a value (its ``finalize`` hook): user text through
    ``md_text``, bot-made (``Markup``) text, numbers and ``None`` as they are."""

    def printed(value: object) -> str:
        kind = type(value)
        if kind is str:
            return md_text(value)  # type: ignore[arg-type]
        if kind is Markup:
            return str.__str__(value)  # type: ignore[arg-type]
        if value is None:
            return ""
        if kind is int or kind is float or kind is bool:
            return str(value)
        return str(value) if isinstance(value, Markup) else md_text(str(value))

    return printed


def _facts(out: Callable[[object], str], a: Entry) -> str:
    """A shared file's type, size and lock, as they follow its name."""
    size = f", {file_size(a['size'])}" if a["size"] is not None else ""
    return f"{out(a['mimetype'] or a['kind'])}{size}{', 🔒' if a['encrypted'] else ''}"
