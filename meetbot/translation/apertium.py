"""Apertium back-end: rule-based translation from Debian packages, through ``apertium -u``.

Batching: a process costs ~0.1 s to start, so one call translates many texts. Each line of
each text becomes one paragraph (lines joined by a blank line). A blank line is a sentence
boundary for Apertium: words never move from one text to the next, which they do across a
single newline ("The red\\nhouse" comes out as "La casa\\nroja"). The answer is split on blank
lines again; if the count ever differs, the batch is redone one text per call.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

from meetbot.translation.base import BackendUnavailable, Pair, TranslationError, Translator

# Apertium names pairs with ISO 639-1 or 639-3 codes ("fr-es", "eng-spa").
_ISO3 = {"eng": "en", "spa": "es", "fra": "fr", "fre": "fr", "cat": "ca", "por": "pt",
         "ita": "it", "deu": "de", "glg": "gl", "oci": "oc", "eus": "eu", "ron": "ro"}  # fmt: skip
_MODE = re.compile(r"^([a-z]{2,3})-([a-z]{2,3})$")  # skips variants: spa-eng_US, eco-fr-es
_SEPARATOR = "\n\n"


def _iso1(code: str) -> str:
    return _ISO3.get(code, code)


def parse_modes(listing: str) -> dict[Pair, str]:
    """Map (source, target) ISO 639-1 codes to mode names from ``apertium -l`` output."""
    modes: dict[Pair, str] = {}
    for line in listing.split():
        match = _MODE.match(line.strip())
        if match:
            modes.setdefault((_iso1(match[1]), _iso1(match[2])), match[0])
    return modes


class ApertiumTranslator(Translator):
    """Translate with the installed Apertium modes; pivots through Spanish (then English).

    Debian has eng-spa, spa-eng, fr-es and es-fr: en↔fr goes through Spanish (rough).
    """

    name = "apertium"
    pivots = ("es", "en")
    # A call costs a process start (~0.15 s) whatever it carries: 128 texts cost about as much
    # as one, so a backlog is translated in few, large calls.
    max_batch = 128

    def __init__(self, binary: str = "apertium", *, timeout: float = 60.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self._modes: dict[Pair, str] | None = None
        self._lock = threading.Lock()

    def _call(self, args: list[str], text: str = "") -> str:
        try:
            proc = subprocess.run(
                [self.binary, *args],
                input=text,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise BackendUnavailable(
                f"'{self.binary}' is not installed (Debian: apt-get install apertium "
                "apertium-eng-spa apertium-fr-es)."
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise TranslationError(f"apertium {' '.join(args)} timed out") from exc
        if proc.returncode != 0:
            raise TranslationError(f"apertium {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def modes(self) -> dict[Pair, str]:
        """Installed modes by pair (``apertium -l``, asked once)."""
        with self._lock:
            if self._modes is None:
                if shutil.which(self.binary) is None:
                    self._modes = {}
                else:
                    self._modes = parse_modes(self._call(["-l"]))
            return dict(self._modes)

    def pairs(self) -> set[Pair]:
        return set(self.modes())

    def install_hint(self, source: str, target: str) -> str:
        return (
            "Install the Apertium language data for it (Debian: apertium-eng-spa for en↔es, "
            "apertium-fr-es for fr↔es; en↔fr pivots through Spanish)."
        )

    def _run_mode(self, mode: str, segments: list[str]) -> list[str]:
        out = self._call(["-u", mode], _SEPARATOR.join(segments))
        return [part.strip() for part in out.strip("\n").split(_SEPARATOR)]

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        mode = self.modes()[(source, target)]
        segments: list[str] = []
        layout: list[list[int | None]] = []  # per text, per line: segment index or None
        for text in texts:
            lines: list[int | None] = []
            for line in text.split("\n"):
                if line.strip():
                    lines.append(len(segments))
                    segments.append(line.strip())
                else:
                    lines.append(None)
            layout.append(lines)
        if not segments:
            return list(texts)
        translated = self._run_mode(mode, segments)
        if len(translated) != len(segments):
            # Defensive: never misalign messages; pay one process per line instead.
            translated = [self._run_mode(mode, [segment])[0] for segment in segments]
        return ["\n".join("" if i is None else translated[i] for i in lines) for lines in layout]
