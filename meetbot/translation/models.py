"""Manage the Argos packages in a models directory: list, install from files, download.

Only :func:`install_languages` touches the network, and says so in its name and docstring;
everything else works offline. Neither needs argostranslate: with it installed, files are
installed through its ``install_from_path``; without it, by meetbot's own installer
(:func:`meetbot.translation.argos_package.install_archive`). Downloads go through
:mod:`meetbot.translation.download` (resumable, checked).
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from meetbot.translation.argos import (
    argostranslate_installed,
    installed_package_dirs,
    packages_dir,
)
from meetbot.translation.argos_package import PackageError, install_archive
from meetbot.translation.base import TranslationError
from meetbot.translation.download import fetch_packages, index_url

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
    if not argostranslate_installed():
        for path in paths:
            try:
                install_archive(Path(path), models_dir)
            except PackageError as exc:
                raise TranslationError(f"Cannot install {Path(path).name}: {exc}") from exc
        return list_models(models_dir)
    with packages_dir(models_dir) as package:
        for path in paths:
            try:
                package.install_from_path(Path(path))
            except Exception as exc:  # argostranslate raises bare Exception for bad archives
                raise TranslationError(f"Cannot install {Path(path).name}: {exc}") from exc
    return list_models(models_dir)


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
    models_dir: Path,
    languages: Sequence[str],
    progress: bool = True,
    *,
    index: str | None = None,
) -> list[ModelInfo]:
    """ONLINE ONLY: download the en↔x packages for ``languages`` that are not installed yet.

    ``index`` is the package index (default ``$ARGOS_PACKAGE_INDEX``, else argospm's);
    with ``progress``, a bar per package (size, speed) goes to stderr.

    Raises:
        TranslationError: offline (checked first, in a few seconds), a pair is not offered,
            or a package cannot be downloaded or does not open.
    """
    models_dir = Path(models_dir)
    url = index_url(index)
    check_online(url)
    installed = {(m.source, m.target) for m in list_models(models_dir)}
    wanted = [pair for pair in needed_pairs(languages) if pair not in installed]
    if wanted:
        fetch_packages(models_dir, wanted, index=url, out=sys.stderr if progress else None)
    return list_models(models_dir)
