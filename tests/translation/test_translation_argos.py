"""Argos back-end on tiny random-weight packages installed through the real install path."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest

from meetbot.translation import argos as argos_module
from meetbot.translation.argos import ArgosTranslator, default_threads
from meetbot.translation.argos_package import ArgosPackage, PackageError, split_sentences
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


def test_ctranslate2_gets_the_threads_asked_for_and_translates_alike(
    argos: ArgosTranslator, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctranslate2

    expected = argos.translate_batch(TEXTS, "en", "es")
    made: list[int] = []
    real = ctranslate2.Translator

    def recording(*args: object, **kwargs: object) -> object:
        made.append(kwargs["intra_threads"])  # type: ignore[arg-type]
        return real(*args, **kwargs)

    monkeypatch.setattr(ctranslate2, "Translator", recording)
    for threads in (1, 2):
        other = ArgosTranslator(models_dir, beam_size=2, max_decoding_length=32,
                                intra_threads=threads)
        try:
            assert other.translate_batch(TEXTS, "en", "es") == expected
        finally:
            other.close()
    assert made == [1, 2]


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_by_default_ctranslate2_leaves_a_core_to_the_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cores: int, threads: int
) -> None:
    monkeypatch.setattr(argos_module.os, "sched_getaffinity", lambda _pid: set(range(cores)),
                        raising=False)
    assert default_threads() == threads
    assert ArgosTranslator(tmp_path).intra_threads == threads
    assert ArgosTranslator(tmp_path, intra_threads=0).intra_threads == 0  # CTranslate2's own


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


def test_offline_download_fails_fast(tmp_path: Path) -> None:
    index = f"http://127.0.0.1:{_closed_port()}/index.json"
    with pytest.raises(TranslationError, match="internet"):
        check_online(index, timeout=1)
    # The real online path, pointed at a dead local address instead of the Internet.
    with pytest.raises(TranslationError, match="Cannot reach"):
        install_languages(tmp_path / "models", ["es"], progress=False, index=index)
    assert needed_pairs(["en", "es", "fr"]) == [
        ("en", "es"),
        ("es", "en"),
        ("en", "fr"),
        ("fr", "en"),
    ]


# -- without argostranslate: the demo extra's reader ------------------------------------------


def test_the_light_reader_translates_like_argostranslate(
    argos: ArgosTranslator, models_dir: Path
) -> None:
    assert argos.use_argostranslate  # the test venv has the full extra
    light = ArgosTranslator(
        models_dir, beam_size=2, max_decoding_length=32, use_argostranslate=False
    )
    try:
        texts = [*TEXTS, "first line\n\nthird line. With two sentences!"]
        for source, target in (("en", "es"), ("fr", "es"), ("es", "fr")):
            assert light.translate_batch(texts, source, target) == argos.translate_batch(
                texts, source, target
            )
    finally:
        light.close()


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("The meeting starts now. We vote! Thank you?", ["The meeting starts now.", "We vote!",
                                                         "Thank you?"]),
        ("Dr. Smith said e.g. this. Next.", ["Dr. Smith said e.g. this.", "Next."]),
        ("¿Qué hacemos? ¡Votamos! Vale.", ["¿Qué hacemos?", "¡Votamos!", "Vale."]),
        ("Mme. Dupont dit « oui. » Puis non…  Fin", ["Mme. Dupont dit « oui. »", "Puis non…",
                                                     "Fin"]),
        ('He said "yes." Then J. R. Tolkien came.', ['He said "yes."',
                                                     "Then J. R. Tolkien came."]),
        ("version 2.5 is out. I said no. ok", ["version 2.5 is out.", "I said no.", "ok"]),
        ("no end mark", ["no end mark"]),
        ("   ", []),
    ],
)
def test_rule_based_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


def test_a_bpe_package_needs_the_full_extra(tmp_path: Path) -> None:
    folder = tmp_path / "translate-en_xx-1_0"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "model.bin").write_bytes(b"")
    (folder / "bpe.model").write_text("")
    (folder / "metadata.json").write_text('{"from_code": "en", "to_code": "xx"}')
    with pytest.raises(PackageError, match=r"BPE.*meetbot\[argos\]"):
        ArgosPackage.open(folder).tokenizer()


def test_files_install_without_argostranslate(
    tmp_path: Path, tiny_packages: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("meetbot.translation.models.argostranslate_installed", lambda: False)
    models = tmp_path / "models"
    installed = install_model_files(models, tiny_packages[:2])
    assert [(m.source, m.target) for m in installed] == [("en", "es"), ("es", "en")]
    assert not (models / ".argos-state").exists(), "argostranslate was not used"
    bogus = tmp_path / "broken.argosmodel"
    bogus.write_text("not a zip")
    with pytest.raises(TranslationError, match=r"Cannot install broken\.argosmodel"):
        install_model_files(models, [bogus])
