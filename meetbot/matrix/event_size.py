"""Keeping the bot's messages inside a Matrix event's size limit.

The spec bounds a whole event (content, keys, signatures) at 65,536 bytes of JSON; Synapse
refuses a bigger one with ``M_TOO_LARGE``, and a refused notice would be lost. A notice that
quotes a long text in every room language (a 30 KB topic in three languages), or an edit
that carries its text twice (``body`` and ``m.new_content``), can pass that. Before a message
is sent, :func:`fit_content` makes it fit: first the HTML copy of the text goes (the plain
``body`` says the same), then the plain text is cut, marked with ``… ✂`` where it was cut
(a mark without words: it reads the same in every language). The record keeps every text
whole; only the message in the room is shortened.
"""

from __future__ import annotations

import json
from typing import Any

# What the content may weigh: the spec's 65,536 bytes less room for the event's own keys
# (event id, room id, sender, signatures, hashes, unsigned) that the homeserver adds.
CONTENT_LIMIT = 60_000
CUT_MARK = "… ✂"


def size_of(content: dict[str, Any]) -> int:
    """Bytes of ``content`` as JSON, as the homeserver counts them (UTF-8)."""
    return len(json.dumps(content, ensure_ascii=False).encode("utf-8"))


def fit_content(content: dict[str, Any], limit: int = CONTENT_LIMIT) -> dict[str, Any]:
    """``content`` itself when it fits in ``limit`` bytes; otherwise a copy without its
    HTML, and if that is still too big, with its texts cut to fit."""
    if size_of(content) <= limit:
        return content
    fitted = _without_html(content)
    over = size_of(fitted) - limit
    if over <= 0:
        return fitted
    texts = _text_slots(fitted)
    total = sum(len(text.encode("utf-8")) for _, _, text in texts)
    for holder, key, text in texts:
        # Each text gives up its share of the excess, with room for the mark and for JSON
        # escapes (a quote or newline weighs two bytes once encoded).
        share = len(text.encode("utf-8")) * over // max(total, 1)
        holder[key] = _cut(text, share)
    while size_of(fitted) > limit:  # escapes can still tip it over: cut a little more
        slots = [s for s in _text_slots(fitted) if len(s[2]) > len(CUT_MARK)]
        if not slots:  # what is too big is not text: the homeserver will say so
            break
        for holder, key, text in slots:
            holder[key] = _cut(text.removesuffix(CUT_MARK), max(len(text) // 10, 64))
    return fitted


def _without_html(content: dict[str, Any]) -> dict[str, Any]:
    fitted = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
    inner = fitted.get("m.new_content")
    if isinstance(inner, dict):
        fitted["m.new_content"] = {
            k: v for k, v in inner.items() if k not in ("format", "formatted_body")
        }
    return fitted


def _text_slots(content: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    """The plain texts of a message (its body, and an edit's new body) as (holder, key, text)."""
    slots: list[tuple[dict[str, Any], str, str]] = []
    for holder in (content, content.get("m.new_content")):
        if isinstance(holder, dict) and isinstance(holder.get("body"), str):
            slots.append((holder, "body", holder["body"]))
    return slots


def _cut(text: str, drop_bytes: int) -> str:
    """``text`` less at least ``drop_bytes`` bytes (and the mark's), cut between characters,
    with the mark at the cut."""
    encoded = text.encode("utf-8")
    keep = max(len(encoded) - drop_bytes - 2 * len(CUT_MARK.encode("utf-8")), 0)
    # Count escapes: a character JSON escapes takes more room than its UTF-8 bytes.
    kept = encoded[:keep].decode("utf-8", errors="ignore")
    escapes = sum(1 for ch in kept if ch in '"\\\n\r\t' or ord(ch) < 0x20)
    if escapes:
        kept = kept[: max(len(kept) - escapes, 0)]
    return kept.rstrip() + CUT_MARK
