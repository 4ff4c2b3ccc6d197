"""People named in a text, shown by their display names.

What people typed keeps the Matrix ids (``@sam:example.org``) in the record, the JSON
minutes and the exports; what people read — the bot's notices, the Markdown and HTML
minutes, the translation notices — shows the names the meeting knows them by ("Sam").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# A pill as Markdown ([Sam](https://matrix.to/#/@sam:example.org)), else a bare user id;
# an id inside a link's address (after a slash) is part of the link, not a mention.
_PILL = re.compile(r"\[([^\[\]\n]*)\]\(https://matrix\.to/#/(@[^\s()/?]+)\)")
_USER_ID = re.compile(r"(?<![\w/])@[A-Za-z0-9._=/+\-]+:[A-Za-z0-9.\-\[\]:]*[A-Za-z0-9\]]")
# A server name's port, ended by a colon the sentence added ("@sam:example.org: thanks").
_TRAILING = ".:-"


def user_ids(text: str) -> list[str]:
    """The user ids named in ``text`` (bare or in a pill), in order, once each."""
    if "@" not in text:  # no id, bare or in a pill: most of what people say
        return []
    found: dict[str, None] = {}
    if "matrix.to" in text:
        for match in _PILL.finditer(text):
            found.setdefault(match.group(2).replace("%3A", ":").replace("%40", "@"), None)
        text = _PILL.sub(" ", text)
    for match in _USER_ID.finditer(text):
        found.setdefault(match.group(0).rstrip(_TRAILING), None)
    return list(found)


def with_names(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each id that has a name in ``names`` replaced by that name."""
    if "@" not in text or not names:
        return text

    def pill(match: re.Match[str]) -> str:
        user = match.group(2).replace("%3A", ":").replace("%40", "@")
        return names.get(user) or match.group(0)

    def bare(match: re.Match[str]) -> str:
        raw = match.group(0)
        user = raw.rstrip(_TRAILING)
        name = names.get(user)
        return name + raw[len(user) :] if name else raw

    return _USER_ID.sub(bare, _PILL.sub(pill, text))


def names_in(texts: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """The names of the people ``texts`` mention that ``known`` has a name for."""
    found: dict[str, str] = {}
    for text in texts:
        for user in user_ids(text):
            if known.get(user):
                found[user] = known[user]
    return found
