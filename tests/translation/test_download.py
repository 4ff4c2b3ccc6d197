"""The demo's first run fetches the Argos models: resumable, checked, reused; offline it falls back.

Everything is served by a local argospm index on 127.0.0.1 (tests/argos_index.py) holding the
tiny packages; nothing here reaches outside the machine.
"""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from argos_index import PackageIndex, without_heavy_packages

from meetbot.cli.main import main
from meetbot.demo.backend import prepare_backend
from meetbot.translation.argos import ArgosTranslator
from meetbot.translation.argos_package import PackageError, install_archive
from meetbot.translation.download import (
    DownloadError,
    IndexEntry,
    Offline,
    fetch_index,
    fetch_packages,
    index_url,
)
from meetbot.translation.factory import make_translator
from meetbot.translation.models import list_models

LANGUAGES = ("es", "fr", "en")
PAIRS = [("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")]
EN_FR = "translate-en_fr-tiny.argosmodel"


def no_pause(_seconds: float) -> None:
    pass


@pytest.fixture
def index(tiny_packages: list[Path]):
    with PackageIndex(tiny_packages) as served:
        yield served


@pytest.fixture
def no_apertium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("meetbot.demo.backend.shutil.which", lambda _name: None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _requests_for(index: PackageIndex, name: str) -> list[str]:
    return [ranged for path, ranged in index.file_requests() if path.endswith(name)]


def test_the_index_is_argospm_s_format(index: PackageIndex) -> None:
    assert index_url(index.url) == index.url + "index.json"
    assert index_url("http://mirror.test/custom.json") == "http://mirror.test/custom.json"
    entries = fetch_index(index.url)
    assert {(e.source, e.target) for e in entries} == set(PAIRS)
    entry = next(e for e in entries if e.source == "en" and e.target == "fr")
    assert entry.links == (f"{index.url}files/{EN_FR}",)  # ipfs:// links are left out
    assert entry.size and entry.sha256 and len(entry.sha256) == 64
    assert entry.filename == "translate-en_fr-0_0_1.argosmodel"
    # Entries without links, of another type, or malformed, are ignored.
    assert IndexEntry.parse({"type": "sbd", "links": ["http://x/y"]}) is None
    assert IndexEntry.parse({"from_code": "en", "to_code": "es", "links": []}) is None
    assert IndexEntry.parse("junk") is None


def test_first_run_downloads_checks_installs_and_translates(
    tmp_path: Path, index: PackageIndex
) -> None:
    models = tmp_path / "cache" / "meetbot" / "models"
    out = io.StringIO()
    choice = prepare_backend(models, LANGUAGES, out=out, index=index.url)
    text = out.getvalue()

    assert choice.backend == "argos", text
    assert choice.reason.startswith(f"Argos models downloaded into {models} (4 packages, ")
    assert choice.better == ""
    # It says what it does, how much, and how to skip it; then a bar per package.
    assert f"fetching the Argos models for en↔es and en↔fr into {models}\n" in text
    assert "(4 packages, about 100 MB each; once, later runs reuse them; " in text
    assert "to skip: meetbot demo --no-download" in text
    for label in ("en→es", "es→en", "en→fr", "fr→en"):
        assert f"  {label}: 100%" in text, text
    assert re.search(r"\d+(\.\d+)?kB/\d", text), "the size downloaded"
    assert re.search(r"\d+(\.\d+)?[kMG]?B/s", text), "the speed"
    # One plain request per file; archives deleted once installed; nothing half-done left.
    assert sorted(path for path, _ in index.file_requests()) == sorted(
        f"/files/{name}" for name in index.files
    )
    assert all(ranged == "" for _, ranged in index.file_requests())
    assert sorted(p.name for p in models.iterdir()) == [
        "translate-en_es-tiny", "translate-en_fr-tiny", "translate-es_en-tiny",
        "translate-fr_en-tiny",
    ]
    assert [(m.source, m.target) for m in list_models(models)] == sorted(PAIRS)

    # A translation through the demo's path: the config's back-end, fr→es through English,
    # read without argostranslate as the demo extra does.
    translator = make_translator(
        "argos", models_dir=models, libretranslate_url="", api_key=None
    )
    assert isinstance(translator, ArgosTranslator)
    light = ArgosTranslator(models, beam_size=2, max_decoding_length=32, use_argostranslate=False)
    try:
        assert light.route("fr", "es") == [("fr", "en"), ("en", "es")]
        (spanish,) = light.translate_batch(["La réunion commence maintenant."], "fr", "es")
        assert spanish.strip()
    finally:
        light.close()
        translator.close()


def test_a_second_run_reuses_the_models(tmp_path: Path, index: PackageIndex) -> None:
    models = tmp_path / "models"
    prepare_backend(models, LANGUAGES, index=index.url)
    served = len(index.requests)
    out = io.StringIO()
    again = prepare_backend(models, LANGUAGES, out=out, index=index.url)
    assert again.backend == "argos"
    assert again.reason == f"Argos models in {models}"
    assert len(index.requests) == served, "not even the index is asked again"
    assert "fetching" not in out.getvalue()
    # Also with --no-download: the models are there.
    assert prepare_backend(models, LANGUAGES, download=False).backend == "argos"


def test_only_the_missing_packages_are_fetched(tmp_path: Path, index: PackageIndex) -> None:
    models = tmp_path / "models"
    fetch_packages(models, [("en", "es"), ("es", "en")], index=index.url)
    index.requests.clear()
    prepare_backend(models, LANGUAGES, index=index.url)
    assert sorted(path for path, _ in index.file_requests()) == [
        "/files/translate-en_fr-tiny.argosmodel", "/files/translate-fr_en-tiny.argosmodel"
    ]


def test_a_cut_connection_is_resumed_with_range(tmp_path: Path, index: PackageIndex) -> None:
    models = tmp_path / "models"
    half = len(index.files[EN_FR]) // 2
    index.cut[EN_FR] = [half]
    out = io.StringIO()
    fetch_packages(models, [("en", "fr")], index=index.url, out=out, pause=no_pause)
    assert _requests_for(index, EN_FR) == ["", f"bytes={half}-"]
    assert "en→fr: the connection broke at" in out.getvalue()
    assert "resuming, attempt 2 of 5" in out.getvalue()
    assert [(m.source, m.target) for m in list_models(models)] == [("en", "fr")]


def test_a_partial_file_of_an_interrupted_run_is_resumed(
    tmp_path: Path, index: PackageIndex
) -> None:
    models = tmp_path / "models"
    partial = models / ".downloads" / "translate-en_fr-0_0_1.argosmodel.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(index.files[EN_FR][:1000])
    fetch_packages(models, [("en", "fr")], index=index.url)
    assert _requests_for(index, EN_FR) == ["bytes=1000-"]
    assert not partial.exists()
    assert list_models(models)


def test_a_server_that_ignores_range_is_read_from_the_start(
    tmp_path: Path, index: PackageIndex
) -> None:
    models = tmp_path / "models"
    index.ignore_range = True
    index.cut[EN_FR] = [500]
    fetch_packages(models, [("en", "fr")], index=index.url, pause=no_pause)
    assert _requests_for(index, EN_FR) == ["", "bytes=500-"]  # answered 200: whole file
    assert list_models(models)


def test_a_connection_that_keeps_breaking_is_reported_and_kept_for_the_next_run(
    tmp_path: Path, index: PackageIndex
) -> None:
    models = tmp_path / "models"
    index.cut[EN_FR] = [300, 300]
    with pytest.raises(DownloadError) as info:
        fetch_packages(models, [("en", "fr")], index=index.url, attempts=2, pause=no_pause)
    message = str(info.value)
    assert "could not download translate-en_fr-0_0_1.argosmodel" in message
    assert "closed the connection early" in message
    assert "600 bytes kept in" in message and "for the next run" in message
    part = models / ".downloads" / "translate-en_fr-0_0_1.argosmodel.part"
    assert part.stat().st_size == 600
    # The next run goes on from there.
    fetch_packages(models, [("en", "fr")], index=index.url)
    assert _requests_for(index, EN_FR)[-1] == "bytes=600-"
    assert list_models(models)


def test_a_wrong_checksum_is_fetched_again_then_reported(
    tmp_path: Path, index: PackageIndex, no_apertium: None
) -> None:
    models = tmp_path / "models"
    index.index_extra[EN_FR] = {"sha256": "0" * 64}
    out = io.StringIO()
    choice = prepare_backend(models, LANGUAGES, out=out, index=index.url)
    assert len(_requests_for(index, EN_FR)) == 2, "downloaded again from the start, once"
    assert _requests_for(index, EN_FR) == ["", ""]
    assert "does not match its checksum" in out.getvalue()
    assert "downloading it again" in out.getvalue()
    assert choice.backend == "none"
    assert "does not match its checksum" in choice.reason
    assert "the file was deleted" in choice.reason
    assert "Argos" in choice.better and "apertium" in choice.better
    assert not list(models.glob(".downloads/*"))
    # The packages before it are installed and kept; the next run fetches the rest only.
    assert {(m.source, m.target) for m in list_models(models)} == {("en", "es"), ("es", "en")}


def test_a_damaged_package_is_not_installed(tmp_path: Path, index: PackageIndex) -> None:
    models = tmp_path / "models"
    data = bytearray(index.files[EN_FR])
    data[len(data) // 3] ^= 0xFF  # published broken: the index's size and sha256 match it
    index.files[EN_FR] = bytes(data)
    with pytest.raises(DownloadError, match=r"damaged|not a valid|cannot"):
        fetch_packages(models, [("en", "fr")], index=index.url)
    assert list_models(models) == []
    assert not list(models.glob("translate-*"))


def test_offline_falls_back_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(Offline, match=r"cannot reach the Argos package index at 127\.0\.0\.1"):
        fetch_index(dead)
    monkeypatch.setattr("meetbot.demo.backend.shutil.which", lambda _name: "/usr/bin/apertium")
    started = time.monotonic()
    choice = prepare_backend(tmp_path / "models", LANGUAGES, index=dead)
    assert time.monotonic() - started < 10
    assert choice.backend == "apertium"
    assert "offline: cannot reach the Argos package index" in choice.reason
    assert choice.better.startswith("To translate better (neural, Argos), run `meetbot demo`")


def test_no_download_asks_nothing_and_says_how_to_translate(
    tmp_path: Path, index: PackageIndex, no_apertium: None
) -> None:
    out = io.StringIO()
    choice = prepare_backend(tmp_path / "models", LANGUAGES, download=False, out=out,
                             index=index.url)
    assert index.requests == []
    assert out.getvalue() == ""
    assert choice.backend == "none"
    assert choice.reason == "not fetching the Argos models (--no-download); no apertium on the PATH"
    assert "\n" not in choice.better
    assert choice.better.startswith("To translate, run `meetbot demo` while online")
    assert "about 400 MB" in choice.better and "apt install apertium" in choice.better


def test_models_install_downloads_from_the_configured_index(
    tmp_path: Path, index: PackageIndex, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", index.url)
    models = tmp_path / "models"
    assert main(["models", "install", "--models-dir", str(models), "es"]) == 0
    out = capsys.readouterr().out
    assert "en-es" in out and "es-en" in out
    assert {path for path, _ in index.file_requests()} == {
        "/files/translate-en_es-tiny.argosmodel", "/files/translate-es_en-tiny.argosmodel"
    }


def test_install_archive_refuses_unsafe_or_broken_archives(tmp_path: Path) -> None:
    evil = tmp_path / "evil.argosmodel"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("pkg/metadata.json", "{}")
        archive.writestr("../escaped.txt", "x")
    with pytest.raises(PackageError, match="unsafe path"):
        install_archive(evil, tmp_path / "models")
    assert not (tmp_path / "escaped.txt").exists()
    two = tmp_path / "two.argosmodel"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a/metadata.json", "{}")
        archive.writestr("b/metadata.json", "{}")
    with pytest.raises(PackageError, match="exactly one folder"):
        install_archive(two, tmp_path / "models")
    empty = tmp_path / "nomodel.argosmodel"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("pkg/metadata.json", '{"from_code": "en", "to_code": "es"}')
    with pytest.raises(PackageError, match="no CTranslate2 model"):
        install_archive(empty, tmp_path / "models")
    text = tmp_path / "text.argosmodel"
    text.write_text("not a zip")
    with pytest.raises(PackageError, match="not a zip"):
        install_archive(text, tmp_path / "models")
    assert not [p for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")]
    assert not list((tmp_path / "models").glob(".installing-*"))


def test_the_demo_extra_alone_fetches_and_translates(tmp_path: Path, index: PackageIndex) -> None:
    """What `pip install -e '.[demo]'` has (CTranslate2, SentencePiece) is enough."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from meetbot.demo.backend import prepare_backend\n"
        "from meetbot.translation.factory import make_translator\n"
        "models = Path(sys.argv[1])\n"
        "choice = prepare_backend(models, ('es', 'fr', 'en'), out=sys.stdout)\n"
        "print('CHOICE', choice.backend, choice.reason)\n"
        "t = make_translator('argos', models_dir=models, libretranslate_url='', api_key=None)\n"
        "print('FR-ES', t.translate_batch(['La réunion commence. Merci !'], 'fr', 'es'))\n"
        "heavy = [m for m in ('argostranslate', 'spacy', 'stanza', 'torch') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**without_heavy_packages(tmp_path), "ARGOS_PACKAGE_INDEX": index.url}
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "models")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CHOICE argos Argos models downloaded into" in run.stdout
    assert re.search(r"FR-ES \['[^']+'\]", run.stdout)
    assert "HEAVY []" in run.stdout
    import_blocked = subprocess.run(
        [sys.executable, "-c", "import argostranslate"], env=env, capture_output=True, check=False
    )
    assert import_blocked.returncode != 0, "the blocker works"
