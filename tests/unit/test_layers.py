"""The minutes stand on their own: research builds on them, never the reverse (the import
contracts in pyproject.toml check every layer; these check what they cannot see)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import meetbot
from meetbot.minutes import series
from meetbot.research import removal


def test_the_minutes_recognise_the_withdrawn_stand_in() -> None:
    assert series.is_withdrawn(removal.tombstone())
    assert not series.is_withdrawn("@bea:example.org") and not series.is_withdrawn(None)


def test_the_minutes_document_is_whole_without_importing_any_feature() -> None:
    code = (
        "import sys\n"
        "from meetbot.minutes.document import PARTS\n"
        "assert 'consent_rounds' in dict(PARTS)\n"
        "assert not [m for m in sys.modules if m.startswith(('meetbot.runtime', 'meetbot.app'))]\n"
    )
    # The same meetbot as this test's, in a fresh interpreter.
    root = str(Path(meetbot.__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": path})
