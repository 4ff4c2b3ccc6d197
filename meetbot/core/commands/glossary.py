"""The glossary from the room: ``!glossary`` shows it, facilitators ``!term add`` and
``!term remove`` terms. The terms are stored and applied by the glossary shell
(:mod:`meetbot.translation.glossary_shell`); the config's file changes only through
``meetbot glossary export``."""

from __future__ import annotations

import re

from meetbot.core.glossary_effects import AddTerm, RemoveTerm, ShowGlossary, effect
from meetbot.core.registry import Call, Role, Scope, UsageError, command, optional_text
from meetbot.i18n import SUPPORTED_LANGUAGES, Code, _

MAX_TERM = 200
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _checked(words: str) -> str:
    words = " ".join(words.split())
    if not words:
        raise UsageError(_("Give the term."))
    if len(words) > MAX_TERM:
        raise UsageError(_("A term is at most {n} characters long.", n=MAX_TERM))
    if not any(ch.isalnum() for ch in words):
        raise UsageError(_("A term needs at least one letter or digit."))
    return words


def parse_add(raw: str, languages: tuple[str, ...]) -> tuple[str, str, str]:
    """``SOURCE`` (kept as written) or ``SOURCE = TARGET LANG`` → (source, lang, target)."""
    if "=" not in raw:
        source = _checked(raw)
        return source, "", source
    source_part, _sep, rest = raw.partition("=")
    words = rest.split()
    known = (*languages, *SUPPORTED_LANGUAGES)
    if len(words) < 2 or not _LANGUAGE.match(words[-1].lower()) or words[-1].lower() not in known:
        raise UsageError(_("After = give the translation, then its language ({languages}).",
                           languages=", ".join(dict.fromkeys(known))))
    lang = words[-1].lower()
    return _checked(source_part), lang, _checked(" ".join(words[:-1]))


@command(
    "glossary",
    scope=Scope.ROOM,
    group="translation",
    summary=_("Show the glossary: names kept as written and fixed translations."),
)
def do_glossary(call: Call) -> None:
    call.emit(effect(ShowGlossary(
        call.event.room_id, call.event.event_id, tuple(call.settings.languages),
        call.event.thread_root, call.event.live,
    )))


@command(
    "term",
    usage="add SOURCE [= TARGET LANG] | remove SOURCE",
    args=optional_text,
    role=Role.FACILITATOR,
    scope=Scope.ROOM,
    group="translation",
    summary=_("Add a term to the glossary (kept as written, or translated one fixed way "
              "into a language), or remove one."),
)
def do_term(call: Call, raw: str) -> None:
    action, _sep, rest = raw.strip().partition(" ")
    action = action.lower()
    if action == "add":
        source, lang, target = parse_add(rest, tuple(call.settings.languages))
        call.emit(effect(AddTerm(call.event.room_id, call.event.event_id, call.event.sender,
                                 source, lang, target)))
        if lang:
            call.reply(_("Glossary: {source} is now translated into {lang} as {target}.",
                         source=Code(source), lang=Code(lang), target=Code(target)))
        else:
            call.reply(_("Glossary: {source} is now kept as written in every language.",
                         source=Code(source)))
        return
    if action == "remove":
        source = _checked(rest)
        call.emit(effect(RemoveTerm(
            call.event.room_id, call.event.event_id, call.event.sender, source,
            (call.reader_language,), call.event.thread_root, call.event.live,
        )))
        return
    raise UsageError(_("Say add or remove, e.g. {example}.",
                       example=Code(f"{call.prefix}term add Guifi.net")))
