"""A pool of interchangeable HTTP servers: who gets the next request, and who is down.

Pure bookkeeping (no I/O), safe to share between threads. A request goes to the server that
is up with the fewest requests in flight, ties broken in turn (round robin), so a pool of
equal servers shares a steady load evenly and a slow one gets less. A server that fails
(refused, timed out, 5xx) is marked down for a back-off period that doubles with each
failure in a row (``backoff`` … ``max_backoff``); once it has passed, the next request tries
it again, and a success makes it a full member again. When every server is inside its
back-off, a request still tries the one due back first (:meth:`ServerPool.pick_soonest`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Server:
    """One server of the pool and what the pool knows about it."""

    url: str
    index: int
    in_flight: int = 0
    served: int = 0  # requests it answered
    failures: int = 0  # failures in a row (0: up)
    down_until: float = 0.0  # clock time before which it is not tried
    last_error: str = ""


class ServerPool:
    """Chooses servers for requests and tracks their health.

    Args:
        urls: the servers' base URLs, in the configured order.
        backoff: seconds a server stays out after its first failure in a row.
        max_backoff: the longest it stays out (the back-off doubles up to this).
        clock: monotonic seconds (tests give their own).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a server pool needs at least one URL")
        self.servers = [Server(url, i) for i, url in enumerate(urls)]
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self._turn = 0  # the server first in line when all else is equal
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.servers)

    def _ready(self, server: Server, now: float) -> bool:
        return server.down_until <= now

    def available(self) -> int:
        """How many servers a request may be sent to now (up, or back-off over)."""
        now = self.clock()
        with self._lock:
            return sum(1 for s in self.servers if self._ready(s, now))

    def pick(self, exclude: Sequence[Server] = ()) -> Server | None:
        """The server for the next attempt (counted in flight until :meth:`release`), or
        None when every server not in ``exclude`` is inside its back-off."""
        now = self.clock()
        n = len(self.servers)
        with self._lock:
            candidates = [s for s in self.servers if s not in exclude and self._ready(s, now)]
            if not candidates:
                return None
            # The least busy; among equals, whose turn it is. A server whose back-off is over
            # takes its turn like the others: that request is its retry.
            chosen = min(candidates, key=lambda s: (s.in_flight, (s.index - self._turn) % n))
            chosen.in_flight += 1
            self._turn = (chosen.index + 1) % n
            return chosen

    def pick_soonest(self) -> Server:
        """The server whose back-off ends first, for a request that found every server down:
        no request fails without one real try, and the pool notices at once that a server
        is back."""
        with self._lock:
            chosen = min(self.servers, key=lambda s: (s.down_until, s.index))
            chosen.in_flight += 1
            return chosen

    def release(self, server: Server) -> None:
        with self._lock:
            server.in_flight -= 1

    def succeeded(self, server: Server) -> bool:
        """Record an answer; True when the server was down until now (it came back)."""
        with self._lock:
            came_back = server.failures > 0
            server.served += 1
            server.failures = 0
            server.down_until = 0.0
            server.last_error = ""
            return came_back

    def failed(self, server: Server, reason: str) -> float:
        """Mark the server down; returns the seconds until it is tried again."""
        with self._lock:
            server.failures += 1
            wait = min(self.max_backoff, self.backoff * 2 ** (server.failures - 1))
            server.down_until = self.clock() + wait
            server.last_error = reason
            return wait

    def down(self) -> list[tuple[Server, float]]:
        """The servers inside their back-off, with the seconds left, soonest back first."""
        now = self.clock()
        with self._lock:
            found = [(s, s.down_until - now) for s in self.servers if not self._ready(s, now)]
        return sorted(found, key=lambda pair: pair[1])

    def served(self) -> dict[str, int]:
        """Requests answered by each server (for tests, logs and the benchmark)."""
        with self._lock:
            return {s.url: s.served for s in self.servers}
