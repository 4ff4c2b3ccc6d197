"""Manage the Argos packages in a models directory: list, install from files, download.

Only :func:`install_languages` touches the network, and says so in its name and docstring;
everything else works offline.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meetbot.translation.argos import install_lock, installed_package_dirs, packages_dir
from meetbot.translation.base import TranslationError

PIVOT = "en"


@dataclass(frozen=True)
class ModelInfo:
    """An installed Argos package."""

    source: str
    target: str
    version: str
    name: str
    path: Path
    size_bytes: int


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def list_models(models_dir: Path) -> list[ModelInfo]:
    """The translation packages installed in ``models_dir``, sorted by (source, target)."""
    infos = []
    for folder in installed_package_dirs(Path(models_dir)):
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        if meta.get("type", "translate") != "translate":
            continue
        infos.append(
            ModelInfo(
                source=meta["from_code"],
                target=meta["to_code"],
                version=str(meta.get("package_version", "")),
                name=str(meta.get("name", folder.name)),
                path=folder,
                size_bytes=_folder_size(folder),
            )
        )
    return sorted(infos, key=lambda m: (m.source, m.target, m.version))


def install_model_files(models_dir: Path, paths: Iterable[Path]) -> list[ModelInfo]:
    """Install ``.argosmodel`` files into ``models_dir`` (offline); returns what is installed."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with install_lock():
        for path in paths:
            unpack_package(models_dir, Path(path))
    return list_models(models_dir)


def unpack_package(models_dir: Path, path: Path) -> None:
    """Unpack one ``.argosmodel`` (a zip of one package folder) into ``models_dir``.

    What ``argostranslate.package.install_from_path`` does, without its last step, which
    imports ``argostranslate.translate`` and with it stanza and torch (see translation/argos.py).
    ``extractall`` keeps every member inside ``models_dir`` (no absolute paths, no ``..``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(models_dir)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TranslationError(
            f"Cannot install {path.name}: not a valid Argos model (a zip archive): {exc}"
        ) from exc


def needed_pairs(languages: Sequence[str]) -> list[tuple[str, str]]:
    """en↔x for every non-English language: enough for all directions through the pivot."""
    pairs = []
    for lang in dict.fromkeys(languages):
        if lang != PIVOT:
            pairs += [(PIVOT, lang), (lang, PIVOT)]
    return pairs


def check_online(url: str, timeout: float = 3.0) -> None:
    """Fail fast when ``url``'s host cannot be reached (argostranslate would retry for minutes)."""
    parsed = urllib.parse.urlparse(url)
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise TranslationError(
            f"Cannot reach the Argos package index ({host}): {exc}. Downloading models needs "
            "internet; on an offline machine copy .argosmodel files and install them from disk."
        ) from exc


def install_languages(
    models_dir: Path, languages: Sequence[str], progress: bool = True
) -> list[ModelInfo]:
    """ONLINE ONLY: refresh the Argos index and download the en↔x packages for ``languages``.

    Raises:
        TranslationError: offline (checked first, in a few seconds), or a pair is not offered.
    """
    from tqdm import tqdm

    models_dir = Path(models_dir)
    with packages_dir(models_dir) as package:
        check_online(package.settings.remote_package_index)
        package.update_package_index()
        if not Path(package.settings.local_package_index).exists():
            raise TranslationError("Could not download the Argos package index.")
        available: list[Any] = package.get_available_packages()
        installed = {(m.source, m.target) for m in list_models(models_dir)}
        wanted = [pair for pair in needed_pairs(languages) if pair not in installed]
        by_pair = {(p.from_code, p.to_code): p for p in available}
        missing = [f"{s}→{t}" for s, t in wanted if (s, t) not in by_pair]
        if missing:
            raise TranslationError(f"The Argos index offers no package for {', '.join(missing)}.")
        for source, target in tqdm(wanted, desc="Argos models", unit="pair", disable=not progress):
            path = by_pair[(source, target)].download()
            unpack_package(models_dir, Path(path))
            path.unlink(missing_ok=True)
    return list_models(models_dir)
