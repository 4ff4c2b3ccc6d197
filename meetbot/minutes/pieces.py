"""The minutes' repeated pieces — a log line, an item, a text beside its translation, a reply,
a shared file — rendered in Python for the HTML and Markdown templates.

They were Jinja macros; a macro call costs tens of microseconds, and a 2,000-message
meeting made some 10,000 of them per page. These functions print exactly what the macros
printed (``tests/unit/test_minutes_pieces.py`` renders both and compares), with the same
escaping: every value through ``markupsafe.escape`` in HTML (as autoescape does, ``None``
included), through the Markdown ``finalize`` hook in Markdown. The bot-made pieces they use
(``mark``, ``size``) live here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, cast

from markupsafe import Markup, escape

from meetbot.minutes.text import file_size, md_text

# What a log line of these kinds starts with: no words, so no translation is needed.
MSGTYPE_MARKS = {
    "m.image": "🖼", "m.file": "📎", "m.audio": "🔊", "m.video": "🎞", "m.sticker": "🏷",
    "m.poll": "📊", "m.location": "📍",
}


def mark(msgtype: str | None) -> Markup:
    return Markup(MSGTYPE_MARKS.get(msgtype or "", ""))


def size(value: int | None) -> Markup:
    return Markup(file_size(value))


def md_finalize(value: object) -> object:
    """Escape every value a Markdown template prints unless it was made safe on purpose."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, (int, float)):
        return value
    return Markup(md_text(str(value)))


class Reader(Protocol):
    """What the pieces need of the document's reader (``render._Helpers``)."""

    language: str

    def t(self, key: str, **params: object) -> str: ...
    def clock(self, iso: str) -> str: ...
    def href(self, url: str | None) -> str | None: ...
    def media(self, url: str | None) -> str | None: ...
    def translated(self, entry: Mapping[str, Any], text: str) -> str | None: ...


Entry = Mapping[str, Any]


class _Pieces:
    def __init__(self, reader: Reader, out: Callable[[object], str]) -> None:
        self.reader = reader
        self.out = out  # how a template prints a value ({{ value }})
        self._labels: dict[str, str] = {}

    def label(self, key: str) -> str:
        """A label without parameters, printed; the same for every line, so made once."""
        printed = self._labels.get(key)
        if printed is None:
            printed = self._labels[key] = self.out(self.reader.t(key))
        return printed

    def line(self, line: Entry) -> str:
        """One line of the log, printed."""
        raise NotImplementedError

    def lines(self, log: Iterable[Entry]) -> Markup:
        """Every line of the log, each followed by a line break."""
        line = self.line
        return Markup("".join([line(entry) + "\n" for entry in log]))


_HTML_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("'"): "&#39;",
                 ord('"'): "&#34;"}


def _html(value: object) -> str:
    """``str(markupsafe.escape(value))``; a plain string without &<>'" is returned as it is
    (most of a log is), which is five times quicker than making a Markup of it."""
    kind = type(value)
    if kind is str:
        text = cast(str, value)
        if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
            return text.translate(_HTML_ESCAPES)
        return text
    if kind is Markup:  # already safe
        return str.__str__(cast(Markup, value))
    if kind is int:  # digits
        return int.__repr__(cast(int, value))
    return str(escape(value))


class HtmlPieces(_Pieces):
    """The pieces of ``minutes.html.j2``."""

    def __init__(self, reader: Reader) -> None:
        super().__init__(reader, _html)

    def _user_text(self, text: object, lang: object = None, cls: str = "text") -> str:
        attr = f' lang="{_html(lang)}"' if lang else ""
        return f'<span class="{_html(cls)}" dir="auto"{attr}>{_html(text)}</span>'

    def _beside(self, entry: Entry, text: str) -> str:
        translated = self.reader.translated(entry, text)
        language = entry["language"]
        if not translated:
            return self._user_text(text, language)
        lang = f" ({_html(language)})" if language else ""
        return (
            f'{self._user_text(translated, self.reader.language, "text translated")} '
            f'<span class="original">{self.label("original")}{lang}: '
            f"{self._user_text(text, language)}</span>"
        )

    def _replied(self, reply: Entry | None) -> str:
        if not reply:
            return ""
        if reply["line"]:
            kind = (f" ({self.label(reply['item_kind'])} #{_html(reply['item'])})"
                    if reply["item"] else "")
            link = (f'<a href="#L{_html(reply["line"])}"><span dir="auto">'
                    f'{_html(reply["display_name"])}</span>{kind}</a>')
        else:
            link = (f'<a href="{_html(self.reader.href(reply["permalink"]))}" '
                    f'rel="noopener noreferrer">{self.label("view_in_matrix")}</a>')
        return f'<span class="reply">↪ {link}</span> '

    def _shared(self, line: Entry) -> str:
        a = line["attachment"]
        if not a:
            shown = MSGTYPE_MARKS.get(line["msgtype"] or "", "")
            return f"{shown} " if shown else ""
        name = self._user_text(a["name"] or a["kind"], None, "name")
        url = self.reader.media(a["url"])
        link = (f'<a href="{_html(url)}" rel="noopener noreferrer nofollow">{name}</a>'
                if url else name)
        facts = _html(a["mimetype"] or a["kind"])
        if a["size"] is not None:
            facts += f", {_html(size(a['size']))}"
        if a["encrypted"]:
            facts += ", 🔒"
        after = " " if line["body"] else ""
        return (f'<span class="attachment">{mark(a["kind"])} {link} '
                f'<span class="muted">({facts})</span></span>{after}')

    def beside(self, entry: Entry, text: str) -> Markup:
        return Markup(self._beside(entry, text))

    def line(self, line: Entry) -> str:
        n = _html(line["line"])
        edited = (f' <span class="muted">({self.label("edited")})</span>'
                  if line["edited"] else "")
        return (
            f'<li id="L{n}" class="msgtype-{_html(line["msgtype"])}">\n'
            f'<a class="muted" href="#L{n}"><time datetime="{_html(line["at"])}">'
            f'{_html(self.reader.clock(line["at"]))}</time></a>\n'
            f'<span class="who" dir="auto">{_html(line["display_name"])}</span>\n'
            f'<span class="body">{self._replied(line["reply_to"])}{self._shared(line)}'
            f'{self._beside(line, line["body"])}{edited}</span>\n</li>'
        )

    def item(self, item: Entry) -> Markup:
        url = self.reader.href(item["safe_url"])
        link = (f' <a class="url" href="{_html(url)}" rel="noopener noreferrer nofollow">'
                f'{_html(item["url"])}</a>' if url else "")
        log = (f' · <a href="#L{_html(item["log_line"])}">{self.label("log_line")}</a>'
               if item["log_line"] else "")
        return Markup(
            f'<li class="item kind-{_html(item["kind"])}" id="item-{_html(item["n"])}">\n'
            f'<span class="kind">{self.label(item["kind"])} #{_html(item["n"])}</span>\n'
            f"{self._beside(item, item['text'])}\n{link}\n"
            f'<span class="meta">— <span dir="auto">{_html(item["author_name"])}</span>, '
            f'<time datetime="{_html(item["at"])}">{_html(self.reader.clock(item["at"]))}</time>\n'
            f'· <a href="{_html(self.reader.href(item["permalink"]))}" '
            f'rel="noopener noreferrer">{self.label("view_in_matrix")}</a>\n'
            f"{log}</span>\n</li>"
        )


def _md(value: object) -> str:
    """``str(md_finalize(value))``, without the Markup for a plain string."""
    kind = type(value)
    if kind is str:
        return md_text(cast(str, value))
    if kind is Markup:  # md_finalize lets it through
        return str.__str__(cast(Markup, value))
    if kind is int:
        return int.__repr__(cast(int, value))
    return str(md_finalize(value))


class MarkdownPieces(_Pieces):
    """The pieces of ``minutes.md.j2``."""

    def __init__(self, reader: Reader) -> None:
        super().__init__(reader, _md)

    def _beside(self, entry: Entry, text: str) -> str:
        translated = self.reader.translated(entry, text)
        if not translated:
            return _md(text)
        language = entry["language"]
        lang = f" ({_md(language)})" if language else ""
        return f"{_md(translated)}  \n  *{self.label('original')}{lang}:* {_md(text)}"

    def _replied(self, reply: Entry | None) -> str:
        if not reply:
            return ""
        if reply["display_name"]:
            shown = _md(reply["display_name"])
            if reply["item"]:
                shown += f", {self.label(reply['item_kind'])} #{_md(reply['item'])}"
        else:
            shown = self.label("view_in_matrix")
        return f"↪ [{shown}]({_md(self.reader.href(reply['permalink']))}) "

    def _shared(self, line: Entry) -> str:
        a = line["attachment"]
        if not a:
            shown = MSGTYPE_MARKS.get(line["msgtype"] or "", "")
            return f"{shown} " if shown else ""
        name = _md(a["name"] or a["kind"])
        url = self.reader.media(a["url"])
        link = f"[{name}]({_md(url)})" if url else name
        facts = _md(a["mimetype"] or a["kind"])
        if a["size"] is not None:
            facts += f", {_md(size(a['size']))}"
        if a["encrypted"]:
            facts += ", 🔒"
        after = " — " if line["body"] else ""
        return f"{mark(a['kind'])} {link} ({facts}){after}"

    def beside(self, entry: Entry, text: str) -> Markup:
        return Markup(self._beside(entry, text))

    def line(self, line: Entry) -> str:
        name = _md(line["display_name"])
        who = f"\\* **{name}**" if line["msgtype"] == "m.emote" else f"**{name}**:"
        edited = f" *({self.label('edited')})*" if line["edited"] else ""
        return (f"- {_md(self.reader.clock(line['at']))} {who} {self._replied(line['reply_to'])}"
                f"{self._shared(line)}{self._beside(line, line['body'])}{edited}")

    def item(self, item: Entry) -> Markup:
        url = self.reader.href(item["safe_url"])
        link = f" <{_md(url)}>" if url else ""
        return Markup(
            f"- **{self.label(item['kind'])} #{_md(item['n'])}** "
            f"{self._beside(item, item['text'])}{link}"
            f" — {_md(item['author_name'])}, {_md(self.reader.clock(item['at']))} "
            f"([{self.label('view_in_matrix')}]({_md(self.reader.href(item['permalink']))}))\n"
        )
