"""The French and Spanish catalogues cover every string the code marks with ``_()``.

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
# The same keyword as scripts/update-catalogues.sh (`--no-default-keywords -k _`).
KEYWORDS = {"_": None}
UPDATE_HINT = (
    "run scripts/update-catalogues.sh, then translate the new (empty) and fuzzy entries in "
    "meetbot/locale/{lang}/LC_MESSAGES/meetbot.po and remove their `#, fuzzy` flag"
)


@cache
def code_msgids() -> dict[str, list[str]]:
    """Every msgid marked in the code (as babel.cfg maps it), with where it is used."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        assert isinstance(message, str), f"{filename}:{lineno}: _() takes one message id"
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


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


def test_every_translation_call_has_a_literal_message_id() -> None:
    """``_(f"...")`` or ``_(variable)`` cannot be extracted, so it would never be translated."""
    bad = []
    for path in sorted((ROOT / "meetbot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and not (
                    len(node.args) == 1
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                )
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "_() needs one plain string literal (values go in keywords):\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_marked_string_is_translated(lang: str) -> None:
    translated = {m.id for m in catalogue(lang) if m.id and m.string and not m.fuzzy}
    fuzzy = {m.id for m in catalogue(lang) if m.id and m.fuzzy}
    problems = [
        f"  {'fuzzy' if msgid in fuzzy else 'missing'}: {msgid!r}  ({where[0]})"
        for msgid, where in sorted(code_msgids().items())
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
        if not m.id or not m.string or not isinstance(m.id, str):
            continue
        try:
            expected, got = placeholders(m.id), placeholders(str(m.string))
        except ValueError as error:
            problems.append(f"  {m.id!r}: malformed braces ({error})")
            continue
        if expected != got:
            problems.append(f"  {m.id!r}: placeholders {sorted(got)} instead of {sorted(expected)}")
        elif markup(m.id) != markup(str(m.string)):
            problems.append(f"  {m.id!r}: Markdown changed in {str(m.string)!r}")
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
