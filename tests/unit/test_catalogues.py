"""The French and Spanish catalogues cover every string the code marks with ``_()`` or
``ngettext()`` (every plural form of the latter).

A string added to the code without a translation fails here with the list of what is
missing; ``scripts/update-catalogues.sh`` brings the catalogues up to date so the new
entries can be translated.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from meetbot.config.agendas import load_agenda
from meetbot.core.effects import Notice
from meetbot.core.events import Message
from meetbot.core.model import Region, RoomSettings, RoomState
from meetbot.i18n import (
    DOMAIN,
    LOCALE_DIR,
    SOURCE_LANGUAGE,
    SUPPORTED_LANGUAGES,
    Msg,
    _,
    md_escape,
)
from meetbot.minutes.labels import LABELS
from meetbot.runtime.features import engine

handle = engine().handle  # the core with every feature, as the bot runs it

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = tuple(lang for lang in SUPPORTED_LANGUAGES if lang != SOURCE_LANGUAGE)
# The same keywords as scripts/update-catalogues.sh (`--no-default-keywords -k _
# -k ngettext:1,2`): a plural message's id is its (singular, plural) pair, as in a catalogue.
KEYWORDS = {"_": None, "ngettext": (1, 2)}
MsgId = str | tuple[str, str]
UPDATE_HINT = (
    "run scripts/update-catalogues.sh, then translate the new (empty) and fuzzy entries in "
    "meetbot/locale/{lang}/LC_MESSAGES/meetbot.po and remove their `#, fuzzy` flag"
)


@cache
def code_msgids() -> dict[MsgId, list[str]]:
    """Every msgid marked in the code (as babel.cfg maps it), with where it is used."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found: dict[MsgId, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            singular, plural = message
            assert isinstance(singular, str) and isinstance(plural, str), (
                f"{filename}:{lineno}: ngettext() takes a singular and a plural message id"
            )
            message = (singular, plural)
        assert isinstance(message, (str, tuple)), f"{filename}:{lineno}: _() takes one message id"
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def plural_msgids() -> dict[tuple[str, str], list[str]]:
    return {msgid: where for msgid, where in code_msgids().items() if isinstance(msgid, tuple)}


@cache
def catalogue(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in Formatter().parse(text) if name is not None}


def markup(text: str) -> tuple[object, ...]:
    """The Markdown that must survive translation: line prefixes, bold, code spans."""
    prefixes = tuple(re.match(r"\s*(?:[->] )?", line).group(0) for line in text.split("\n"))
    return prefixes, text.count("**"), text.count("`")


def test_the_code_marks_strings_for_translation() -> None:
    ids = code_msgids()
    assert len(ids) > 100
    assert "**Meeting started:** {title}" in ids
    assert ("{count} decision", "{count} decisions") in ids


def _literals(args: list[ast.expr]) -> bool:
    return all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args)


def test_every_translation_call_has_a_literal_message_id() -> None:
    """``_(f"...")`` or ``_(variable)`` cannot be extracted, so it would never be translated;
    nor can ``ngettext(singular, plural, count)`` unless both texts are literals."""
    bad = []
    for path in sorted((ROOT / "meetbot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if (node.func.id == "_" and not (len(node.args) == 1 and _literals(node.args))) or (
                node.func.id == "ngettext"
                and not (len(node.args) == 3 and _literals(node.args[:2]))
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, (
        "_() needs one plain string literal, ngettext() two and the count (values go in "
        "keywords):\n" + "\n".join(bad)
    )


def _key(msgid: object) -> object:
    """A catalogue entry's id as the code's: a plural entry's (singular, plural) as a tuple."""
    return tuple(msgid) if isinstance(msgid, (tuple, list)) else msgid


def _is_translated(lang: str, string: object) -> bool:
    """A text, or every plural form the language has."""
    if isinstance(string, (tuple, list)):
        return len(string) == catalogue(lang).num_plurals and all(string)
    return bool(string)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_marked_string_is_translated(lang: str) -> None:
    translated = {
        _key(m.id)
        for m in catalogue(lang)
        if m.id and _is_translated(lang, m.string) and not m.fuzzy
    }
    fuzzy = {_key(m.id) for m in catalogue(lang) if m.id and m.fuzzy}
    problems = [
        f"  {'fuzzy' if msgid in fuzzy else 'missing'}: {msgid!r}  ({where[0]})"
        for msgid, where in sorted(code_msgids().items(), key=lambda entry: str(entry[0]))
        if msgid not in translated
    ]
    assert not problems, (
        f"{len(problems)} string(s) not translated in {lang} ({UPDATE_HINT.format(lang=lang)}):\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders_and_the_markdown(lang: str) -> None:
    problems = []
    for m in catalogue(lang):
        if not m.id or not m.string:
            continue
        # A plural entry: every form keeps the placeholders and the Markdown of the source.
        sources = m.id if isinstance(m.id, (tuple, list)) else (m.id,)
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        for source, string in ((str(s), str(t)) for s in sources for t in strings if t):
            try:
                expected, got = placeholders(source), placeholders(string)
            except ValueError as error:
                problems.append(f"  {source!r}: malformed braces ({error})")
                continue
            if expected != got:
                problems.append(
                    f"  {source!r}: placeholders {sorted(got)} in {string!r} "
                    f"instead of {sorted(expected)}"
                )
            elif markup(source) != markup(string):
                problems.append(f"  {source!r}: Markdown changed in {string!r}")
    assert not problems, f"{lang} translations that would break notices:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalogue_is_for_its_language(lang: str) -> None:
    assert str(catalogue(lang).locale) == lang


# -- real notices, rendered for a French and a Spanish reader ----------------------------
ROOM = "!afr:example.org"
FACILITATOR = "@awa:example.org"


def notices(*bodies: str) -> list[Notice]:
    """What the bot answers in a room where a facilitator types ``bodies``, in order."""
    settings = RoomSettings(
        region=Region("afr", "Afrique de l'Ouest", ROOM, ("fr", "es", "en"), "Africa/Dakar"),
        agenda=load_agenda(ROOT / "prompts", "default"),
        bot_user_id="@meetbot:example.org",
        facilitators=frozenset({FACILITATOR}),
    )
    state = RoomState(ROOM)
    out: list[Notice] = []
    for n, body in enumerate(bodies, 1):
        event = Message(
            f"$e{n}",
            ROOM,
            FACILITATOR,
            datetime(2027, 1, 15, 9, n, tzinfo=timezone.utc),
            body=body,
            live=True,
        )
        out += [e for e in handle(state, settings, event).effects if isinstance(e, Notice)]
    return out


def rendered(notice: Notice, lang: str) -> str:
    return "\n".join(line.render(lang) if isinstance(line, Msg) else line for line in notice.lines)


def posted(notice: Notice, lang: str) -> str:
    """The notice's Markdown, as the bot posts it (commands as code spans)."""
    return "\n".join(
        line.render(lang, md_escape) if isinstance(line, Msg) else line for line in notice.lines
    )


def test_the_recording_notice_is_in_french_and_in_spanish() -> None:
    started = notices("!startmeeting Réunion de janvier")[0]
    fr, es, en = (rendered(started, lang) for lang in ("fr", "es", "en"))
    assert "**Début de la réunion\u00a0:** Réunion de janvier" in fr
    assert "enregistrée pour le réseau de recherche" in fr
    assert "Tapez `!optout`" in posted(started, "fr")
    assert "**Comienza la reunión:** Réunion de janvier" in es
    assert "Escribe `!optout`" in posted(started, "es")
    assert "Meeting started" in en
    assert "Meeting" not in fr and "Meeting" not in es


def test_command_answers_are_in_french_and_in_spanish() -> None:
    recorded = notices("!startmeeting", "!action @awa:example.org écrire le compte rendu")[-1]
    assert rendered(recorded, "fr") == "Action #2 enregistrée pour @awa:example.org."
    assert rendered(recorded, "es") == "Acción #2 registrada para @awa:example.org."
    unknown = notices("!startmeeting", "!nosuchcommand")[-1]
    assert "Commande inconnue" in rendered(unknown, "fr")
    assert "Comando desconocido" in rendered(unknown, "es")


def test_nested_messages_and_labels_are_translated() -> None:
    recorded = _("{kind} #{n} recorded.", kind=_("Decision"), n=3)
    assert recorded.render("fr") == "Noté\u00a0: Décision #3."
    assert recorded.render("es") == "Anotado: Decisión #3."
    assert LABELS["actions_heading"].render("fr") == "**Actions, par personne**"
    assert LABELS["no_decisions"].render("es") == "No se registró ninguna decisión."
