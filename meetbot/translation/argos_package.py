"""Argos packages without argostranslate: read, split into sentences, tokenize, install, check.

An ``.argosmodel`` is a zip of one folder holding ``metadata.json``, a CTranslate2 model in
``model/`` and a SentencePiece vocabulary in ``sentencepiece.model`` (plus, unused here, a
sentence splitter for Stanza, spaCy or MiniSBD). Translating with one needs nothing but
CTranslate2 and SentencePiece: this module is what the ``demo`` extra runs on, so that a
newcomer gets neural translation without argostranslate, whose requirements (Stanza, hence
PyTorch, and spaCy) weigh about a gigabyte.

Sentence splitting is rule based, like the spaCy ``sentencizer`` that the full Argos install
ends up using for the released packages: a sentence ends at ``.``, ``!``, ``?`` or ``…``
(with any closing quote or bracket) followed by a space, except after a known abbreviation or
an initial.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from meetbot.translation.base import BackendUnavailable, TranslationError

FULL_EXTRA_HINT = "pip install 'meetbot[argos]'"
RUNTIME_HINT = "pip install ctranslate2 sentencepiece (both come with meetbot's demo extra)"


class PackageError(TranslationError):
    """An Argos package is missing, malformed or cannot be opened (phrased for a person)."""


# -- sentences ---------------------------------------------------------------------------

_END = re.compile(r"[.!?…。！？]+(?:[\"'”’)\]]|\s?»)*(?=\s)")
# Lower-cased words that a full stop follows without ending the sentence (en, fr, es); words
# that also end sentences ("no", "me", "art") are left out.
_ABBREVIATED = (
    "mr mrs ms dr prof vs e.g i.e cf fig pp vol approx dept jr sr "
    "mme mlle mm av bd "
    "sra srta sres dra dña ud uds vd vds pág núm ej p.ej aprox tel"
)
ABBREVIATIONS = frozenset(_ABBREVIATED.split())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each stripped; a text without an end mark is one sentence."""
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        marks = match.group()
        if marks.startswith(".") and marks.rstrip("\"'”’»)] ") == ".":
            word = text[start : match.start()].split()[-1:] or [""]
            last = word[0].lstrip("\"'“‘«([¿¡").lower()
            if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


# -- tokens --------------------------------------------------------------------------------


class SentencePieceTokenizer:
    """Pieces in, pieces out, exactly as argostranslate's SentencePieceTokenizer does it."""

    def __init__(self, model_file: Path) -> None:
        try:
            import sentencepiece
        except ImportError as exc:
            raise BackendUnavailable(f"sentencepiece is not installed: {RUNTIME_HINT}") from exc
        try:
            self.processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
        except (OSError, RuntimeError) as exc:
            raise PackageError(f"cannot read {model_file}: {exc}") from exc

    def encode(self, sentence: str) -> list[str]:
        return list(self.processor.encode(sentence, out_type=str))

    def decode(self, tokens: list[str]) -> str:
        text: str = self.processor.decode_pieces(tokens)
        return text.replace("▁", " ").replace("_", " ")


# -- packages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArgosPackage:
    """An installed package folder, read from its ``metadata.json``."""

    path: Path
    source: str
    target: str
    version: str
    name: str
    kind: str
    target_prefix: str

    @classmethod
    def open(cls, folder: Path) -> ArgosPackage:
        metadata = folder / "metadata.json"
        try:
            meta = json.loads(metadata.read_text(encoding="utf-8"))
            return cls(
                path=folder,
                source=str(meta["from_code"]),
                target=str(meta["to_code"]),
                version=str(meta.get("package_version", "")),
                name=str(meta.get("name") or folder.name),
                kind=str(meta.get("type", "translate")),
                target_prefix=str(meta.get("target_prefix") or ""),
            )
        except FileNotFoundError as exc:
            raise PackageError(f"{folder.name} is not an Argos package (no metadata.json)") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PackageError(f"{folder.name}: unreadable metadata.json ({exc})") from exc

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    def tokenizer(self) -> SentencePieceTokenizer:
        vocabulary = self.path / "sentencepiece.model"
        if vocabulary.is_file():
            return SentencePieceTokenizer(vocabulary)
        if (self.path / "bpe.model").is_file():
            raise PackageError(
                f"{self.path.name} tokenizes with BPE, which only the full Argos install "
                f"reads: {FULL_EXTRA_HINT}"
            )
        raise PackageError(f"{self.path.name} has no sentencepiece.model")

    def splitter(self) -> Callable[[str], list[str]]:
        return split_sentences


def check_package(folder: Path, *, load_model: bool = True) -> ArgosPackage:
    """Open the package in ``folder`` the way translation will: metadata, vocabulary, model.

    Raises:
        PackageError: what is wrong, naming the package.
    """
    package = ArgosPackage.open(folder)
    if not (package.model_dir / "model.bin").is_file():
        raise PackageError(f"{folder.name} has no CTranslate2 model (model/model.bin)")
    package.tokenizer()
    if load_model:
        try:
            import ctranslate2
        except ImportError as exc:
            raise BackendUnavailable(f"ctranslate2 is not installed: {RUNTIME_HINT}") from exc
        try:
            translator = ctranslate2.Translator(str(package.model_dir), device="cpu")
        except (RuntimeError, ValueError, OSError) as exc:
            raise PackageError(f"{folder.name}: CTranslate2 cannot load its model ({exc})") from exc
        translator.unload_model()
    return package


def _top_folder(archive: zipfile.ZipFile, name: str) -> str:
    """The one folder every member of the archive lives in; refuses unsafe paths."""
    tops = set()
    for member in archive.namelist():
        path = PurePosixPath(member)
        if path.is_absolute() or ".." in path.parts or "\\" in member or not path.parts:
            raise PackageError(f"{name}: unsafe path in the archive: {member!r}")
        tops.add(path.parts[0])
    if len(tops) != 1:
        raise PackageError(f"{name}: an Argos package holds exactly one folder")
    top = tops.pop()
    if f"{top}/metadata.json" not in archive.namelist():
        raise PackageError(f"{name}: no metadata.json in the package")
    return top


def install_archive(archive_path: Path, models_dir: Path, *, load_model: bool = True) -> Path:
    """Install an ``.argosmodel`` file into ``models_dir`` (offline) and return its folder.

    The archive is unpacked beside the models, checked (:func:`check_package`), then moved in
    place in one rename, replacing an older copy of the same package: an interrupted install
    never leaves a half package where translation would find it.

    Raises:
        PackageError: not a zip, unsafe or malformed, or the package does not open.
    """
    name = archive_path.name
    try:
        zipped = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(f"{name} is not a valid Argos package (not a zip archive)") from exc
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = models_dir / f".installing-{uuid.uuid4().hex}"
    try:
        with zipped:
            top = _top_folder(zipped, name)
            broken = zipped.testzip()
            if broken is not None:
                raise PackageError(f"{name} is damaged ({broken} fails its CRC check)")
            zipped.extractall(staging)
        check_package(staging / top, load_model=load_model)
        final = models_dir / top
        if final.exists():
            shutil.rmtree(final)
        (staging / top).rename(final)
        return final
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PackageError(f"{name} is damaged ({exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
