"""What the bot counts, for operators: one :class:`Metrics` per bot, with its own registry.

The composition root creates it and hands it to the shells that count (the app, the Matrix
sync loop and outbox, live translation); ``/metrics`` renders it in Prometheus' text format.
Nothing is registered on import, and never in prometheus-client's global registry: tests run
several bots in one process, and each bot's numbers are its own.

A leaf module at the bottom of the layers: it knows nothing of the bot, only the numbers.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST  # re-exported
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

# From a message's homeserver timestamp to its handling: a live bot is well under a second;
# minutes mean it was away, or the sync loop is falling behind.
LAG_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class Metrics:
    """The bot's counters and gauges, in a registry of their own (``registry``)."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        # The process's memory, CPU and open files (process_*), read from /proc when scraped.
        ProcessCollector(registry=registry)
        self.events = Counter(
            "meetbot_events", "Events handled, by type (message, edit, redaction, reaction, "
            "membership, tick)", ["type"], registry=registry,
        )
        self.commands = Counter(
            "meetbot_commands", "Commands handled, by command name (unknown: not a command "
            "the bot has)", ["command"], registry=registry,
        )
        self.translations = Counter(
            "meetbot_translations", "Messages through live translation, by back-end and "
            "result (ok, nothing: no other language to translate into, missing_pair, error)",
            ["backend", "result"], registry=registry,
        )
        self.outbox_sent = Counter(
            "meetbot_outbox_sent", "Messages sent to Matrix, by room", ["room"], registry=registry,
        )
        self.outbox_retries = Counter(
            "meetbot_outbox_retries", "Sends that failed and will be tried again, by room",
            ["room"], registry=registry,
        )
        self.outbox_give_ups = Counter(
            "meetbot_outbox_give_ups", "Messages given up for good, by room and reason",
            ["room", "reason"], registry=registry,
        )
        self.syncs = Counter(
            "meetbot_syncs", "Syncs with the homeserver, by result (ok, error)", ["result"],
            registry=registry,
        )
        self.last_sync = Gauge(
            "meetbot_last_sync_timestamp_seconds",
            "Unix time of the last successful sync (0: none yet)", registry=registry,
        )
        self.sync_age = Gauge(
            "meetbot_sync_age_seconds",
            "Seconds since the last successful sync, when scraped (-1: none yet)",
            registry=registry,
        )
        self.event_lag = Histogram(
            "meetbot_event_lag_seconds",
            "From a live event's homeserver timestamp to the bot handling it",
            buckets=LAG_BUCKETS, registry=registry,
        )
        self.outbox_depth = Gauge(
            "meetbot_outbox_depth", "Messages waiting in the outbox to be sent",
            registry=registry,
        )
        self.translation_queue = Gauge(
            "meetbot_translation_queue_depth", "Messages waiting to be translated",
            registry=registry,
        )
        self.rooms_unreachable = Gauge(
            "meetbot_rooms_unreachable", "Rooms the bot cannot deliver to", registry=registry,
        )
        self.healthy = Gauge(
            "meetbot_healthy", "1 when /healthz answers 200, else 0", registry=registry,
        )
        # The monotonic time of the last successful sync: what the health verdict reads.
        self.last_sync_at: float | None = None
        self._events_by_type: dict[str, Any] = {}  # the labelled counters, once per type

    # -- what the shells call ------------------------------------------------------------
    def events_handled(self, type_names: Iterable[str]) -> None:
        """Events of these types were handled (a batch of them: each type's counter goes up
        once, by as many; the labelled counter is looked up once per type, not each time)."""
        for type_name, count in Tally(type_names).items():
            counter = self._events_by_type.get(type_name)
            if counter is None:
                counter = self._events_by_type[type_name] = self.events.labels(type_name)
            counter.inc(count)

    def synced(self) -> None:
        """A sync with the homeserver succeeded (and what it brought was handled)."""
        self.last_sync_at = time.monotonic()
        self.last_sync.set(time.time())
        self.syncs.labels("ok").inc()

    def sync_failed(self) -> None:
        self.syncs.labels("error").inc()

    def live_event(self, sent_at_ms: int) -> None:
        """A live event reached the bot: how late, after the homeserver stamped it."""
        if sent_at_ms > 0:
            self.event_lag.observe(max(0.0, time.time() - sent_at_ms / 1000))

    def sync_age_s(self, now: float | None = None) -> float | None:
        """Seconds since the last successful sync (None: none yet)."""
        if self.last_sync_at is None:
            return None
        return max(0.0, (time.monotonic() if now is None else now) - self.last_sync_at)

    # -- rendering ---------------------------------------------------------------------
    def render(self) -> bytes:
        """Everything, in Prometheus' text exposition format (``CONTENT_TYPE_LATEST``)."""
        age = self.sync_age_s()
        self.sync_age.set(-1 if age is None else age)
        return generate_latest(self.registry)
