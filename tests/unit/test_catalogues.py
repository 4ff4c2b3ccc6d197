"""The French and Spanish catalogues cover every string the code marks with ``_()`` or
``ngettext()`` (every plural form of the latter).

A string added to the code without a translation fails here with the list of what is
missing; ``scripts/update-catalogues.sh`` brings the catalogues up to date so the new
entries can be translated.
"""

from __future__ import annotations

import ast
import gettext
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

from meetbot import i18n
from meetbot.config.agendas import load_agenda
from meetbot.core import counts
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
    ngettext,
)
from meetbot.minutes.labels import LABELS, label
from meetbot.research.labels import report_label
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


# -- plurals: every count agrees with its noun, in every language --------------------------
# Which form (msgstr[0] or msgstr[1]) a count takes: French says "0 décision", Spanish and
# English "0 decisiones", "0 decisions".
PLURAL_FORM = {"en": lambda n: int(n != 1), "fr": lambda n: int(n > 1), "es": lambda n: int(n != 1)}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalogue_has_the_plural_rule_of_its_language(lang: str) -> None:
    rule = catalogue(lang).plural_expr.replace(" ", "")
    assert catalogue(lang).num_plurals == 2
    assert rule == {"fr": "(n>1)", "es": "(n!=1)"}[lang]


def _forms(msgid: tuple[str, str], lang: str) -> tuple[str, ...]:
    if lang == SOURCE_LANGUAGE:
        return msgid
    entry = catalogue(lang).get(msgid)
    assert entry is not None and isinstance(entry.string, (tuple, list)), f"{lang}: {msgid!r}"
    return tuple(str(form) for form in entry.string)


def _other_values(text: str) -> dict[str, str]:
    return {name: f"<{name}>" for name in placeholders(text) if name != "count"}


def test_the_code_has_plural_messages() -> None:
    assert len(plural_msgids()) >= 15


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_plural_message_agrees_with_0_1_and_2(lang: str) -> None:
    """Each ngettext() message, rendered with 0, 1 and 2: the form the language's rule picks,
    with the count in it; the singular and plural forms differ (the noun agrees)."""
    problems = []
    for (singular, plural), where in sorted(plural_msgids().items()):
        forms = _forms((singular, plural), lang)
        if len(set(forms)) != 2:
            problems.append(f"  {singular!r} ({where[0]}): forms {forms!r} do not differ")
            continue
        values = _other_values(plural)
        for n in (0, 1, 2):
            got = ngettext(singular, plural, n, **values).render(lang)
            expected = forms[PLURAL_FORM[lang](n)].format(count=n, **values)
            if got != expected or str(n) not in got:
                problems.append(f"  {singular!r} with {n}: {got!r} instead of {expected!r}")
    assert not problems, f"{lang} plural messages that do not agree:\n" + "\n".join(problems)


AGREEMENT = {
    counts.decisions: {
        "en": ("0 decisions", "1 decision", "2 decisions"),
        "fr": ("0 décision", "1 décision", "2 décisions"),
        "es": ("0 decisiones", "1 decisión", "2 decisiones"),
    },
    counts.actions: {
        "en": ("0 actions", "1 action", "2 actions"),
        "fr": ("0 action", "1 action", "2 actions"),
        "es": ("0 acciones", "1 acción", "2 acciones"),
    },
    counts.people: {
        "en": ("0 people", "1 person", "2 people"),
        "fr": ("0 personne", "1 personne", "2 personnes"),
        "es": ("0 personas", "1 persona", "2 personas"),
    },
    counts.items: {
        "en": ("0 items", "1 item", "2 items"),
        "fr": ("0 élément", "1 élément", "2 éléments"),
        "es": ("0 elementos", "1 elemento", "2 elementos"),
    },
    counts.messages: {
        "en": ("0 messages", "1 message", "2 messages"),
        "fr": ("0 message", "1 message", "2 messages"),
        "es": ("0 mensajes", "1 mensaje", "2 mensajes"),
    },
    counts.meetings_held: {
        "en": ("0 meetings held", "1 meeting held", "2 meetings held"),
        "fr": ("0 réunion tenue", "1 réunion tenue", "2 réunions tenues"),
        "es": ("0 reuniones realizadas", "1 reunión realizada", "2 reuniones realizadas"),
    },
    counts.open_actions: {
        "en": ("0 open action items", "1 open action item", "2 open action items"),
        "fr": ("0 action en cours", "1 action en cours", "2 actions en cours"),
        "es": ("0 acciones pendientes", "1 acción pendiente", "2 acciones pendientes"),
    },
}


@pytest.mark.parametrize("counted", list(AGREEMENT), ids=lambda f: f.__name__)
@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_counted_nouns_agree_with_their_count(counted: object, lang: str) -> None:
    assert callable(counted)
    said = tuple(counted(n).render(lang) for n in (0, 1, 2))
    assert said == AGREEMENT[counted][lang]
    assert tuple(counted(n).render(lang, md_escape) for n in (0, 1, 2)) == said


def test_a_plural_message_inside_another_agrees() -> None:
    status = _("{messages}, {items} ({decisions}, {actions}), {people}.",
               messages=counts.messages(0), items=counts.items(2), decisions=counts.decisions(1),
               actions=counts.actions(1), people=counts.people(0))
    assert status.render("en") == "0 messages, 2 items (1 decision, 1 action), 0 people."
    assert status.render("fr") == "0 message, 2 éléments (1 décision, 1 action), 0 personne."
    assert status.render("es") == "0 mensajes, 2 elementos (1 decisión, 1 acción), 0 personas."


def test_the_end_of_meeting_notice_agrees_in_every_language() -> None:
    said = notices(
        "!startmeeting Réunion de janvier",
        "!decision on se retrouve le jeudi",
        "!action @awa:example.org écrire le compte rendu",
        "!endmeeting",
    )
    ended = next(n for n in said if "Meeting ended" in rendered(n, "en"))
    assert "1 decisión, 1 acción, 1 persona." in rendered(ended, "es")
    assert "1 décision, 1 action, 1 personne." in rendered(ended, "fr")
    assert "1 decision, 1 action, 1 person." in rendered(ended, "en")
    assert "1 decisión, 1 acción, 1 persona." in posted(ended, "es")
    empty = notices("!startmeeting", "!endmeeting")[-1]
    assert "0 décision, 0 action, 1 personne." in rendered(empty, "fr")
    assert "0 decisiones, 0 acciones, 1 persona." in rendered(empty, "es")
    assert "0 decisions, 0 actions, 1 person." in rendered(empty, "en")


def test_the_status_notice_agrees() -> None:
    status = notices("!startmeeting", "bonjour", "!decision le jeudi", "!status")[-1]
    assert "1 mensaje, 2 elementos (1 decisión, 0 acciones), 1 persona." in rendered(status, "es")
    assert "1 message, 2 éléments (1 décision, 0 action), 1 personne." in rendered(status, "fr")


def test_plural_labels_take_their_count_where_they_are_used() -> None:
    assert report_label("messages_count", count=1).render("es") == "1 mensaje"
    assert report_label("endorsements", count=0).render("fr") == "0 soutien"
    assert report_label("endorsements", count=2).render("es") == "2 apoyos"
    generated = report_label("generated", at="2027-01-15 09:00", count=1)
    assert generated.render("fr") == "Généré le 2027-01-15 09:00 (UTC) à partir de 1 réunion tenue."
    assert generated.render("en") == "Generated 2027-01-15 09:00 (UTC) from 1 meeting held."
    posted_report = report_label(
        "report_posted", meetings=counts.meetings_held(1), regions=counts.regions(1),
        decisions=counts.decisions(0), actions=counts.open_actions(2),
    )
    assert posted_report.render("es") == (
        "**Informe de investigación** actualizado: 1 reunión realizada en 1 región, "
        "0 decisiones, 2 acciones pendientes."
    )
    people = label("coordinator_people", people=counts.people(1), names="Ana (3)")
    assert people.render("fr") == "1 personne\u00a0: Ana (3)."


def test_a_plural_message_needs_its_count() -> None:
    with pytest.raises(TypeError):
        Msg("{count} decision", {}, "{count} decisions")
    assert Msg("{count} decision", {"count": 2}, "{count} decisions").render("es") == (
        "2 decisiones"
    )


def test_a_broken_plural_translation_falls_back_to_the_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken(gettext.NullTranslations):
        def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
            return "{nombre} décisions"

    monkeypatch.setattr(i18n, "translations", lambda lang: Broken())
    assert counts.decisions(1).render("fr") == "1 decision"
    assert counts.decisions(3).render("fr") == "3 decisions"
