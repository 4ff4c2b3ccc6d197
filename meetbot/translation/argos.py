"""Argos Translate back-end: installed ``.argosmodel`` packages run by CTranslate2, offline.

Two ways to read a package, the same CTranslate2 call for both:

- with argostranslate installed (the ``argos`` extra), its package metadata, tokenizers and
  spaCy sentence splitting, as below;
- without it (the ``demo`` extra: CTranslate2 and SentencePiece only), meetbot's own reader
  (:mod:`meetbot.translation.argos_package`): SentencePiece packages, rule-based sentences.

argostranslate reads its settings (package directory, XDG directories, sentence splitter) when
it is first imported, creates directories under the home directory, and reaches the network
in three places (package index, MiniSBD model, spaCy ``xx_sent_ud_sm``). This module sets
everything up before that single, lazy import and never calls the network paths.

It uses argostranslate for package metadata, tokenizers and sentence splitting, but calls
CTranslate2 directly with every sentence of every text in ONE ``translate_batch``:
argostranslate's own ``translate()`` handles one text at a time, which wastes the batching
that makes CPU translation affordable.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from meetbot.translation.argos_package import RUNTIME_HINT, ArgosPackage
from meetbot.translation.base import BackendUnavailable, Pair, TranslationError, Translator

_IMPORT_LOCK = threading.Lock()
_INSTALL_LOCK = threading.Lock()
_argos: ModuleType | None = None  # argostranslate.package, once imported


def argostranslate_installed() -> bool:
    """True when the full Argos library is importable (the ``argos`` extra): argostranslate
    and the Stanza its translation module loads. argostranslate installed without its
    requirements is read by meetbot's own runner."""
    try:
        return all(importlib.util.find_spec(name) is not None
                   for name in ("argostranslate", "stanza"))
    except (ImportError, ValueError):
        return False


def state_dir(models_dir: Path) -> Path:
    """Where argostranslate's data/cache/config go: inside models_dir, never the home dir."""
    return models_dir / ".argos-state"


@contextlib.contextmanager
def _scoped_env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the import only.

    XDG_* must not leak: other libraries of the bot process read them too.
    """
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _seed_spacy_cache(cache_home: Path) -> None:
    """Pre-fill the spaCy cache that ``argostranslate.sbd`` checks at import time.

    With ARGOS_CHUNK_TYPE=SPACY, importing argostranslate.sbd downloads ``xx_sent_ud_sm`` unless
    ``<cache>/argos-translate/spacy/senter/model`` exists. A blank multilingual pipeline
    (Argos adds a rule-based sentencizer) serves packages that ship no ``spacy/`` folder.
    """
    cache = cache_home / "argos-translate" / "spacy"
    marker = cache / "senter" / "model"
    if marker.exists():
        return
    import spacy

    cache.mkdir(parents=True, exist_ok=True)
    spacy.blank("xx").to_disk(cache)
    marker.mkdir(parents=True, exist_ok=True)


def import_argos(models_dir: Path) -> ModuleType:
    """Import ``argostranslate.package`` once, configured for ``models_dir``.

    The first caller's directory wins for argostranslate's own globals; this module passes
    explicit paths everywhere else, so several ArgosTranslator instances can coexist.
    """
    global _argos
    with _IMPORT_LOCK:
        if _argos is None:
            models_dir.mkdir(parents=True, exist_ok=True)
            state = state_dir(models_dir)
            if importlib.util.find_spec("argostranslate") is None:
                raise BackendUnavailable(
                    "argostranslate is not installed: pip install 'meetbot[argos]' "
                    "(or choose translation.backend: apertium, libretranslate or none)"
                )
            _seed_spacy_cache(state / "cache")
            env = {
                "ARGOS_PACKAGES_DIR": str(models_dir),
                "XDG_DATA_HOME": str(state / "data"),
                "XDG_CACHE_HOME": str(state / "cache"),
                "XDG_CONFIG_HOME": str(state / "config"),
            }
            # Read at import AND at each PackageTranslation: keep it for the whole process.
            os.environ["ARGOS_CHUNK_TYPE"] = "SPACY"
            with _scoped_env(env):
                import argostranslate.package
                import argostranslate.sbd  # runs the spaCy cache check now, under our env

            _argos = argostranslate.package
        return _argos


@contextlib.contextmanager
def packages_dir(models_dir: Path) -> Iterator[ModuleType]:
    """argostranslate.package with its install directory pointed at ``models_dir``."""
    package = import_argos(models_dir)
    settings = package.settings
    # Our own lock: argostranslate's package_lock is a plain Lock that install_from_path takes.
    with _INSTALL_LOCK:
        saved = settings.package_data_dir
        settings.package_data_dir = models_dir
        try:
            yield package
        finally:
            settings.package_data_dir = saved


def installed_package_dirs(models_dir: Path) -> list[Path]:
    """Installed package folders (those with a metadata.json), sorted by name."""
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if (p / "metadata.json").is_file())


def default_threads() -> int:
    """CTranslate2 threads when none are configured: every core the process may use but one,
    at least one.

    The bot's event loop (and, often, its homeserver) needs a core while a batch runs: with
    every core, CTranslate2's OpenMP workers wait for each other by spinning, and on a busy
    2-core machine a tiny-model batch cost 3 to 13 times the CPU it costs on one thread,
    taken from the loop that answers commands (docs/translation.md, "Threads").
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


@dataclass
class _Loaded:
    tokenizer: Any  # .encode(str) -> list[str], .decode(list[str]) -> str
    target_prefix: str
    translator: Any  # ctranslate2.Translator
    split_sentences: Callable[[str], list[str]]


class ArgosTranslator(Translator):
    """Translate with the Argos packages installed in ``models_dir``; pivots through English.

    Args:
        models_dir: folder of installed packages (each a folder with metadata.json).
        beam_size: 4 is Argos' default; 1 (greedy) halves the CPU time per message.
        max_decoding_length: upper bound on generated tokens per sentence.
        intra_threads: CTranslate2 threads per batch; None: :func:`default_threads` (all
            cores but one). 0 is CTranslate2's own choice, every core.
        compute_type: CTranslate2 compute type ("auto", "int8", ...).
        use_argostranslate: read packages with argostranslate (True), with meetbot's own
            reader (False), or with argostranslate when it is installed (None).
    """

    name = "argos"
    pivots = ("en",)

    def __init__(
        self,
        models_dir: Path,
        *,
        beam_size: int = 4,
        max_decoding_length: int = 256,
        intra_threads: int | None = None,
        compute_type: str = "auto",
        use_argostranslate: bool | None = None,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.beam_size = beam_size
        self.max_decoding_length = max_decoding_length
        self.intra_threads = default_threads() if intra_threads is None else intra_threads
        self.compute_type = compute_type
        self.use_argostranslate = (
            argostranslate_installed() if use_argostranslate is None else use_argostranslate
        )
        self._lock = threading.Lock()
        self._loaded: dict[Pair, _Loaded] = {}
        self._pairs: dict[Pair, Path] | None = None

    def _scan(self) -> dict[Pair, Path]:
        import json

        found: dict[Pair, Path] = {}
        for folder in installed_package_dirs(self.models_dir):
            meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
            if meta.get("type", "translate") == "translate":
                found.setdefault((meta["from_code"], meta["to_code"]), folder)
        return found

    def refresh(self) -> None:
        """Forget the list of installed packages (after installing new ones)."""
        with self._lock:
            self._pairs = None

    def pairs(self) -> set[Pair]:
        with self._lock:
            if self._pairs is None:
                self._pairs = self._scan()
            return set(self._pairs)

    def install_hint(self, source: str, target: str) -> str:
        wanted = sorted({lang for lang in (source, target) if lang != "en"})
        return (
            f"Install the Argos packages {', '.join(f'en↔{x}' for x in wanted)} "
            f"(`meetbot models install {' '.join(wanted)}` on a machine with internet, "
            f"or copy .argosmodel files and install them from disk)."
        )

    def load(self, source: str, target: str) -> _Loaded:
        """Load (once) the model of a direct pair; also used to warm up ahead of a meeting."""
        with self._lock:
            loaded = self._loaded.get((source, target))
            if loaded is not None:
                return loaded
            if self._pairs is None:
                self._pairs = self._scan()
            folder = self._pairs[(source, target)]
            try:
                import ctranslate2
            except ImportError as exc:
                raise BackendUnavailable(f"ctranslate2 is not installed: {RUNTIME_HINT}") from exc
            if self.use_argostranslate:
                package_module = import_argos(self.models_dir)
                from argostranslate.sbd import SpacySentencizerSmall

                package = package_module.Package(folder)
                tokenizer, prefix = package.tokenizer, package.target_prefix
                split = SpacySentencizerSmall(package).split_sentences
            else:
                light = ArgosPackage.open(folder)
                tokenizer, prefix = light.tokenizer(), light.target_prefix
                split = light.splitter()
            translator = ctranslate2.Translator(
                str(folder / "model"),
                device="cpu",
                compute_type=self.compute_type,
                inter_threads=1,
                intra_threads=self.intra_threads,
            )
            loaded = _Loaded(tokenizer, prefix, translator, split)
            self._loaded[(source, target)] = loaded
            return loaded

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        model = self.load(source, target)
        # layout[text][line] = sentence indexes in `tokens`, or None for a blank line
        layout: list[list[list[int] | None]] = []
        tokens: list[list[str]] = []
        for text in texts:
            lines: list[list[int] | None] = []
            for line in text.split("\n"):  # Argos translates paragraph by paragraph, too
                if not line.strip():
                    lines.append(None)
                    continue
                indexes = []
                for sentence in model.split_sentences(line):
                    if sentence.strip():
                        indexes.append(len(tokens))
                        tokens.append(model.tokenizer.encode(sentence))
                lines.append(indexes)
            layout.append(lines)
        decoded = self._run(model, tokens) if tokens else []
        out = []
        for text, lines in zip(texts, layout, strict=True):
            out.append(
                "\n".join(
                    raw if idx is None else " ".join(decoded[i] for i in idx)
                    for raw, idx in zip(text.split("\n"), lines, strict=True)
                )
            )
        return out

    def _run(self, model: _Loaded, tokens: list[list[str]]) -> list[str]:
        prefix = model.target_prefix
        try:
            results = model.translator.translate_batch(
                tokens,
                target_prefix=[[prefix]] * len(tokens) if prefix else None,
                beam_size=self.beam_size,
                max_batch_size=64,
                replace_unknowns=True,
                length_penalty=0.2,  # Argos' setting
                max_decoding_length=self.max_decoding_length,
            )
        except (RuntimeError, ValueError) as exc:
            raise TranslationError(f"CTranslate2 failed: {exc}") from exc
        decoded = []
        for result in results:
            value = model.tokenizer.decode(result.hypotheses[0])
            if prefix and value.startswith(prefix):
                value = value[len(prefix) :]
            decoded.append(value.strip())
        return decoded

    def close(self) -> None:
        with self._lock:
            for loaded in self._loaded.values():
                loaded.translator.unload_model()
            self._loaded.clear()
