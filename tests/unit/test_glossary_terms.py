"""A network's glossary: names kept as written, fixed translations, and the hostile texts
they meet (a term inside a word, overlapping terms, any case, accents written two ways, a
term inside a link), then the file, the room's commands and a withdrawal.

Matching and placing are pure; the file is read as the bot reads its config; the commands
run through the core as the bot runs it; the withdrawal runs over a real SQLite database.
"""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from shell_helpers import ANA, BEA, ROOM, config_file, open_bound_bot

from meetbot.cli.main import main
from meetbot.config.files import ConfigError
from meetbot.config.glossary import GlossaryFile, dump_glossary, merged, read_glossary
from meetbot.config.schema import load_config
from meetbot.core.events import Message
from meetbot.core.glossary_effects import AddTerm, RemoveTerm, ShowGlossary
from meetbot.core.model import Agenda, Prompt, Region, RoomSettings, RoomState
from meetbot.i18n import render_lines
from meetbot.research.consent import withdraw
from meetbot.runtime.features import engine
from meetbot.storage.database import _statements
from meetbot.storage.glossary_store import GlossaryStore
from meetbot.translation.base import Pair, Translator
from meetbot.translation.glossary import Glossary
from meetbot.translation.shield import shield

NETWORK = Glossary.build(
    keep=["Guifi.net", "Village Telco", "C++"],
    entries=[
        {"en": "community network", "es": "red comunitaria", "fr": "réseau communautaire"},
        {"en": "network", "es": "red", "fr": "réseau"},
        {"en": "host", "es": "persona anfitriona"},
    ],
)


def translated(text: str, source: str = "en", target: str = "es") -> str:
    """What goes back into the text where each term was (the back-end left alone)."""
    masked = shield(text, NETWORK.spans(text, source, target))
    restored = masked.restore(masked.masked)
    assert restored is not None
    return restored


def test_a_name_stays_as_the_person_wrote_it_and_a_term_takes_its_fixed_translation() -> None:
    assert translated("We met Guifi.net and the community network.") == (
        "We met Guifi.net and the red comunitaria."
    )
    assert translated("GUIFI.NET hosts a Community Network") == "GUIFI.NET hosts a Red comunitaria"
    assert translated("the community network", "en", "fr") == "the réseau communautaire"


def test_the_longest_term_wins_where_two_overlap() -> None:
    found = NETWORK.find("our community network and the network", "en", "es")
    assert [(f.term.source, f.put_back) for f in found] == [
        ("community network", "red comunitaria"), ("network", "red"),
    ]


def test_a_term_is_never_found_inside_a_word() -> None:
    assert NETWORK.find("networking, subnetworks, hosting, ghost, Guifi.network", "en", "es") == []
    assert translated("We host it; the hosts came.") == "We persona anfitriona it; the hosts came."


def test_case_accents_and_line_breaks_do_not_hide_a_term() -> None:
    decomposed = unicodedata.normalize("NFD", "le réseau communautaire")
    assert [f.put_back for f in NETWORK.find(decomposed, "fr", "es")] == ["red comunitaria"]
    assert [f.put_back for f in NETWORK.find("the COMMUNITY\n  network", "en", "fr")] == [
        "Réseau communautaire"  # a capital where the text had one
    ]
    assert [f.put_back for f in NETWORK.find("a C++ meetup", "en", "es")] == ["C++"]


def test_a_fixed_translation_is_looked_for_in_the_text_s_own_language_only() -> None:
    # "red" is a Spanish word of the glossary: an English text about a red flag keeps it.
    assert NETWORK.find("a red flag", "en", "fr") == []
    assert [f.put_back for f in NETWORK.find("la red comunitaria", "es", "fr")] == [
        "réseau communautaire"
    ]
    assert NETWORK.find("the community network", "en", "en") == []


def test_a_term_inside_a_link_or_an_id_leaves_the_link_whole() -> None:
    text = "See https://guifi.net/network and @host:guifi.net about the network"
    masked = shield(text, NETWORK.spans(text, "en", "es"))
    assert masked.spans == ("https://guifi.net/network", "@host:guifi.net", "red")
    assert NETWORK.hits(text, "en", ["es"]) == {"es": ["network"]}


def test_hostile_terms_are_matched_literally() -> None:
    hostile = Glossary.build(keep=["a.*b", "(x|y)", "<b>Name</b>", "Ñandú"])
    assert hostile.find("aXXb and x and y", "en", "es") == []
    assert [f.put_back for f in hostile.find("say a.*b (x|y) <b>Name</b> ÑANDÚ", "en", "es")] == [
        "a.*b", "(x|y)", "<b>Name</b>", "ÑANDÚ",
    ]


def test_a_room_term_replaces_the_file_s_for_the_same_words() -> None:
    glossary = Glossary.build(
        entries=[{"en": "host", "es": "anfitrión"}],
        room_terms=[("host", "es", "persona anfitriona", ANA), ("Sursiendo", "", "Sursiendo", ANA)],
    )
    assert [f.put_back for f in glossary.find("the host of Sursiendo", "en", "es")] == [
        "persona anfitriona", "Sursiendo",
    ]
    # A room's fixed translation is looked for in a text of any language.
    assert [f.put_back for f in glossary.find("le host", "fr", "es")] == ["persona anfitriona"]
    assert glossary.whole(" host ", "en", "es") and not glossary.whole("a host", "en", "es")


class Echo(Translator):
    """A back-end that upper-cases every word and capitalises placeholders (as Apertium
    does to an unknown word after another), to see the terms come back."""

    name = "echo"

    def pairs(self) -> set[Pair]:
        return {("en", "es")}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        return [text.upper() for text in texts]


def test_every_back_end_gets_placeholders_and_the_terms_come_back() -> None:
    out = Echo().translate_batch(
        ["the community network of Guifi.net", "community network", "Guifi.net"],
        "en", "es", NETWORK,
    )
    assert out == ["THE red comunitaria OF Guifi.net", "red comunitaria", "Guifi.net"]


# -- the file ---------------------------------------------------------------------------
def test_the_example_glossary_is_valid_and_the_example_config_names_it() -> None:
    repo = Path(__file__).resolve().parents[2]
    example = read_glossary(repo / "config" / "glossary.example.yaml")
    assert "Guifi.net" in example.keep and len(example.terms) >= 3
    config = (repo / "config" / "meetbot.example.yaml").read_text(encoding="utf-8")
    assert "glossary: glossary.example.yaml" in config


def test_a_mistake_in_the_glossary_file_names_the_config_the_key_and_the_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "glossary.yaml").write_text(
        "keep: [Guifi.net, '']\nterms:\n  - en: community network\n  - xx1: a\n    es: b\n",
        encoding="utf-8",
    )
    config = config_file(tmp_path)
    raw = yaml.safe_load(config.source.read_text())  # type: ignore[union-attr]
    raw["translation"]["glossary"] = "glossary.yaml"
    config.source.write_text(yaml.safe_dump(raw))  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as error:
        load_config(config.source)  # type: ignore[arg-type]
    lines = str(error.value).splitlines()
    where = f"{config.source}: translation.glossary: {tmp_path / 'glossary.yaml'}"
    assert lines == [
        f"{where}: keep[1]: '' must not be empty",
        f"{where}: terms[0]: give the term in one language and its translation in another "
        "(en: community network, es: red comunitaria); a name kept as written goes under keep:",
        f"{where}: terms[1]: 'xx1' is not a language code such as en, fr or es (or source: for "
        "a term looked for in a text of any language)",
    ]
    (tmp_path / "glossary.yaml").write_text("keep:\n\t- x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"translation.glossary: .*glossary.yaml \(line 2"):
        load_config(config.source)  # type: ignore[arg-type]
    (tmp_path / "glossary.yaml").unlink()
    with pytest.raises(ConfigError, match=r"translation\.glossary: .*no such file"):
        load_config(config.source)  # type: ignore[arg-type]


def test_the_export_writes_the_room_terms_into_the_file_s_entries() -> None:
    file = GlossaryFile(keep=["Guifi.net"], terms=[{"en": "community network",
                                                     "es": "red comunitaria"}])
    out = merged(file, [("Village Telco", "", "Village Telco"), ("guifi.net", "", "guifi.net"),
                        ("Community network", "fr", "réseau communautaire"),
                        ("mesh", "es", "malla")])
    assert out.keep == ["Guifi.net", "Village Telco"]
    assert out.terms == [
        {"en": "community network", "es": "red comunitaria", "fr": "réseau communautaire"},
        {"source": "mesh", "es": "malla"},
    ]
    again = yaml.safe_load(dump_glossary(out))
    assert GlossaryFile.model_validate(again) == out


# -- the room's commands, in the core ----------------------------------------------------
SETTINGS = RoomSettings(
    region=Region("latam", "Latin America", ROOM, ("es", "en"), "America/Bogota"),
    agenda=Agenda("default", {"en": "Check-in"}, (Prompt("worked", {"en": "What worked?"}),)),
    bot_user_id="@meetbot:example.org",
    facilitators=frozenset({ANA}),
)
AT = datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc)


def says(who: str, body: str) -> list:
    event = Message("$t1", ROOM, who, AT, body=body, display_name=who[1:4])
    return engine().handle(RoomState(ROOM), SETTINGS, event).effects


def answer(effects: list) -> str:
    return "\n".join(render_lines(e.lines, "en") for e in effects if hasattr(e, "lines"))


def test_a_facilitator_adds_a_name_and_a_fixed_translation() -> None:
    effects = says(ANA, "!term add Guifi.net")
    assert AddTerm(ROOM, "$t1", ANA, "Guifi.net", "", "Guifi.net") in effects
    assert "Guifi.net is now kept as written in every language" in answer(effects)
    effects = says(ANA, "!term add community  network = red comunitaria es")
    assert AddTerm(ROOM, "$t1", ANA, "community network", "es", "red comunitaria") in effects
    assert "translated into es as red comunitaria" in answer(effects)
    assert [type(e) for e in says(ANA, "!term remove Guifi.net")] == [RemoveTerm]
    assert [type(e) for e in says(BEA, "!glossary")] == [ShowGlossary]


def test_a_participant_is_refused_and_a_malformed_term_gets_its_usage() -> None:
    assert "Only a facilitator or chair can use !term" in answer(says(BEA, "!term add X"))
    for body, reason in [
        ("!term", "Say add or remove"),
        ("!term add", "Give the term."),
        ("!term add host = anfitrión", "After = give the translation, then its language"),
        ("!term add host = la paz", "After = give the translation, then its language"),
        ("!term add ???", "at least one letter or digit"),
    ]:
        text = answer(says(ANA, body))
        assert reason in text and "Usage: !term add SOURCE [= TARGET LANG] | remove" in text, body
        assert not [e for e in says(ANA, body) if isinstance(e, AddTerm)]


# -- withdrawal ----------------------------------------------------------------------------
async def test_a_withdrawal_removes_the_terms_the_person_added(tmp_path: Path) -> None:
    opened = await open_bound_bot(config_file(tmp_path, languages=("es", "en")))
    app = opened.app
    try:
        store = GlossaryStore(app.store)
        async with app.store.db.transaction():
            await store.add("Guifi.net", "", "Guifi.net", BEA, ROOM)
            await store.add("host", "es", "persona anfitriona", BEA, ROOM)
            await store.add("Village Telco", "", "Village Telco", ANA, ROOM)
        glossary = await opened.translation.glossary.refresh()
        assert len(glossary.terms) == 3
        await withdraw(app, BEA, datetime.now(timezone.utc))
        assert [t.source for t in await store.terms()] == ["Village Telco"]
        glossary = await opened.translation.glossary.refresh()
        assert [t.source for t in glossary.terms] == ["Village Telco"]
    finally:
        await app.store.db.close()


async def test_meetbot_glossary_export_writes_the_room_terms_into_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "glossary.yaml").write_text(
        "keep: [Guifi.net]\nterms:\n  - en: community network\n    es: red comunitaria\n",
        encoding="utf-8",
    )
    config = config_file(tmp_path, translation={"backend": "none", "glossary": "glossary.yaml"})
    opened = await open_bound_bot(config)
    store = GlossaryStore(opened.app.store)
    async with opened.app.store.db.transaction():
        await store.add("Village Telco", "", "Village Telco", ANA, ROOM)
        await store.add("community network", "fr", "réseau communautaire", ANA, ROOM)
    await opened.app.store.db.close()

    out = tmp_path / "reviewed.yaml"
    args = ["glossary", "export", "--config", str(config.source), "--out", str(out)]
    assert await asyncio.to_thread(main, args) == 0
    assert capsys.readouterr().out.strip() == str(out)
    written = read_glossary(out)
    assert written.keep == ["Guifi.net", "Village Telco"]
    assert written.terms == [{"en": "community network", "es": "red comunitaria",
                              "fr": "réseau communautaire"}]
    # Without --out, the config's own file is replaced; nothing else in the folder changes.
    assert await asyncio.to_thread(main, args[:4]) == 0
    assert read_glossary(tmp_path / "glossary.yaml") == written
    assert sorted(await asyncio.to_thread(lambda: [p.name for p in tmp_path.glob("*.yaml")])) == [
        "glossary.yaml", "meetbot.yaml", "reviewed.yaml",
    ]


def test_a_migration_s_trigger_is_one_statement() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE a (x TEXT);
        CREATE TRIGGER t AFTER DELETE ON a
        BEGIN
            DELETE FROM b WHERE x = OLD.x;
            DELETE FROM c WHERE x = OLD.x;
        END;
        CREATE INDEX i ON a (x);
    """
    assert [" ".join(s.split()) for s in _statements(script)] == [
        "CREATE TABLE a (x TEXT)",
        "CREATE TRIGGER t AFTER DELETE ON a BEGIN DELETE FROM b WHERE x = OLD.x; "
        "DELETE FROM c WHERE x = OLD.x; END",
        "CREATE INDEX i ON a (x)",
    ]
