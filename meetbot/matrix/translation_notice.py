"""What a live translation notice holds: every translation of a message, each marked with
its language, and a person's correction credited to them ("corrected by NAME")."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from meetbot.core.mentions import with_names
from meetbot.core.model import Meeting
from meetbot.i18n import _
from meetbot.storage.corrections_store import HUMAN, StoredTranslation


def translation_content(translations: Mapping[str, str]) -> dict[str, Any]:
    """One notice holding every translation of a message, each marked with its language."""
    plain = [f"[{lang}] {text}" for lang, text in translations.items()]
    marked = [
        f"<b>{html.escape(lang.upper())}</b> {html.escape(text).replace(chr(10), '<br>')}"
        for lang, text in translations.items()
    ]
    return {
        "msgtype": "m.notice",
        "body": "\n".join(plain),
        "format": "org.matrix.custom.html",
        "formatted_body": "<br>".join(marked),
        "m.mentions": {},  # a translation never pings anyone
    }


def corrected(text: str, lang: str, name: str) -> str:
    """A person's translation as the notice shows it, credited in the notice's language."""
    credit = _("corrected by {name}", name=name).render(lang)
    return f"{text} ({credit})"


def notice_text(rows: list[StoredTranslation], meeting: Meeting | None) -> dict[str, object]:
    """The notice's content for these stored translations: people's versions credited."""
    names = meeting.names if meeting is not None else {}
    shown: dict[str, str] = {}
    for row in rows:
        text = with_names(row.text, names)
        if row.origin == HUMAN and row.corrected_by:
            who = meeting.name_of(row.corrected_by) if meeting else row.corrected_by
            text = corrected(text, row.lang, who)
        shown[row.lang] = text
    return translation_content(shown)
