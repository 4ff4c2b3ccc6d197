"""A one-line-per-step progress display: a live line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    def __init__(self, out: TextIO = sys.stdout, total: int = 0) -> None:
        self.out = out
        self.total = total
        self.done = 0
        self.live = out.isatty()
        self.started = time.monotonic()

    def _counter(self) -> str:
        return f"[{self.done + 1}/{self.total}]" if self.total else "  "

    @contextmanager
    def step(self, what: str) -> Iterator[list[str]]:
        """Show ``what`` while the block runs; append to the yielded list to add a detail."""
        details: list[str] = []
        start = time.monotonic()
        counter = self._counter()
        if self.live:
            self.out.write(f"  {counter} … {what}")
            self.out.flush()
        try:
            yield details
        except BaseException:
            self._finish("✗", counter, what, details, start)
            raise
        self._finish("✓", counter, what, details, start)
        self.done += 1

    def _finish(
        self, mark: str, counter: str, what: str, details: list[str], start: float
    ) -> None:
        detail = f": {', '.join(details)}" if details else ""
        line = f"  {counter} {mark} {what}{detail} ({time.monotonic() - start:.1f} s)"
        self.out.write(("\r\x1b[2K" if self.live else "") + line + "\n")
        self.out.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
