"""A back-end that translates nothing: for rooms that only want the minutes."""

from __future__ import annotations

from meetbot.translation.base import Pair, Translator


class NoTranslator(Translator):
    """Has no pairs, so every request between two different languages raises MissingPair."""

    name = "none"
    pivots = ()

    def pairs(self) -> set[Pair]:
        return set()

    def install_hint(self, source: str, target: str) -> str:
        return (
            "Translation is switched off (backend 'none'); "
            "choose argos, apertium or libretranslate."
        )

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        raise AssertionError("unreachable: NoTranslator has no pairs")
