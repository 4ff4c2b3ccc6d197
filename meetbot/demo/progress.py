"""A one-line-per-step progress display: a live line on a terminal, plain lines elsewhere.

The steps are planned before the first one runs, so the counter reads ``[n/total]`` with
the same total from the first step to the last: each step is found in the plan by its
title, and a step that is not in the plan (or runs twice) is a bug, raised at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO


class Progress:
    def __init__(self, out: TextIO = sys.stdout, plan: Sequence[str] = ()) -> None:
        self.out = out
        self.plan = list(plan)
        self.done: list[str] = []
        self.live = out.isatty()
        self.started = time.monotonic()

    @property
    def total(self) -> int:
        return len(self.plan)

    def _counter(self, what: str) -> str:
        if not self.plan:
            return "  "
        if what not in self.plan:
            raise ValueError(f"the step {what!r} is not in the plan: {self.plan}")
        expected = self.plan[len(self.done)] if len(self.done) < self.total else None
        if what != expected:
            raise ValueError(f"the step {what!r} runs out of order (expected {expected!r})")
        return f"[{len(self.done) + 1}/{self.total}]"

    @contextmanager
    def step(self, what: str) -> Iterator[list[str]]:
        """Show ``what`` while the block runs; append to the yielded list to add a detail."""
        details: list[str] = []
        start = time.monotonic()
        counter = self._counter(what)
        if self.live:
            self.out.write(f"  {counter} … {what}")
            self.out.flush()
        try:
            yield details
        except BaseException:
            self._finish("✗", counter, what, details, start)
            raise
        self._finish("✓", counter, what, details, start)
        self.done.append(what)

    def _finish(
        self, mark: str, counter: str, what: str, details: list[str], start: float
    ) -> None:
        detail = f": {', '.join(details)}" if details else ""
        line = f"  {counter} {mark} {what}{detail} ({time.monotonic() - start:.1f} s)"
        self.out.write(("\r\x1b[2K" if self.live else "") + line + "\n")
        self.out.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.started
