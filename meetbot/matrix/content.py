"""Turning the core's notices into Matrix event content (pure functions)."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence

import markdown

from meetbot.core.effects import Notice
from meetbot.i18n import Msg, render_lines
from meetbot.storage.store import Store

_MD_EXTENSIONS = ["sane_lists", "nl2br"]


# One parser, reset between documents: building one costs more than converting a notice.
_MARKDOWN = markdown.Markdown(extensions=_MD_EXTENSIONS, output_format="html")


# A line Markdown only wraps in a paragraph: words and punctuation that mean nothing to it,
# starting with a letter (not a list, heading or quote), after the language mark that
# notice_content puts before each block. Most answers ("Idea #4 recorded.") are such a line,
# and the parser costs ~0.15 ms a block (tests/unit/test_content.py checks both agree).
_INERT = re.compile(
    r"(?:\*\*[A-Z]{2}\*\* · )?[^\W\d_](?:[^\W_]|[ .,;:!?'\"()/%+=#@$·—–\-¿¡’])*(?<! )"
)


def markdown_to_html(text: str) -> str:
    return _html_and_text(text, plain=False)[0]


def _html_and_text(text: str, plain: bool = True) -> tuple[str, str]:
    """The HTML of a block and (``plain``) its :func:`html_to_text`: an inert line's is the
    line itself, without its language mark's stars (no tag, entity or line break to take
    out)."""
    if _INERT.fullmatch(text):
        if text.startswith("**"):
            return f"<p><strong>{text[2:4]}</strong>{text[6:]}</p>", text[2:4] + text[6:]
        return f"<p>{text}</p>", text
    rendered = _MARKDOWN.reset().convert(text)
    return rendered, html_to_text(rendered) if plain else ""


def txn_id_for(key: str) -> str:
    """A Matrix transaction id derived from what caused the message (stable across crashes)."""
    return "mb-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def notice_content(
    lines: Sequence[Msg | str],
    languages: Sequence[str],
    *,
    reply_to: str | None = None,
    mentions: Sequence[str] = (),
    thread_root: str | None = None,
    msgtype: str = "m.notice",
) -> dict[str, object]:
    """One notice, with a block per language; user text is escaped in the HTML."""
    plain_blocks: list[str] = []
    html_blocks: list[str] = []
    many = len(languages) > 1
    for lang in languages:
        marked = render_lines(lines, lang, escape=True)
        if many:
            marked = f"**{lang.upper()}** · {marked}"
        rendered, plain = _html_and_text(marked)
        if many:
            plain = f"[{lang}]" + plain.removeprefix(lang.upper() + " ·")
        plain_blocks.append(plain)
        html_blocks.append(rendered)
    content: dict[str, object] = {
        "msgtype": msgtype,
        "body": "\n\n".join(plain_blocks),
        "format": "org.matrix.custom.html",
        "formatted_body": "<hr>".join(html_blocks) if many else html_blocks[0],
        "m.mentions": {"user_ids": list(dict.fromkeys(mentions))},
    }
    relates: dict[str, object] = {}
    if thread_root:
        relates = {
            "rel_type": "m.thread",
            "event_id": thread_root,
            "is_falling_back": reply_to is None,
            "m.in_reply_to": {"event_id": reply_to or thread_root},
        }
    elif reply_to:
        relates = {"m.in_reply_to": {"event_id": reply_to}}
    if relates:
        content["m.relates_to"] = relates
    return content


def content_for(notice: Notice) -> dict[str, object]:
    return notice_content(
        notice.lines,
        notice.languages,
        reply_to=notice.reply_to,
        mentions=notice.mentions,
        thread_root=notice.thread_root,
    )


def edit_content(original_event_id: str, new_content: dict[str, object]) -> dict[str, object]:
    """An ``m.replace`` edit of one of the bot's own messages."""
    fallback = dict(new_content)
    fallback["body"] = "* " + str(new_content.get("body", ""))
    if "formatted_body" in new_content:
        fallback["formatted_body"] = "* " + str(new_content["formatted_body"])
    inner = {k: v for k, v in new_content.items() if k != "m.relates_to"}
    fallback["m.new_content"] = inner
    fallback["m.relates_to"] = {"rel_type": "m.replace", "event_id": original_event_id}
    return fallback


_TAG = re.compile(r"<[^>]+>")


def html_to_text(fragment: str) -> str:
    """A plain-text ``body`` for clients that do not show HTML."""
    text = re.sub(r"<br\s*/?>\n?|</p>|</li>|</h\d>|<hr\s*/?>", "\n", fragment)
    text = re.sub(r"<li>", "• ", text)
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def markdown_content(
    blocks: Sequence[str], *, mentions: Sequence[str] = (), msgtype: str = "m.notice"
) -> dict[str, object]:
    """A notice from ready-made (already escaped) Markdown, one block per language."""
    rendered = [markdown_to_html(block) for block in blocks]
    formatted = "<hr>".join(rendered)
    return {
        "msgtype": msgtype,
        "body": "\n\n".join(html_to_text(r) for r in rendered),
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        "m.mentions": {"user_ids": list(dict.fromkeys(mentions))},
    }


async def enqueue_notice(store: Store, notice: Notice) -> None:
    """Queue a core notice in the outbox as Matrix content (call inside a transaction)."""
    await store.enqueue(notice.room_id, txn_id_for(notice.key), content_for(notice))
