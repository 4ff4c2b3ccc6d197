"""``meetbot models``: install tiny packages from files, list them, fail clearly offline."""

from __future__ import annotations

from pathlib import Path

from meetbot.cli.main import main


def test_install_from_files_then_list(tmp_path: Path, tiny_packages, capsys) -> None:
    models = tmp_path / "models"
    files = [str(p) for p in tiny_packages][:2]
    assert main(["models", "install", "--models-dir", str(models), *files]) == 0
    out = capsys.readouterr().out
    assert out.count("  en-") + out.count("  es-") + out.count("  fr-") == 2
    assert main(["models", "list", "--models-dir", str(models)]) == 0
    assert "random weights" in capsys.readouterr().out


def test_a_missing_file_is_named(tmp_path: Path, capsys) -> None:
    assert main(["models", "install", "--models-dir", str(tmp_path), "nope.argosmodel"]) == 1
    assert "no such model file: nope.argosmodel" in capsys.readouterr().err


def test_an_empty_models_dir_says_how_to_install(tmp_path: Path, capsys) -> None:
    assert main(["models", "list", "--models-dir", str(tmp_path)]) == 0
    assert "meetbot models install en es fr" in capsys.readouterr().out
