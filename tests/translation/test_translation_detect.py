"""Offline language detection restricted to a room's languages."""

from __future__ import annotations

import pytest

from meetbot.translation.detect import detect_language

CANDIDATES = ["en", "fr", "es"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The server is down again, can someone restart it?", "en"),
        ("I think we should vote on the proposal now.", "en"),
        ("Je pense que nous devrions voter maintenant.", "fr"),
        ("Merci beaucoup pour le compte rendu de la réunion.", "fr"),
        ("Creo que deberíamos votar la propuesta ahora.", "es"),
        ("¿Quién puede escribir el acta de la reunión?", "es"),
    ],
)
def test_sentences_are_detected(text: str, expected: str) -> None:
    assert detect_language(text, CANDIDATES) == expected


@pytest.mark.parametrize("text", ["hola", "hello", "ok", "yes", "", "   ", "👍"])
def test_short_messages_never_give_a_non_candidate(text: str) -> None:
    assert detect_language(text, CANDIDATES) in (None, *CANDIDATES)


def test_hola_is_unsure_or_a_candidate() -> None:
    assert detect_language("hola", CANDIDATES) in (None, "es")


def test_restricted_to_candidates() -> None:
    german = "Wir sollten jetzt über den Vorschlag abstimmen."
    assert detect_language(german, CANDIDATES) is None
    assert detect_language(german, ["de", "en"]) == "de"
