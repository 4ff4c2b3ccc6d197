"""Which translation back-end the demo uses: the best one this machine has.

All of the choice lives in :func:`choose_backend`: installed Argos models, else Apertium on the
PATH, else none. A back-end also needs the bot's support for it (its module under
``meetbot.translation``), so the demo never claims a translation the bot cannot make.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PIVOT = "en"


@dataclass(frozen=True)
class BackendChoice:
    """The chosen back-end, why, and how to get a better one (empty when it is the best)."""

    backend: str  # a value of translation.backend in the config
    reason: str
    better: str


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def bot_supports(backend: str) -> bool:
    """True when this meetbot has a translator for ``backend``."""
    return _module_exists(f"meetbot.translation.{backend}")


def argos_pairs(models_dir: Path) -> set[tuple[str, str]]:
    """The (source, target) pairs of the Argos packages installed in ``models_dir``."""
    pairs: set[tuple[str, str]] = set()
    if not models_dir.is_dir():
        return pairs
    for metadata in models_dir.glob("*/metadata.json"):
        try:
            meta = json.loads(metadata.read_text(encoding="utf-8"))
            pairs.add((str(meta["from_code"]), str(meta["to_code"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return pairs


def needed_pairs(languages: Sequence[str]) -> list[tuple[str, str]]:
    """en↔x for every other language: every direction works through English."""
    return [p for lang in languages if lang != PIVOT for p in ((PIVOT, lang), (lang, PIVOT))]


def install_hint(models_dir: Path, languages: Sequence[str]) -> str:
    others = " ".join(lang for lang in languages if lang != PIVOT)
    return (
        "Argos models (the best; a download once, offline after): pip install -e "
        "'.[argos-lite]' && pip install --no-deps argostranslate "
        f"&& meetbot models install --models-dir {models_dir} {others}"
    )


def choose_backend(models_dir: Path, languages: Sequence[str]) -> BackendChoice:
    """The best translation back-end available for ``languages``, and how to get a better one."""
    argos_hint = install_hint(models_dir, languages)
    argos_ready = _module_exists("argostranslate") and bot_supports("argos")
    if argos_ready:
        missing = [p for p in needed_pairs(languages) if p not in argos_pairs(models_dir)]
        if not missing:
            return BackendChoice("argos", f"Argos models installed in {models_dir}", "")
        argos_why = "no Argos models for " + ", ".join(f"{s}→{t}" for s, t in missing)
    else:
        argos_why = "Argos Translate is not installed"
    on_path = shutil.which("apertium") is not None
    if on_path and bot_supports("apertium"):
        return BackendChoice("apertium", f"Apertium found on the PATH ({argos_why})", argos_hint)
    apertium_why = "this meetbot has no Apertium back-end" if on_path else "no apertium on the PATH"
    apertium_hint = "or Apertium (apt install apertium apertium-eng-spa apertium-fr-es)"
    return BackendChoice(
        "none", f"{argos_why}; {apertium_why}", f"{argos_hint}; {apertium_hint}"
    )
