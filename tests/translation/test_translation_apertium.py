"""Apertium back-end: real rule-based translation from Debian's packages."""

from __future__ import annotations

import shutil

import pytest
from components import require_component

from meetbot.translation.apertium import ApertiumTranslator, parse_modes
from meetbot.translation.base import BackendUnavailable, MissingPair

HOW = "apt-get install apertium apertium-eng-spa apertium-fr-es"


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    require_component("apertium", shutil.which("apertium") is not None, HOW)
    translator = ApertiumTranslator()
    pairs = {("en", "es"), ("es", "en"), ("fr", "es"), ("es", "fr")}
    require_component("apertium's en-es and fr-es data", pairs <= translator.pairs(), HOW)
    return translator


def test_modes_are_parsed_to_iso_codes() -> None:
    listing = "  eco-es-fr\n  eng-spa\n  fr-es\n  spa-eng\n  spa-eng_US\n"
    assert parse_modes(listing) == {
        ("en", "es"): "eng-spa",
        ("fr", "es"): "fr-es",
        ("es", "en"): "spa-eng",
    }


def test_english_to_spanish_and_back(apertium: ApertiumTranslator) -> None:
    assert "casa" in apertium.translate_batch(["The house is red."], "en", "es")[0].lower()
    assert "house" in apertium.translate_batch(["La casa es roja."], "es", "en")[0].lower()


def test_batch_keeps_alignment(apertium: ApertiumTranslator) -> None:
    # "The red" + "house" on adjacent lines would swap words across texts without the
    # blank-line boundary; each text must only contain its own words.
    texts = ["The red", "house is big", "", "Hello\nthe house", "thank you", "  "]
    out = apertium.translate_batch(texts, "en", "es")
    assert len(out) == len(texts)
    assert "casa" not in out[0].lower() and "casa" in out[1].lower()
    assert out[2] == "" and out[5] == ""
    assert out[3].count("\n") == 1 and "casa" in out[3].split("\n")[1].lower()
    assert "gracias" in out[4].lower()


def test_french_to_english_pivots_through_spanish(apertium: ApertiumTranslator) -> None:
    assert apertium.route("fr", "en") == [("fr", "es"), ("es", "en")]
    assert "house" in apertium.translate_batch(["La maison est rouge."], "fr", "en")[0].lower()
    assert "maison" in apertium.translate_batch(["The house is red."], "en", "fr")[0].lower()


def test_missing_pair_and_missing_binary(apertium: ApertiumTranslator) -> None:
    with pytest.raises(MissingPair, match="apertium"):
        apertium.translate_batch(["Hallo"], "de", "en")
    broken = ApertiumTranslator(binary="apertium-not-installed")
    assert broken.pairs() == set()
    with pytest.raises(BackendUnavailable, match="not installed"):
        broken._call(["-l"])
