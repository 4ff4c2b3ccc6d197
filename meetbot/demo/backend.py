"""Which translation back-end the demo uses: the best one this machine has, or can fetch.

:func:`prepare_backend` is the demo's first act: when the Argos models for its languages are
not in the user's cache yet and the machine is online, it downloads them (once; later runs
reuse them), then :func:`choose_backend` decides: Argos models, else Apertium on the PATH,
else none. A back-end also needs the bot's support for it (its module under
``meetbot.translation``), so the demo never claims a translation the bot cannot make.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

PIVOT = "en"
APERTIUM_HINT = "apt install apertium apertium-eng-spa apertium-fr-es"
#: What the first run downloads, for the messages (four released packages of ~100 MB each).
APPROXIMATE_PACKAGE_MB = 100


@dataclass(frozen=True)
class BackendChoice:
    """The chosen back-end, why, and how to get a better one (empty when it is the best)."""

    backend: str  # a value of translation.backend in the config
    reason: str
    better: str  # one sentence for a person, "" when nothing is better


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def bot_supports(backend: str) -> bool:
    """True when this meetbot has a translator for ``backend``."""
    return _module_exists(f"meetbot.translation.{backend}")


def argos_runnable() -> bool:
    """True when Argos packages can run here: CTranslate2 and SentencePiece (the demo extra)."""
    return (
        _module_exists("ctranslate2") and _module_exists("sentencepiece") and bot_supports("argos")
    )


def default_models_dir() -> Path:
    """The user's cache for the demo's models: ``$XDG_CACHE_HOME/meetbot/models``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "meetbot" / "models"


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


def missing_pairs(models_dir: Path, languages: Sequence[str]) -> list[tuple[str, str]]:
    installed = argos_pairs(models_dir)
    return [pair for pair in needed_pairs(languages) if pair not in installed]


def _arrows(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{s}→{t}" for s, t in pairs)


def _couples(languages: Sequence[str]) -> str:
    return " and ".join(f"{PIVOT}↔{lang}" for lang in languages if lang != PIVOT)


def choose_backend(
    models_dir: Path, languages: Sequence[str], *, argos_problem: str = ""
) -> BackendChoice:
    """The best translation back-end available for ``languages``, and how to get a better one.

    ``argos_problem`` says why the Argos models could not be fetched (offline, skipped...).
    """
    if not argos_runnable():
        argos_why = "the Argos runtime (CTranslate2, SentencePiece) is not installed"
        argos_hint = "pip install -e '.[demo]' and run the demo again (online, once)"
    else:
        missing = missing_pairs(models_dir, languages)
        if not missing:
            return BackendChoice("argos", f"Argos models in {models_dir}", "")
        argos_why = argos_problem or f"no Argos models for {_arrows(missing)} in {models_dir}"
        argos_hint = (
            "run `meetbot demo` while online, without --no-download: it fetches the Argos "
            f"models once (about {len(missing) * APPROXIMATE_PACKAGE_MB} MB)"
        )
    on_path = shutil.which("apertium") is not None
    if on_path and bot_supports("apertium"):
        return BackendChoice(
            "apertium",
            f"Apertium found on the PATH ({argos_why})",
            f"To translate better (neural, Argos), {argos_hint}.",
        )
    apertium_why = "this meetbot has no Apertium back-end" if on_path else "no apertium on the PATH"
    return BackendChoice(
        "none",
        f"{argos_why}; {apertium_why}",
        f"To translate, {argos_hint}; or {APERTIUM_HINT}.",
    )


def _say(out: TextIO | None, text: str) -> None:
    if out is not None:
        print(text, file=out, flush=True)


def prepare_backend(
    models_dir: Path,
    languages: Sequence[str],
    *,
    download: bool = True,
    out: TextIO | None = None,
    index: str | None = None,
    attempts: int = 5,
) -> BackendChoice:
    """ONLINE unless ``download`` is false or the models are there: fetch, then choose.

    Missing Argos models for ``languages`` are downloaded into ``models_dir`` with a progress
    bar on ``out``; when that is impossible (offline, ``download`` false, a broken download)
    the reason goes into the choice, which falls back to Apertium or none.
    """
    missing = missing_pairs(models_dir, languages) if argos_runnable() else []
    problem = ""
    if missing and not download:
        problem = "not fetching the Argos models (--no-download)"
    elif missing:
        from meetbot.translation.download import DownloadError, Offline, fetch_packages

        _say(
            out,
            f"Translation: fetching the Argos models for {_couples(languages)} into {models_dir}\n"
            f"  ({len(missing)} packages, about {APPROXIMATE_PACKAGE_MB} MB each; once, later "
            "runs reuse them; to skip: meetbot demo --no-download)",
        )
        try:
            fetched = fetch_packages(models_dir, missing, index=index, out=out, attempts=attempts)
        except Offline as exc:
            problem = f"offline: {exc}"
        except DownloadError as exc:
            problem = f"the Argos models could not be fetched: {exc}"
        except OSError as exc:
            problem = f"the Argos models could not be saved in {models_dir}: {exc}"
        else:
            choice = choose_backend(models_dir, languages)
            if choice.backend == "argos":
                size = f"{fetched.bytes / 1e6:.0f} MB"
                return BackendChoice(
                    "argos",
                    f"Argos models downloaded into {models_dir} "
                    f"({len(fetched.pairs)} packages, {size})",
                    "",
                )
            return choice
    return choose_backend(models_dir, languages, argos_problem=problem)
