"""What ``meetbot run`` imports before it answers: nothing heavy it does not need yet.

Start-up is mostly imports (matrix-nio alone is most of a bare bot's start). Translation
models, charts and the minutes' templates load when first used, in the process that needs
them; these tests look at a fresh interpreter, so nothing imported by another test counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Never on the start path: seconds of import (and hundreds of MB) for the translation models
# and the report's charts.
HEAVY = ("matplotlib", "argostranslate", "ctranslate2", "stanza", "torch", "spacy", "numpy")
# Loaded when first needed: a timer is set, minutes are rendered, health is served.
LATER = ("apscheduler", "jinja2", "aiohttp.web")


def imported_by(*modules: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120,
    )
    return set(json.loads(done.stdout))


def test_the_command_line_imports_nothing_heavy() -> None:
    loaded = imported_by("meetbot.cli.main")
    assert [m for m in HEAVY if m in loaded] == []


def test_the_start_path_of_meetbot_run_leaves_heavy_and_later_modules_out() -> None:
    loaded = imported_by("meetbot.cli.main", "meetbot.runtime.service",
                         "meetbot.runtime.features")
    assert [m for m in (*HEAVY, *LATER) if m in loaded] == []
    assert "nio" in loaded  # (the test looks at the real start path)
