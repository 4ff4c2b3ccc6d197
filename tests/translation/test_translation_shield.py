"""Mentions, pills, aliases, URLs and code pass through every back-end untouched.

The shield sits in ``Translator.translate_batch``, which every back-end goes through. It is
tested here with back-ends that mangle placeholders on purpose, then with the real Apertium
and the tiny Argos models (whose random weights lose every placeholder: the piece-by-piece
fallback).
"""

from __future__ import annotations

import re
import shutil

import pytest
from components import require_component

from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.argos import ArgosTranslator
from meetbot.translation.base import Pair, Translator
from meetbot.translation.shield import protected_spans, shield

SAM = "@sam:localhost"
LUCIE = "@lucie:example.org"
PILL = "[Sam](https://matrix.to/#/@sam:localhost)"
URL = "https://example.org/notes_2024?week=1&lang=es"
ALIAS = "#demo-meeting:localhost"
ROOM_ID = "!AbCdEf:example.org:8448"
CODE = "`pip install meetbot[argos]`"

# Texts with the spans a translator must leave alone, and the spans each must keep.
TEXTS = {
    f"{SAM} will organise the first workshop": [SAM],
    f"Ask {SAM} and {LUCIE} about {URL} before Friday.": [SAM, LUCIE, URL],
    f"Run {CODE} then join {ALIAS}.": [CODE, ALIAS],
    f"See {PILL} in {ROOM_ID}": [PILL, ROOM_ID],
    f"{LUCIE} preparará la libreta común": [LUCIE],
}


def test_the_spans_found_are_the_protected_ones() -> None:
    for text, spans in TEXTS.items():
        assert [text[a:b] for a, b in protected_spans(text)] == spans, text


def test_sentence_punctuation_is_not_part_of_an_id_or_a_link() -> None:
    text = f"Thanks {SAM}. Read {URL}, then <https://example.org/x> (and {ALIAS})!"
    assert [text[a:b] for a, b in protected_spans(text)] == [
        SAM, URL, "<https://example.org/x>", ALIAS,
    ]


def test_a_command_word_is_no_room_id() -> None:
    assert protected_spans("!action tomorrow: call the council") == []


class Mangler(Translator):
    """A back-end that upper-cases everything and mangles placeholders as told."""

    name = "mangler"

    def __init__(self, mangle: str = "") -> None:
        self.mangle = mangle
        self.calls: list[list[str]] = []

    def pairs(self) -> set[Pair]:
        return {("en", "es")}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append(list(texts))
        out = []
        for text in texts:
            if self.mangle == "spaced":
                text = re.sub(r"([A-Z][a-z]+)([0-9]+)", r"\1 \2", text).upper()
            elif self.mangle == "lost":
                text = re.sub(r"[A-Z][a-z]+[0-9]+", "", text)
            elif self.mangle == "doubled":
                text = re.sub(r"([A-Z][a-z]+[0-9]+)", r"\1 \1", text)
            elif self.mangle == "capital":  # Apertium after an unknown first word
                text = re.sub(r"^(\w+[0-9]) (\w)", lambda m: f"{m[1]} {m[2].upper()}", text)
            out.append(f"«{text}»" if self.mangle != "capital" else text)
        return out


@pytest.mark.parametrize("mangle", ["", "spaced", "capital"])
def test_placeholders_come_back_however_the_back_end_spells_them(mangle: str) -> None:
    translator = Mangler(mangle)
    out = translator.translate_batch(list(TEXTS), "en", "es")
    for (text, spans), result in zip(TEXTS.items(), out, strict=True):
        for span in spans:
            assert result.count(span) == 1, (text, result)
    # The spans never reached the back-end; one call for the whole batch.
    assert len(translator.calls) == 1
    assert not any(SAM in t or URL in t for t in translator.calls[0])


def test_a_word_capitalised_after_a_placeholder_is_lowered_again() -> None:
    (out,) = Mangler("capital").translate_batch([f"{SAM} will organise it"], "en", "es")
    assert out == f"{SAM} will organise it"
    # A word that was capitalised in the source keeps its capital.
    (out,) = Mangler("capital").translate_batch([f"{SAM} Will do it"], "en", "es")
    assert out == f"{SAM} Will do it"


@pytest.mark.parametrize("mangle", ["lost", "doubled"])
def test_lost_or_doubled_placeholders_fall_back_to_translating_between_the_spans(
    mangle: str,
) -> None:
    translator = Mangler(mangle)
    (out,) = translator.translate_batch([f"Ask {SAM}, then {URL} today"], "en", "es")
    assert out == f"«Ask» {SAM}«, then» {URL} «today»"
    assert translator.calls[1] == ["Ask", ", then", "today"]  # one call for every piece


def test_a_text_of_spans_alone_is_not_sent() -> None:
    translator = Mangler()
    assert translator.translate_batch([URL, f"{SAM} {ALIAS}"], "en", "es") == [
        URL, f"{SAM} {ALIAS}",
    ]
    assert translator.calls == []


def test_a_text_that_holds_the_placeholder_stem_gets_another_one() -> None:
    text = f"zxq0 is not a placeholder, {SAM} is"
    shielded = shield(text)
    assert shielded.stem.casefold() not in text.casefold()
    (out,) = Mangler().translate_batch([text], "en", "es")
    assert out == f"«zxq0 is not a placeholder, {SAM} is»"


# -- real back-ends --------------------------------------------------------------------


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    how = "apt-get install apertium apertium-eng-spa apertium-fr-es"
    require_component("apertium", shutil.which("apertium") is not None, how)
    return ApertiumTranslator()


@pytest.mark.parametrize(
    "source,target", [("en", "es"), ("en", "fr"), ("es", "en"), ("es", "fr"), ("fr", "en")]
)
def test_apertium_keeps_every_span_in_every_direction(
    apertium: ApertiumTranslator, source: str, target: str
) -> None:
    out = apertium.translate_batch(list(TEXTS), source, target)
    for (text, spans), result in zip(TEXTS.items(), out, strict=True):
        for span in spans:
            assert result.count(span) == 1, (text, result)
        assert "  " not in result and "Zxq" not in result and "zxq" not in result.lower()


def test_apertium_translates_the_demos_action_cleanly(apertium: ApertiumTranslator) -> None:
    text = f"{SAM} will organise the first workshop"
    assert apertium.translate_batch([text], "en", "es") == [f"{SAM} organizará el primer taller"]
    assert apertium.translate_batch([text], "en", "fr") == [
        f"{SAM} organisera le premier atelier"
    ]


def test_tiny_argos_models_keep_every_span(argos: ArgosTranslator) -> None:
    for source, target in [("en", "es"), ("es", "fr"), ("fr", "en")]:
        out = argos.translate_batch(list(TEXTS), source, target)
        for (text, spans), result in zip(TEXTS.items(), out, strict=True):
            for span in spans:
                assert result.count(span) == 1, (text, result)
