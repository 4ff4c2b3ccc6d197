"""Argos back-end on tiny random-weight packages installed through the real install path."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from meetbot.translation.argos import ArgosTranslator, SpacySentencizer
from meetbot.translation.base import MissingPair, TranslationError
from meetbot.translation.models import (
    check_online,
    install_languages,
    install_model_files,
    list_models,
    needed_pairs,
)
from meetbot.translation.tiny import build_tiny_package

TEXTS = ["The meeting starts now.", "We vote on the proposal. Thank you!", "hello"]


def test_installed_models_are_listed(models_dir: Path) -> None:
    pairs = [(m.source, m.target) for m in list_models(models_dir)]
    assert pairs == [("en", "es"), ("en", "fr"), ("es", "en"), ("fr", "en")]
    assert all(m.size_bytes > 10_000 for m in list_models(models_dir))


def test_translate_is_non_empty_and_deterministic(argos: ArgosTranslator, models_dir: Path) -> None:
    first = argos.translate_batch(TEXTS, "en", "es")
    assert len(first) == len(TEXTS)
    assert all(out.strip() for out in first)
    assert argos.translate_batch(TEXTS, "en", "es") == first
    other = ArgosTranslator(models_dir, beam_size=2, max_decoding_length=32)
    try:
        assert other.translate_batch(TEXTS, "en", "es") == first
    finally:
        other.close()


def test_batch_keeps_alignment_blank_texts_and_lines(argos: ArgosTranslator) -> None:
    texts = ["first message", "", "line one\n\nline three", "   ", "last"]
    out = argos.translate_batch(texts, "en", "fr")
    assert len(out) == len(texts)
    assert out[1] == "" and out[3] == "   "
    assert out[2].count("\n") == 2 and out[2].split("\n")[1] == ""
    # Each text translated alone gives the same as inside the batch.
    assert [argos.translate_batch([t], "en", "fr")[0] for t in texts] == out


def test_pivot_through_english(argos: ArgosTranslator, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ("fr", "es") not in argos.pairs()
    assert argos.route("fr", "es") == [("fr", "en"), ("en", "es")]
    calls: list[tuple[str, str]] = []
    direct = argos._translate_direct

    def spy(texts: list[str], source: str, target: str) -> list[str]:
        calls.append((source, target))
        return direct(texts, source, target)

    monkeypatch.setattr(argos, "_translate_direct", spy)
    out = argos.translate_batch(["La réunion commence."], "fr", "es")
    assert calls == [("fr", "en"), ("en", "es")]
    via_english = direct(direct(["La réunion commence."], "fr", "en"), "en", "es")
    assert out == via_english
    assert argos.can_translate("es", "fr") and argos.can_translate("fr", "fr")


def test_missing_pair_says_what_to_install(argos: ArgosTranslator) -> None:
    assert not argos.can_translate("de", "es")
    with pytest.raises(MissingPair) as info:
        argos.translate_batch(["Guten Tag"], "de", "es")
    message = str(info.value)
    assert "'de'" in message and "'es'" in message and "argos" in message
    assert "en↔de" in message and "install" in message
    assert (info.value.source, info.value.target) == ("de", "es")


def test_same_language_is_identity(argos: ArgosTranslator) -> None:
    assert argos.translate_batch(["unchanged"], "es", "es") == ["unchanged"]


def test_import_leaves_environment_and_home_alone(argos: ArgosTranslator) -> None:
    argos.translate_batch(["hello"], "en", "es")  # argostranslate is imported by now
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ARGOS_PACKAGES_DIR"):
        value = os.environ.get(name, "")
        assert ".argos-state" not in value and "models" not in value, name


def test_tiny_package_is_byte_for_byte_reproducible(
    tmp_path: Path, tiny_packages: list[Path]
) -> None:
    again = build_tiny_package("en", "es", tmp_path)
    original = next(p for p in tiny_packages if p.name == again.name)
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(original.read_bytes()).digest()
    )


def test_installing_a_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.argosmodel"
    bogus.write_text("not a zip")
    with pytest.raises(TranslationError, match=r"broken\.argosmodel"):
        install_model_files(tmp_path / "models", [bogus])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_offline_download_fails_fast(
    tmp_path: Path, argos: ArgosTranslator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argostranslate.package as package

    index = f"http://127.0.0.1:{_closed_port()}/index.json"
    with pytest.raises(TranslationError, match="internet"):
        check_online(index, timeout=1)
    # The real online path, pointed at a dead local address instead of the Internet.
    monkeypatch.setattr(package.settings, "remote_package_index", index)
    with pytest.raises(TranslationError, match="Cannot reach"):
        install_languages(tmp_path / "models", ["es"], progress=False)
    assert needed_pairs(["en", "es", "fr"]) == [
        ("en", "es"),
        ("es", "en"),
        ("en", "fr"),
        ("fr", "en"),
    ]


# What argostranslate's own translation module would pull in, and meetbot never needs.
NOT_NEEDED = ("torch", "stanza", "minisbd", "onnxruntime")

_WITHOUT_TORCH = textwrap.dedent("""
    import sys
    from pathlib import Path

    NOT_NEEDED = {not_needed!r}

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in NOT_NEEDED:
                raise ImportError(f"{{name}} is not installed (refused by the test)")
            return None

    sys.meta_path.insert(0, Refuse())
    from meetbot.translation.argos import ArgosTranslator
    from meetbot.translation.models import install_model_files, list_models

    models = Path(sys.argv[1])
    install_model_files(models, [Path(p) for p in sys.argv[2:]])
    assert len(list_models(models)) == 4
    argos = ArgosTranslator(models, beam_size=1, max_decoding_length=16)
    out = argos.translate_batch(["Hola. La reunión empieza ahora.", ""], "es", "fr")
    assert out[0].strip() and out[1] == "", out
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in NOT_NEEDED)
    assert not loaded, loaded
    print("translated without", ", ".join(NOT_NEEDED))
""")


def test_installing_and_translating_need_neither_stanza_nor_torch(
    tmp_path: Path, tiny_packages: list[Path]
) -> None:
    """The container image installs argostranslate without stanza and torch: this is why."""
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH.format(not_needed=NOT_NEEDED),
         str(tmp_path / "models"), *map(str, tiny_packages)],
        capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(root)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "translated without" in result.stdout


def test_sentences_are_split_by_the_package_pipeline_or_a_blank_one(tmp_path: Path) -> None:
    import spacy

    package = tmp_path / "translate-fr_en"
    (package / "spacy").mkdir(parents=True)
    spacy.blank("fr").to_disk(package / "spacy")
    own = SpacySentencizer(package)
    assert own.nlp.lang == "fr"
    assert own.split_sentences("Bonjour. On commence !") == ["Bonjour.", "On commence !"]
    (package / "stanza").mkdir()  # Argos would run Stanza for it; meetbot splits with xx
    assert SpacySentencizer(package).nlp.lang == "xx"
    assert SpacySentencizer(tmp_path / "none").split_sentences("One. Two.") == ["One.", "Two."]
