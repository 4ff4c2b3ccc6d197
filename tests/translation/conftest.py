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


def _ensure_libretranslate_venv() -> Path:
    venv = libretranslate_venv()
    if not (venv / "bin" / "libretranslate").exists():
        start = time.perf_counter()
        subprocess.run(
            ["bash", str(REPO / "scripts" / "setup-libretranslate.sh")],
            check=True,
            env={**os.environ, "MEETBOT_LIBRETRANSLATE_VENV": str(venv), "PYTHON": sys.executable},
        )
        TIMINGS["LibreTranslate venv install"] = time.perf_counter() - start
    return venv


class LibreTranslateServer:
    """A real LibreTranslate server on 127.0.0.1 with the tiny packages, in a home of its own.

    It keeps its port across :meth:`stop` and :meth:`start`, as a restarted server does, and
    serves Prometheus ``/metrics`` so a test can count the requests it answered.
    """

    def __init__(self, home: Path, packages: list[Path]) -> None:
        self.venv = _ensure_libretranslate_venv()
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        _seed_spacy_cache(home / "cache")  # else argostranslate asks the network for spaCy
        self.env = {
            **os.environ,
            "HOME": str(home),
            "ARGOS_PACKAGES_DIR": str(home / "packages"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "ARGOS_CHUNK_TYPE": "SPACY",
            "PYTHONWARNINGS": "ignore",
            "PROMETHEUS_MULTIPROC_DIR": str(home / "prometheus"),
        }
        subprocess.run(
            [
                str(self.venv / "bin" / "python"),
                "-c",
                "import sys, argostranslate.package as p\n"
                "for path in sys.argv[1:]: p.install_from_path(path)",
                *map(str, packages),
            ],
            check=True,
            env=self.env,
            cwd=home,
        )

    def start(self, timeout: float = 60) -> None:
        metrics = self.home / "prometheus"  # counts start at 0 with each start
        if metrics.exists():
            for old in metrics.iterdir():
                old.unlink()
        metrics.mkdir(exist_ok=True)
        log = (self.home / "server.log").open("w")
        self.process = subprocess.Popen(
            [
                str(self.venv / "bin" / "libretranslate"),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--load-only", "en,es,fr", "--disable-web-ui", "--threads", "2", "--metrics",
            ],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"LibreTranslate exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/languages", timeout=2) as response:
                    if json.loads(response.read()):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"LibreTranslate did not start: {self.log()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def translations_served(self) -> int:
        """``POST /translate`` requests this run of the server answered with 200."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        return sum(
            round(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith("libretranslate_http_request_duration_seconds_count{")
            and 'endpoint="/translate"' in line and 'status="200"' in line
        )


@pytest.fixture(scope="session")
def libretranslate_url(
    tmp_path_factory: pytest.TempPathFactory, tiny_packages: list[Path]
) -> Iterator[str]:
    """A real LibreTranslate server on 127.0.0.1 serving the tiny packages; stopped at the end."""
    server = LibreTranslateServer(tmp_path_factory.mktemp("libretranslate"), tiny_packages)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for what, seconds in TIMINGS.items():
        terminalreporter.write_line(f"translation timing: {what}: {seconds:.1f} s")
