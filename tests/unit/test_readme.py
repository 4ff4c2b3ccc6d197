"""The README stays true: its command table is the registry's, its two commands are there."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _updater():
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "scripts" / "update_readme.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_table_matches_the_registry() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _updater().updated(text) == text, (
        "README.md is out of date: run `python scripts/update_readme.py`"
    )


def test_the_two_commands_are_the_first_two_code_blocks() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```sh\n")[1:3]
    assert blocks[0].startswith(
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[demo]' && meetbot demo"
    )
    assert blocks[1].startswith("bash scripts/test.sh")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci, "CI runs the README's test command"
