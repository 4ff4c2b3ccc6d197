"""`meetbot demo` on a first run fetches the Argos models, translates, and reuses them after.

As a newcomer with only the demo extra: argostranslate, spaCy, Stanza and PyTorch cannot be
imported. The package index and the (tiny) models are served on 127.0.0.1.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from argos_index import PackageIndex, without_heavy_packages

from meetbot.translation.tiny import build_tiny_package

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")]


def demo(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meetbot", "demo", "--dir", str(folder), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False, env=env,
    )


def view(out: str, name: str) -> str:
    return out.split(f"── The meeting as {name}")[1].split("──", 2)[1]


def test_the_first_run_fetches_the_models_and_translates_the_next_reuses_them(
    tmp_path: Path,
) -> None:
    archives = [build_tiny_package(s, t, tmp_path / "served") for s, t in PAIRS]
    cache = tmp_path / "cache"
    models = cache / "meetbot" / "models"
    folder = tmp_path / "demo"
    with PackageIndex(archives) as index:
        env = {
            **without_heavy_packages(tmp_path),
            "ARGOS_PACKAGE_INDEX": index.url,
            "XDG_CACHE_HOME": str(cache),
        }
        started = time.monotonic()
        first = demo(folder, env)
        took = time.monotonic() - started
        assert first.returncode == 0, first.stdout + first.stderr
        out = first.stdout

        # Before anything else: what it fetches, where, how to skip it; the bars; the choice.
        assert f"Translation: fetching the Argos models for en↔es and en↔fr into {models}" in out
        assert "to skip: meetbot demo --no-download" in out
        assert out.count("100%|") == 4
        assert f"Translation back-end: argos — Argos models downloaded into {models}" in out
        assert out.index("Translation back-end: argos") < out.index("Start Synapse")
        assert "Let the bot finish its translations" in out
        # The last step is numbered as the total: the counter never jumps.
        assert re.search(r"\[(\d+)/\1\] ✓ Wait for the minutes", out), out
        assert len(index.file_requests()) == 4

        # The translations, one notice under each message, in the reader's view.
        ana, lucie, sam = (view(out, name) for name in ("Ana", "Lucie", "Sam"))
        for seen in (ana, lucie, sam):
            for said in ("Ana: Podríamos compartir", "Lucie: Je propose", "Sam: I can organise"):
                after = seen.split(said, 1)[1].splitlines()
                reply = next(line for line in after[1:] if line.strip())
                assert reply.startswith("      ↳ meetbot: "), seen
        config = (folder / "meetbot.yaml").read_text()
        assert "backend: argos" in config and str(models) in config

        # The second run reuses them: nothing is fetched, not even the index.
        asked = len(index.requests)
        second = demo(folder, env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "fetching" not in second.stdout
        assert f"Translation back-end: argos — Argos models in {models}" in second.stdout
        assert len(index.requests) == asked
    print(f"first run with the download: {took:.1f} s")
