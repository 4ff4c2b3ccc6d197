"""The conversation as one person sees it: the bot's multilingual notices in their language."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser

from meetbot.demo.client import Message
from meetbot.demo.world import COORDINATOR, PARTICIPANTS, REGION_LANGUAGES, Person

_BLOCK = re.compile(r"(?:^|\n\n)\[([a-z]{2,3})\] ")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_BREAKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}


class _Text(HTMLParser):
    """Plain text of a notice's HTML: a line per block, list items as bullets."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))


def html_text(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    return "".join(parser.parts)


def tidy(text: str) -> str:
    """Compact plain text: no Markdown escapes or bold marks, no empty lines, bullets joined."""
    text = _ESCAPED.sub(r"\1", text).replace("**", "")
    lines = [line.strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out and out[-1] == "•":
            out[-1] = f"• {line}"
        else:
            out.append(line)
    return "\n".join(out)


def language_blocks(body: str) -> dict[str, str]:
    """``{lang: text}`` of a notice made of ``[es] ...`` blocks; empty if it has none."""
    parts = _BLOCK.split(body)
    if len(parts) < 3 or parts[0].strip():
        return {}
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def in_language(body: str, lang: str, fallback: str = "en") -> str:
    """The block of ``body`` in ``lang`` (else ``fallback``, else the first; else all)."""
    blocks = language_blocks(body)
    if not blocks:
        return body.strip()
    return blocks.get(lang) or blocks.get(fallback) or next(iter(blocks.values()))


def notice_text(message: Message, lang: str, languages: Sequence[str]) -> str:
    """What a reader of ``lang`` reads in a bot notice.

    A notice has a ``[lang]`` block per language in its body; a long one (the minutes
    summary) may instead have one HTML part per language, separated by ``<hr>``, in the
    order of the room's ``languages``.
    """
    if language_blocks(message.body):
        return tidy(in_language(message.body, lang))
    html = str(message.content.get("formatted_body") or "")
    parts = html.split("<hr>")
    if len(languages) > 1 and len(parts) == len(languages) and lang in languages:
        return tidy(html_text(parts[list(languages).index(lang)]))
    return tidy(message.body)


def _indent(text: str, prefix: str, width: int = 100) -> list[str]:
    """``text`` wrapped, its first line after ``prefix``, the others aligned under it."""
    hang = " " * len(prefix)
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, width - len(prefix)) or [""]
    return [(prefix if i == 0 else hang) + line for i, line in enumerate(lines)]


def render(
    messages: Sequence[Message],
    lang: str,
    names: Mapping[str, str],
    bot_user_id: str,
    languages: Sequence[str] = (),
) -> list[str]:
    """Lines of the conversation seen by a reader of ``lang``.

    People's messages are shown as written; the bot's notices in the reader's language; the
    bot's replies to a message (translations) are shown under it, indented.
    """
    known = {m.event_id for m in messages}
    replies: dict[str, list[Message]] = {}
    for message in messages:
        if message.sender == bot_user_id and message.reply_to in known:
            replies.setdefault(str(message.reply_to), []).append(message)
    lines: list[str] = []
    for message in messages:
        name = names.get(message.sender, message.sender)
        if message.sender == bot_user_id:
            if message.reply_to in known:
                continue  # shown under the message it answers
            lines += _indent(_bot_text(message, lang, languages), f"  {name}: ")
        else:
            lines += _indent(message.body, f"  {name}: ")
        # A reply (a command's answer, a translation) sits under the message it answers.
        for reply in replies.get(message.event_id, []):
            reply_name = names.get(reply.sender, reply.sender)
            lines += _indent(_bot_text(reply, lang, languages), f"      ↳ {reply_name}: ")
    return lines


def _bot_text(message: Message, lang: str, languages: Sequence[str]) -> str:
    if message.msgtype == "m.file":
        return f"(file) {message.body}"
    return notice_text(message, lang, languages)



def conversation(
    views: Mapping[Person, Sequence[Message]],
    coordination: Sequence[Message],
    names: Mapping[str, str],
    bot_user_id: str,
) -> list[str]:
    """The meeting as each participant saw it, then the coordination room as its
    coordinator saw it: what ``meetbot demo`` prints and keeps in ``transcript.txt``."""
    lines: list[str] = []
    for person in PARTICIPANTS:
        lines += ["", f"── The meeting as {person.name} sees it ({person.language}) ──"]
        lines += render(views[person], person.language, names, bot_user_id, REGION_LANGUAGES)
    lines += ["", f"── The coordination room, as {COORDINATOR.name} sees it ──"]
    lines += render(coordination, COORDINATOR.language, names, bot_user_id)
    return lines
