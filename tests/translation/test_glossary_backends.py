"""The glossary honoured by every real back-end: Apertium (real output, pivots included), the
tiny Argos models (random weights: they lose placeholders, so the piece-by-piece fallback
carries the terms) and a real LibreTranslate server.

The network's glossary is the example's kind: names kept as written ("Village Telco", which
Apertium makes "Pueblo Telco") and fixed translations ("réseau communautaire", which Apertium
makes "cobertura comunitaria").
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from components import require_component

from meetbot.translation.apertium import ApertiumTranslator
from meetbot.translation.argos import ArgosTranslator
from meetbot.translation.base import Translator
from meetbot.translation.factory import make_translator
from meetbot.translation.glossary import Glossary
from meetbot.translation.service import TranslationService

HOW = "apt-get install apertium apertium-eng-spa apertium-fr-es"
NETWORK = Glossary.build(
    keep=["Village Telco", "Guifi.net"],
    entries=[
        {"en": "community network", "es": "red comunitaria", "fr": "réseau communautaire"},
        {"en": "host", "es": "persona anfitriona", "fr": "hôte"},
    ],
)


@pytest.fixture(scope="module")
def apertium() -> ApertiumTranslator:
    require_component("apertium", shutil.which("apertium") is not None, HOW)
    translator = ApertiumTranslator()
    pairs = {("en", "es"), ("es", "en"), ("fr", "es"), ("es", "fr")}
    require_component("apertium's en-es and fr-es data", pairs <= translator.pairs(), HOW)
    return translator


def test_apertium_alone_mangles_the_names_and_the_terms(apertium: ApertiumTranslator) -> None:
    (out,) = apertium.translate_batch(["Le réseau communautaire de Village Telco"], "fr", "es")
    assert "cobertura comunitaria" in out.lower() and "Pueblo" in out


def test_apertium_with_the_glossary_keeps_names_and_fixed_translations(
    apertium: ApertiumTranslator,
) -> None:
    texts = [
        "Le réseau communautaire de Village Telco se réunit lundi.",
        "La red comunitaria de Guifi.net se reúne con la persona anfitriona.",
        "We host the meeting of the community network.",
    ]
    french, spanish, english = (
        apertium.translate_batch([texts[0]], "fr", "es", NETWORK)[0],
        apertium.translate_batch([texts[1]], "es", "en", NETWORK)[0],
        apertium.translate_batch([texts[2]], "en", "es", NETWORK)[0],
    )
    assert "red comunitaria" in french and "Village Telco" in french, french
    assert "lunes" in french  # the rest is still Apertium's translation
    assert "community network" in spanish and "Guifi.net" in spanish, spanish
    assert "host" in spanish, spanish
    assert "red comunitaria" in english and "persona anfitriona" in english, english
    assert "reunión" in english


def test_apertium_through_a_pivot_uses_the_pair_s_own_terms(apertium: ApertiumTranslator) -> None:
    # French to English goes through Spanish; the terms are those of French → English.
    assert apertium.route("fr", "en") == [("fr", "es"), ("es", "en")]
    (out,) = apertium.translate_batch(["Le réseau communautaire de Village Telco"], "fr", "en",
                                      NETWORK)
    assert "community network" in out and "Village Telco" in out, out


def test_a_text_that_is_one_term_is_not_sent_at_all(apertium: ApertiumTranslator) -> None:
    assert apertium.translate_batch(["Réseau communautaire", "Village Telco"], "fr", "es",
                                    NETWORK) == ["Red comunitaria", "Village Telco"]


def test_the_service_translates_with_the_glossary_it_was_given(
    apertium: ApertiumTranslator,
) -> None:
    async def run() -> tuple[dict[str, str], dict[str, str]]:
        service = TranslationService(ApertiumTranslator())
        try:
            before = await service.translate("Le réseau communautaire", "fr", ["es"])
            service.set_glossary(NETWORK)  # a cached translation must not hide the new term
            after = await service.translate("Le réseau communautaire", "fr", ["es"])
            return before, after
        finally:
            await service.close()

    before, after = asyncio.run(run())
    assert "cobertura" in before["es"] and "red comunitaria" in after["es"]


def _check_terms_survive(translator: Translator) -> None:
    texts = [
        "The community network of Village Telco meets on Monday.",
        "Guifi.net will host the next meeting.",
    ]
    spanish = translator.translate_batch(texts, "en", "es", NETWORK)
    assert "red comunitaria" in spanish[0] and "Village Telco" in spanish[0], spanish
    assert "Guifi.net" in spanish[1] and "persona anfitriona" in spanish[1], spanish
    # French to Spanish pivots through English: the French → Spanish terms are used.
    (pivot,) = translator.translate_batch(["Le réseau communautaire de Village Telco"], "fr",
                                          "es", NETWORK)
    assert "red comunitaria" in pivot and "Village Telco" in pivot, pivot


def test_argos_with_the_tiny_models_keeps_the_terms(argos: ArgosTranslator) -> None:
    _check_terms_survive(argos)


@pytest.mark.slow
def test_a_libretranslate_server_keeps_the_terms(libretranslate_url: str) -> None:
    translator = make_translator("libretranslate", models_dir=Path("unused"),
                                 libretranslate_url=libretranslate_url, api_key=None)
    try:
        _check_terms_survive(translator)
    finally:
        translator.close()
