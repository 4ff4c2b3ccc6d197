"""Pick a back-end from the bot's configuration."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from meetbot.translation.base import Translator

BACKENDS = ("argos", "apertium", "libretranslate", "none")


def make_translator(
    backend: str,
    *,
    models_dir: Path,
    libretranslate_url: str | Sequence[str],
    api_key: str | None,
    argos_threads: int | None = None,
) -> Translator:
    """Build the configured back-end (nothing heavy is loaded before the first translation).

    ``libretranslate_url`` is one server's URL or a pool's (a list). ``argos_threads``:
    CTranslate2 threads per batch (None: all cores but one).

    Raises:
        ValueError: unknown back-end name.
    """
    if backend == "argos":
        from meetbot.translation.argos import ArgosTranslator

        return ArgosTranslator(models_dir, intra_threads=argos_threads)
    if backend == "apertium":
        from meetbot.translation.apertium import ApertiumTranslator

        return ApertiumTranslator()
    if backend == "libretranslate":
        from meetbot.translation.libretranslate import LibreTranslateTranslator

        return LibreTranslateTranslator(libretranslate_url, api_key)
    if backend == "none":
        from meetbot.translation.none import NoTranslator

        return NoTranslator()
    raise ValueError(
        f"Unknown translation backend {backend!r}; choose one of {', '.join(BACKENDS)}"
    )
