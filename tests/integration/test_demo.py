"""`meetbot demo` end to end, as a newcomer runs it: a subprocess, a real Synapse, the real bot."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def meetbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meetbot", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False, env=env,
    )


def own_cache(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment with a cache of the test's own (the demo keeps its models there)."""
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), **extra}


def test_the_demo_plays_a_whole_meeting_and_writes_minutes(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    started = time.monotonic()
    # Offline (the session's package index is a closed local port): no models to fetch.
    run = meetbot("demo", "--dir", str(folder), env=own_cache(tmp_path))
    took = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    assert took < 60, f"the demo took {took:.0f} s"
    out = run.stdout
    # The translation back-end and why, first; offline, the models are not fetched.
    assert out.index("Translation back-end: ") < out.index("Start Synapse")
    assert "offline: cannot reach the Argos package index at 127.0.0.1" in out
    assert "Translation back-end: argos" not in out
    assert re.search(r"\[(\d+)/\1\] ✓ Wait for the minutes", out), "the last step counts all"

    # The progress display counts every step once, against one total, from the first.
    assert "✓ Start Synapse on 127.0.0.1" in out
    counters = re.findall(r"^  \[(\d+)/(\d+)\] ✓", out, re.MULTILINE)
    total = int(counters[0][1])
    assert counters == [(str(n), str(total)) for n in range(1, total + 1)], counters
    # Then each person's view of the meeting in their language.
    assert "── The meeting as Ana sees it (es) ──" in out
    assert "── The meeting as Lucie sees it (fr) ──" in out
    assert "── The meeting as Sam sees it (en) ──" in out
    ana, lucie, sam = (
        out.split(f"── The meeting as {name}")[1].split("──", 2)[1]
        for name in ("Ana", "Lucie", "Sam")
    )
    assert "¿qué podemos hacer para trabajar y aprender juntos?" in ana
    assert "que pouvons-nous faire pour travailler et apprendre ensemble ?" in lucie
    assert "what can we do to work and learn together?" in sam
    assert "what can we do to work and learn together?" not in ana  # only their own block
    ended = {"Ana": "Reunión terminada", "Lucie": "Réunion terminée", "Sam": "Meeting ended"}
    for name, view in zip(("Ana", "Lucie", "Sam"), (ana, lucie, sam), strict=True):
        assert "Ana: Podríamos compartir nuestras notas" in view
        assert "Lucie: Je propose un atelier" in view
        assert "Sam: I can organise the first workshop" in view
        assert "Action #" in view and "Decision #" in view  # answers to Maya, in English
        # The translation of Maya's action names Sam, never "@sam:localhost".
        assert re.search(r"↳ meetbot: Sam organi[sz]", view), view
        assert ended[name] in view, "the bot's announcements in each reader's language"
    assert "── The coordination room, as Kofi (coordinator) sees it ──" in out
    assert "Translation back-end: " in out
    assert "(file) " in out

    # The minutes on disk, in every language of the region.
    minutes = folder / "data" / "minutes"
    documents = list(minutes.glob("*.json"))
    assert len(documents) == 1
    data = json.loads(documents[0].read_text())
    assert [item["kind"] for item in data["items"]] == [
        "prompt", "action", "action", "decision", "prompt"
    ]
    assert data["items"][1]["text"] == "@sam:localhost will organise the first workshop"
    for lang in ("es", "fr", "en"):
        assert list(minutes.glob(f"*-{lang}.md")) and list(minutes.glob(f"*-{lang}.html"))
    assert str(documents[0]) in out
    assert (folder / "transcript.txt").read_text().count("Podríamos compartir") == 3

    # The config it wrote is a valid one.
    check = meetbot("check-config", "--config", str(folder / "meetbot.yaml"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "region demo: Demo region" in check.stdout

    # A second run in the same folder replaces the first.
    again = meetbot("demo", "--dir", str(folder), "--no-download", env=own_cache(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "previous demo" in again.stdout
    assert "not fetching the Argos models (--no-download)" in again.stdout
    assert len(list(minutes.glob("*.json"))) == 1


def test_the_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious")
    run = meetbot("demo", "--dir", str(tmp_path), "--no-download", env=own_cache(tmp_path))
    assert run.returncode == 2
    assert "not a meetbot demo" in run.stderr
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_the_demo_says_how_to_install_synapse(tmp_path: Path) -> None:
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoSynapse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'synapse' or name.startswith('synapse.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _NoSynapse())\n"
    )
    env = own_cache(tmp_path, PYTHONPATH=f"{blocker}{os.pathsep}{ROOT}")
    run = meetbot("demo", "--dir", str(tmp_path / "demo"), env=env)
    assert run.returncode == 1
    assert "pip install -e '.[demo]'" in run.stderr


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 120) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed:\n{''.join(lines)}")


def test_keep_running_serves_until_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "meetbot", "demo", "--dir", str(folder), "--keep-running",
         "--no-download"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=own_cache(tmp_path),
    )
    try:
        lines = _wait_for_line(proc, "Press Ctrl-C")
        output = "".join(lines)
        url = next(line.split("Homeserver URL: ")[1].strip() for line in lines
                   if "Homeserver URL: " in line)
        assert "@maya:localhost" in output and "password" in output
        with urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=5) as response:
            assert response.status == 200
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "stopped" in err
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
