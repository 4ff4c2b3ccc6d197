"""Fixtures for the translation layer: tiny real models, and a real LibreTranslate server.

Nothing here reaches the network: the models are built offline (meetbot.translation.tiny),
and LibreTranslate runs on 127.0.0.1 in a venv of its own (it cannot share ours).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetbot.translation.argos import ArgosTranslator, _seed_spacy_cache
from meetbot.translation.models import install_model_files
from meetbot.translation.tiny import build_tiny_package

REPO = Path(__file__).resolve().parents[2]
PAIRS = [("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")]
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def tiny_packages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four tiny .argosmodel files: en↔es and en↔fr (all six directions via English)."""
    out = tmp_path_factory.mktemp("argosmodels")
    start = time.perf_counter()
    paths = [build_tiny_package(source, target, out) for source, target in PAIRS]
    TIMINGS["tiny build (4 packages)"] = time.perf_counter() - start
    return paths


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory, tiny_packages: list[Path]) -> Path:
    """A models directory with the tiny packages installed through install_from_path."""
    directory = tmp_path_factory.mktemp("models")
    install_model_files(directory, tiny_packages)
    return directory


@pytest.fixture(scope="session")
def argos(models_dir: Path) -> Iterator[ArgosTranslator]:
    translator = ArgosTranslator(models_dir, beam_size=2, max_decoding_length=32)
    yield translator
    translator.close()


def libretranslate_venv() -> Path:
    """MEETBOT_LIBRETRANSLATE_VENV, else <cache home>/meetbot/libretranslate-venv."""
    configured = os.environ.get("MEETBOT_LIBRETRANSLATE_VENV")
    if configured:
        return Path(configured)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "meetbot" / "libretranslate-venv"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def libretranslate_url(
    tmp_path_factory: pytest.TempPathFactory, tiny_packages: list[Path]
) -> Iterator[str]:
    """A real LibreTranslate server on 127.0.0.1 serving the tiny packages; stopped at the end."""
    venv = libretranslate_venv()
    if not (venv / "bin" / "libretranslate").exists():
        start = time.perf_counter()
        subprocess.run(
            ["bash", str(REPO / "scripts" / "setup-libretranslate.sh")],
            check=True,
            env={**os.environ, "MEETBOT_LIBRETRANSLATE_VENV": str(venv), "PYTHON": sys.executable},
        )
        TIMINGS["LibreTranslate venv install"] = time.perf_counter() - start
    home = tmp_path_factory.mktemp("libretranslate")
    packages = home / "packages"
    _seed_spacy_cache(home / "cache")  # else argostranslate asks the network for spaCy's model
    env = {
        **os.environ,
        "HOME": str(home),
        "ARGOS_PACKAGES_DIR": str(packages),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "ARGOS_CHUNK_TYPE": "SPACY",
        "PYTHONWARNINGS": "ignore",
    }
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sys, argostranslate.package as p\n"
            "for path in sys.argv[1:]: p.install_from_path(path)",
            *map(str, tiny_packages),
        ],
        check=True,
        env=env,
        cwd=home,
    )
    port = _free_port()
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(venv / "bin" / "libretranslate"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load-only",
            "en,es,fr",
            "--disable-web-ui",
            "--threads",
            "2",
        ],
        env=env,
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"LibreTranslate exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/languages", timeout=2) as response:
                    if json.loads(response.read()):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"LibreTranslate did not start: {(home / 'server.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"translation timing: {what}: {seconds:.1f} s")
