"""Benchmark: the running bot against bare matrix-nio and plain aiosqlite baselines.

Not part of the test suite. Starts an embedded Synapse on 127.0.0.1 (rate limits off) and
measures, in one run, each subject against a baseline taken in the same run:

1. command round trip: the real bot answering ``!here`` / ``!status`` in a running meeting
   vs a bare nio client that answers each message with an m.notice (interleaved rounds);
2. ingest throughput without Matrix: ``MeetBotApp.ingest`` on a real SQLite file vs plain
   aiosqlite inserts of the same rows, one transaction each (interleaved chunks); plus the
   pure core (``engine.handle``) alone;
3. catch-up after downtime: the bot is stopped, messages are sent, the bot restarts; the time
   until every one is recorded vs the time Synapse took to accept them;
4. memory: RSS of ``python -m meetbot run`` idle in a meeting and after many messages vs a
   nio client process syncing the same room;
5. start-up: ``python -m meetbot run`` from Popen to its first answer to ``!status`` vs a bare
   nio process (``nio_first_reply.py``) measured the same way (interleaved rounds);
6. catch-up after a 10-minute outage: 1,000 messages from several people while the bot is
   stopped; restart to all recorded (and to the last answer) vs Synapse accepting them and a
   bare nio client paging them;
7. under load: a command's round trip in one of six rooms busy with live translation (20
   messages/s, Apertium, then tiny Argos models) vs a bare nio echo process in the same room.

Only ratios are judged, never absolute times (they depend on the machine and its load).
Run: python benchmarks/bot_bench.py [--quick] [--only PART ...]   (writes benchmarks/results/bot.md;
with --only, only the sections of the parts run)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# tests/ is not a package (and argostranslate installs a top-level ``tests`` that would
# shadow it): import its helpers by module name.
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(1, str(ROOT))

from load_stats import spread  # noqa: E402
from nio import (  # noqa: E402
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MessageDirection,
    RoomMessageNotice,
    RoomMessagesResponse,
    RoomMessageText,
)

RESULTS = HERE / "results" / "bot.md"
ROOM_LANGUAGES = ["en", "es"]  # a bilingual meeting: every notice is rendered twice
SYNC_TIMEOUT_MS = 30_000
BATCH = 200  # events per transaction in the batched ingest (MeetBotApp.ingest_many's default)


# -- small helpers ------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    rss = hwm = float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    return rss, hwm


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    sections: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def section(self, title: str) -> None:
        """Start a section; sections print sorted by title (they begin with their number)."""
        self.rows = self.sections.setdefault(title, [(f"**{title}**", "", "")])

    def add(self, measure: str, value: str, note: str = "") -> None:
        self.rows.append((measure, value, note))
        print(f"  {measure}: {value}  {note}".rstrip(), flush=True)

    def target(self, measure: str, value: str, ok: bool, target: str) -> None:
        self.add(f"**{measure}**", f"**{value}**", f"target {target}: {verdict(ok)}")
        if not ok:
            self.failed.append(measure)

    def markdown(self, header: str) -> str:
        lines = [header, "", "| Measure | Value | Note |", "|---|---|---|"]
        for title in sorted(self.sections):
            lines += [f"| {m} | {v} | {n} |" for m, v, n in self.sections[title]]
        if self.notes:
            lines += ["", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"


async def until(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, poll: float = 0.01
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s: {what}")
        await asyncio.sleep(poll)


# -- Matrix side ----------------------------------------------------------------------------


class ReplyClock:
    """Arrival time (perf_counter) of each notice, keyed by the event it replies to."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def on_notice(self, _room: MatrixRoom, event: RoomMessageNotice) -> None:
        now = time.perf_counter()
        relates = event.source.get("content", {}).get("m.relates_to") or {}
        target = (relates.get("m.in_reply_to") or {}).get("event_id")
        if target:
            self.at.setdefault(target, now)
            self.changed.set()

    async def wait(self, event_id: str, timeout: float = 20.0) -> float:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while event_id not in self.at:
            self.changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no reply to {event_id}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.at[event_id]


class RawEcho:
    """The notes' "raw echo": a bare nio client whose callback answers with an m.notice."""

    def __init__(self, client: AsyncClient, room_id: str) -> None:
        self.client = client
        self.room_id = room_id
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def create(cls, hs: Any, user: Any, room_id: str) -> RawEcho:
        client = AsyncClient(hs.url, user.user_id, device_id=user.device_id)
        client.restore_login(user.user_id, user.device_id, user.access_token)
        echo = cls(client, room_id)
        await client.join(room_id)
        await client.sync(timeout=0, full_state=True)
        client.add_event_callback(echo.on_text, RoomMessageText)  # type: ignore[arg-type]
        echo.task = asyncio.create_task(client.sync_forever(timeout=SYNC_TIMEOUT_MS))
        return echo

    async def on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.client.user_id or room.room_id != self.room_id:
            return
        await self.client.room_send(
            room.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": f"echo: {event.body}",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            },
        )

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


async def send_many(
    participant: Any, room: str, bodies: list[str], concurrency: int = 1
) -> list[str]:
    """Send ``bodies`` (``concurrency`` requests in flight); return the event ids."""
    ids: list[str] = [""] * len(bodies)
    queue = iter(enumerate(bodies))

    async def worker() -> None:
        for index, body in queue:
            ids[index] = await participant.send(room, body)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def recorded(store: Any, event_ids: list[str]) -> int:
    count = 0
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        async with store.conn.execute(
            f"SELECT COUNT(*) FROM events WHERE event_id IN ({marks})", chunk
        ) as cur:
            row = await cur.fetchone()
        count += row[0]
    return count


# -- 1. command round trip ----------------------------------------------------------------------


async def bench_round_trip(ctx: Context, report: Report) -> None:
    alice, clock = ctx.alice, ctx.clock
    echo_user = await asyncio.to_thread(ctx.hs.register, f"echo_{ctx.tag}", "echo-password")
    echo_room = await alice.create_room("Echo", invite=[echo_user.user_id])
    echo = await RawEcho.create(ctx.hs, echo_user, echo_room)
    await alice.wait_for_member(echo_room, echo.client.user_id)
    bot_room = ctx.bot_room
    try:

        async def one(room: str, body: str) -> float:
            t0 = time.perf_counter()
            event_id = await alice.send(room, body)
            return (await clock.wait(event_id)) - t0

        commands = ["!here", "!status"]
        for _ in range(3):  # warm-up: connections, caches, first renders
            await one(echo_room, "warm")
            for command in commands:
                await one(bot_room, command)
        raw: list[float] = []
        bot: dict[str, list[float]] = {c: [] for c in commands}
        for i in range(ctx.rounds):
            command = commands[i % 2]
            order = [(echo_room, f"ping {i}"), (bot_room, command)]
            if i % 4 >= 2:
                order.reverse()  # neither side always goes first
            for room, body in order:
                elapsed = await one(room, body)
                (raw if room == echo_room else bot[command]).append(elapsed * 1000)
    finally:
        await echo.close()
    both = bot["!here"] + bot["!status"]
    report.section(f"1. Command round trip ({ctx.rounds} interleaved rounds, same Synapse)")
    report.add(
        "Raw nio echo p50 / p95",
        f"{pct(raw, 0.5):.1f} / {pct(raw, 0.95):.1f} ms",
        "baseline: bare callback answers with an m.notice",
    )
    for command, values in bot.items():
        report.add(
            f"Bot `{command}` p50 / p95",
            f"{pct(values, 0.5):.1f} / {pct(values, 0.95):.1f} ms",
            f"{len(values)} rounds; reply rendered in {'+'.join(ROOM_LANGUAGES)}",
        )
    report.add(
        "Bot (both commands) p50 / p95",
        f"{pct(both, 0.5):.1f} / {pct(both, 0.95):.1f} ms",
        "sync → ingest transaction → outbox → send",
    )
    ratio = pct(both, 0.95) / pct(raw, 0.95)
    report.target("Round trip p95 ratio bot / raw echo", f"{ratio:.2f}", ratio <= 1.5, "≤ 1.5")
    report.add("Round trip p50 ratio bot / raw echo", f"{pct(both, 0.5) / pct(raw, 0.5):.2f}")


# -- 2. ingest throughput ---------------------------------------------------------------------


def bench_config(workdir: Path) -> Any:
    import yaml

    from meetbot.config.schema import load_config

    data = {
        "homeserver": "http://127.0.0.1:9",
        "user_id": "@bench_bot:localhost",
        "password": "unused",
        "data_dir": str(workdir / "data"),
        "prompts_dir": str(ROOT / "prompts"),
        "translation": {"backend": "none"},
        "facilitators": ["@alice:localhost"],
        "log_level": "WARNING",
        "regions": [
            {
                "id": "bench",
                "name": "Bench",
                "room": "!bench:localhost",
                "languages": ROOM_LANGUAGES,
                "timezone": "UTC",
            }
        ],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "meetbot.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def meeting_events(count: int) -> list[Any]:
    """``count`` events: ``!startmeeting``, then messages from three people, every 10th a
    command (``!idea`` / ``!info``)."""
    from meetbot.core.events import Message

    base = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    people = ["@alice:localhost", "@bob:localhost", "@carol:localhost"]
    events = [
        Message(
            "$start",
            "!bench:localhost",
            people[0],
            base,
            body="!startmeeting Benchmark",
            display_name="Alice",
        )
    ]
    for n in range(count - 1):
        if n % 10 == 9:
            body = f"!{'idea' if n % 20 == 9 else 'info'} item number {n} for the record"
        else:
            body = f"message {n}: we could share our notes every week, said person {n % 3}"
        events.append(
            Message(
                f"$m{n}",
                "!bench:localhost",
                people[n % 3],
                base + timedelta(milliseconds=200 * (n + 1)),
                body=body,
                display_name=people[n % 3][1:].split(":")[0].title(),
            )
        )
    return events


PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=5000", "synchronous=NORMAL")


async def plain_db(path: Path) -> Any:
    """The bot's schema on a fresh file, then a plain aiosqlite connection with its pragmas."""
    import aiosqlite

    from meetbot.storage.database import Database

    await (await Database.open(path)).close()
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(f"PRAGMA {pragma}")
    return conn


async def bench_ingest(workdir: Path, count: int, report: Report, profile: bool) -> None:
    from meetbot.runtime.features import engine

    handle = engine().handle
    from meetbot.runtime.features import open_app
    from meetbot.storage.codec import encode_event
    from meetbot.translation.live import LiveTranslation

    config = bench_config(workdir)
    app = await open_app(config)
    LiveTranslation(app)  # its persisters, as in the running service (backend none)
    batched_app = await open_app(bench_config(workdir / "batched"))
    LiveTranslation(batched_app)
    core_app = await open_app(bench_config(workdir / "core"))  # settings only, never ingests
    events = meeting_events(count)
    baseline = await plain_db(workdir / "plain.sqlite3")
    batched_baseline = await plain_db(workdir / "plain-batched.sqlite3")
    # The same rows the bot stores: every event belongs to the meeting.
    rows = []
    for event in events:
        type_name, payload = encode_event(event)
        rows.append(
            (
                event.event_id,
                event.room_id,
                "meeting",
                type_name,
                event.sender,
                event.at.isoformat(),
                payload,
            )
        )
    from meetbot.core.model import RoomState

    state = RoomState("!bench:localhost")
    settings = core_app.settings_for("!bench:localhost")

    async def subject(chunk: list[Any]) -> None:
        for event in chunk:
            await app.ingest(event)

    async def plain(chunk: list[tuple[Any, ...]]) -> None:
        for row in chunk:
            await baseline.execute("BEGIN IMMEDIATE")
            await baseline.execute(
                "INSERT INTO events (event_id, room_id, meeting_id, type, sender, at, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            await baseline.execute("COMMIT")

    async def subject_batched(chunk: list[Any]) -> None:
        await batched_app.ingest_many(chunk, batch=BATCH)

    async def plain_batched(chunk: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(chunk), BATCH):
            await batched_baseline.execute("BEGIN IMMEDIATE")
            for row in chunk[start : start + BATCH]:
                await batched_baseline.execute(
                    "INSERT INTO events (event_id, room_id, meeting_id, type, sender, at, "
                    "payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            await batched_baseline.execute("COMMIT")

    def core(chunk: list[Any]) -> None:
        for event in chunk:
            handle(state, settings, event)

    size = 500
    spent = {"ingest": 0.0, "plain": 0.0, "core": 0.0, "batched": 0.0, "plain_batched": 0.0}
    cpu = dict.fromkeys(spent, 0.0)  # the process's CPU time (all its threads)
    per_chunk: dict[str, list[float]] = {name: [] for name in spent}
    profiler = cProfile.Profile() if profile else None
    try:
        for k, start in enumerate(range(0, len(events), size)):
            steps: list[tuple[str, Callable[[], Awaitable[None] | None]]] = [
                ("ingest", partial(subject, events[start : start + size])),
                ("plain", partial(plain, rows[start : start + size])),
                ("core", partial(core, events[start : start + size])),
                ("batched", partial(subject_batched, events[start : start + size])),
                ("plain_batched", partial(plain_batched, rows[start : start + size])),
            ]
            if k % 2:
                steps.reverse()
            for name, step in steps:
                if profiler and name in ("ingest", "batched"):
                    profiler.enable()
                t0, c0 = time.perf_counter(), time.process_time()
                result = step()
                if result is not None:
                    await result
                elapsed = time.perf_counter() - t0
                cpu[name] += time.process_time() - c0
                if profiler and name in ("ingest", "batched"):
                    profiler.disable()
                spent[name] += elapsed
                per_chunk[name].append(len(events[start : start + size]) / elapsed)
        outbox = await app.store.pending_outbox(100_000)
        batched_outbox = await batched_app.store.pending_outbox(100_000)
        batched_stored = await recorded(batched_app.store, [e.event_id for e in events])
    finally:
        await baseline.close()
        await batched_baseline.close()
        await app.store.db.close()
        await batched_app.store.db.close()
        await core_app.store.db.close()
    n = len(events)
    rates = {name: n / t for name, t in spent.items()}
    report.section(f"2. Ingest throughput without Matrix ({n} events, SQLite file, WAL)")
    report.add(
        "Plain aiosqlite, one INSERT per transaction",
        f"{rates['plain']:,.0f} events/s",
        "baseline: the same event rows, precomputed",
    )
    report.add(
        "`MeetBotApp.ingest`",
        f"{rates['ingest']:,.0f} events/s",
        f"dedup + core + event row + {len(outbox)} outbox rows, one transaction each",
    )
    ratio = rates["ingest"] / rates["plain"]
    report.target("Ingest / plain inserts", f"{ratio:.2f}", ratio >= 0.5, "≥ 0.5")
    report.add("Pure core `engine.handle`", f"{rates['core']:,.0f} events/s", "no I/O")
    hops = await count_hops(workdir / "hops")
    report.add(
        "aiosqlite thread round trips per event: ingest / plain",
        f"{hops:.1f} / 3",
        "counted on a separate untimed run of 200 events",
    )
    report.add(
        f"Plain aiosqlite, {BATCH} INSERTs per transaction",
        f"{rates['plain_batched']:,.0f} events/s",
        "baseline: the same rows, one `execute` each, batched as ingest_many batches",
    )
    report.add(
        f"`MeetBotApp.ingest_many`, batches of {BATCH}",
        f"{rates['batched']:,.0f} events/s",
        f"dedup (one query per batch) + core + event row + {len(batched_outbox)} outbox rows, "
        f"one transaction per batch; {batched_stored}/{n} recorded",
    )
    ratio = rates["batched"] / rates["plain_batched"]
    report.target("ingest_many / plain batched inserts", f"{ratio:.2f}", ratio >= 0.8, "≥ 0.8")
    report.add(
        "ingest_many / plain one-per-transaction inserts",
        f"{rates['batched'] / rates['plain']:.1f}×",
        "what batching gains over the per-event baseline above",
    )
    report.add(
        "… the same in CPU time: ingest_many / plain batched",
        f"{cpu['plain_batched'] / cpu['batched']:.2f}",
        "reported: the process's CPU time (both threads), which other processes' load on the "
        "machine barely moves; ingest_many's pipelined writes run in SQLite's thread while "
        "the event loop goes on, so its wall time is below its CPU time",
    )
    batched_hops = await count_hops(workdir / "hops-batched", batched=True)
    report.add(
        "aiosqlite thread round trips per event, batched: ingest_many / plain",
        f"{batched_hops:.2f} / {(BATCH + 2) / BATCH:.2f}",
        "counted on a separate untimed run of 200 events",
    )
    for name, label in (("plain", "plain inserts"), ("ingest", "ingest"), ("core", "pure core"),
                        ("plain_batched", "plain batched"), ("batched", "ingest_many")):
        first, last = per_chunk[name][0], per_chunk[name][-1]
        report.add(
            f"Rate, first → last 500 events: {label}",
            f"{first:,.0f} → {last:,.0f} events/s ({last / first:.2f}×)",
            "≈1× = cost per event independent of the meeting's length" if name == "plain" else "",
        )
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        print(out.getvalue())


async def count_hops(workdir: Path, count: int = 200, batched: bool = False) -> float:
    """Calls into aiosqlite's worker thread per ingested event (each is a thread hop): every
    item put in its queue, whether awaited (``execute``) or not (a pipelined batch of
    writes, see ``meetbot/storage/pipeline.py``)."""
    from meetbot.runtime.features import open_app
    from meetbot.translation.live import LiveTranslation

    app = await open_app(bench_config(workdir))
    LiveTranslation(app)
    conn = app.store.db.conn
    queue = conn._tx
    hops = 0

    class Counting:
        def put_nowait(self, item: Any) -> None:
            nonlocal hops
            hops += 1
            queue.put_nowait(item)

    conn._tx = Counting()  # type: ignore[assignment]
    try:
        events = meeting_events(count)
        if batched:
            await app.ingest_many(events, batch=BATCH)
        for event in [] if batched else events:
            await app.ingest(event)
    finally:
        conn._tx = queue
        await app.store.db.close()
    return hops / len(events)


# -- 3. catch-up after downtime -----------------------------------------------------------------


async def bench_catch_up(ctx: Context, report: Report) -> None:
    alice, harness, room = ctx.alice, ctx.harness, ctx.bot_room
    count = ctx.catch_up
    with contextlib.suppress(TimeoutError):
        await harness.settled(timeout=20)
    await harness.stop()
    t0 = time.perf_counter()
    ids = await send_many(alice, room, [f"said while the bot was away, {n}" for n in range(count)])
    accepted = time.perf_counter() - t0

    t0 = time.perf_counter()
    await harness.start()
    first_sync = time.perf_counter() - t0
    store = harness.app.store

    async def all_recorded() -> bool:
        return await recorded(store, ids) >= count

    await until(all_recorded, 120, f"{count} missed messages recorded")
    caught_up = time.perf_counter() - t0

    # Reference: a bare nio client paging the same messages back with /messages.
    t0 = time.perf_counter()
    token, found = alice.client.next_batch, 0
    wanted = set(ids)
    for _ in range(50):
        response = await alice.client.room_messages(
            room, start=token, direction=MessageDirection.back, limit=100
        )
        if not isinstance(response, RoomMessagesResponse) or not response.chunk:
            break
        found += sum(1 for e in response.chunk if e.event_id in wanted)
        if found >= count or not response.end:
            break
        token = response.end
    paged = time.perf_counter() - t0

    report.section(f"3. Catch-up after downtime ({count} messages sent while the bot was stopped)")
    report.add(
        "Synapse accepting them (sequential sends)",
        f"{accepted:.2f} s = {count / accepted:,.0f} msg/s",
        "baseline",
    )
    report.add(
        "Bot: start → all recorded",
        f"{caught_up:.2f} s = {count / caught_up:,.0f} msg/s",
        "restore session, sync (limited), page the gap, ingest; "
        f"first sync handled at {first_sync:.2f} s",
    )
    report.add(
        "Reference: bare nio paging them with /messages", f"{paged:.2f} s", f"found {found}/{count}"
    )
    report.add(
        "**Catch-up / accept time**",
        f"**{caught_up / accepted:.2f}**",
        "< 1: the bot catches up faster than the messages were sent",
    )


# -- 4. memory ---------------------------------------------------------------------------------


NIO_CHILD = "--nio-child"
# What the bot process imports before it does anything (``open_app`` pulls in research).
BOT_MODULES = [
    "meetbot.cli.main",
    "meetbot.runtime.features",
    "meetbot.runtime.service",
    "meetbot.runtime.research_tasks",
]
# Attribution processes: import the modules given as arguments, then wait to be ended.
IMPORT_AND_WAIT = (
    "import importlib, sys, time\n"
    "for m in sys.argv[1:]: importlib.import_module(m)\ntime.sleep(600)"
)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def spawn(cmd: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    """A child in its own session, output to ``log``; the repository first on its path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
        )


async def nio_child(args: list[str]) -> None:
    """Baseline process: a nio client syncing the room, counting its text messages."""
    url, user_id, device_id, token, room_id, status, store = args
    config = AsyncClientConfig(encryption_enabled=bool(store), store_sync_tokens=bool(store))
    client = AsyncClient(url, user_id, device_id=device_id, store_path=store, config=config)
    client.restore_login(user_id, device_id, token)
    seen: set[str] = set()

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if room.room_id == room_id:
            seen.add(event.event_id)

    async def on_sync(_response: Any) -> None:
        write_atomically(Path(status), str(len(seen)))

    from nio import SyncResponse

    client.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
    client.add_response_callback(on_sync, SyncResponse)  # type: ignore[arg-type]
    if client.olm is not None and client.should_upload_keys:
        await client.keys_upload()
    await client.join(room_id)
    try:
        await client.sync_forever(timeout=SYNC_TIMEOUT_MS, full_state=True)
    finally:
        await client.close()


async def bench_memory(ctx: Context, report: Report) -> None:
    from bot_helpers import BotHarness

    alice, hs, workdir = ctx.alice, ctx.hs, ctx.workdir / "memory"
    workdir.mkdir()
    harness = BotHarness(hs, workdir)
    room = await alice.create_room("Memory", invite=[harness.user_id])
    harness.configure(
        facilitators=[alice.user_id],
        log_level="INFO",
        regions=[
            {
                "id": "mem",
                "name": "Memory",
                "room": room,
                "languages": ROOM_LANGUAGES,
                "timezone": "UTC",
            }
        ],
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    statuses: dict[str, Path] = {}
    try:
        procs["bot"] = spawn(
            [sys.executable, "-m", "meetbot", "run", "--config", str(harness.config_path)],
            workdir,
            workdir / "bot.log",
        )
        for name, e2e in (("nio", False), ("nio_e2e", True)):
            user = await asyncio.to_thread(hs.register, f"{name}_{ctx.tag}", "pw")
            await alice.invite(room, user.user_id)
            statuses[name] = workdir / f"{name}.count"
            store = workdir / f"{name}-store"
            if e2e:
                store.mkdir()
            procs[name] = spawn(
                [
                    sys.executable,
                    __file__,
                    NIO_CHILD,
                    hs.url,
                    user.user_id,
                    user.device_id,
                    user.access_token,
                    room,
                    str(statuses[name]),
                    str(store) if e2e else "",
                ],
                workdir,
                workdir / f"{name}.log",
            )
            await alice.wait_for_member(room, user.user_id, timeout=60)
        imports = {
            "imports_bot": BOT_MODULES,
            "imports_no_research": BOT_MODULES[:-1],
            "python": [],
        }
        for name, modules in imports.items():
            procs[name] = spawn(
                [sys.executable, "-c", IMPORT_AND_WAIT, *modules], workdir, workdir / f"{name}.log"
            )
        await alice.wait_for_member(room, harness.user_id, timeout=60)
        start = await alice.send(room, "!startmeeting Memory")
        await alice.wait_for_notice(room, "Meeting started", after=start, timeout=60)
        here = await alice.send(room, "!here")
        await ctx.clock.wait(here, timeout=60)
        await asyncio.sleep(2)  # idle: nothing but the long-poll sync
        idle = {name: rss_mb(proc.pid) for name, proc in procs.items()}

        count = ctx.memory_messages
        bodies = [f"message {n}: a line of the meeting record" for n in range(count)]
        t0 = time.perf_counter()
        ids = await send_many(alice, room, bodies, concurrency=4)
        sent = time.perf_counter() - t0

        async def caught_up() -> bool:
            counts = []
            for path in statuses.values():
                with contextlib.suppress(FileNotFoundError, ValueError):
                    counts.append(int(path.read_text()))
            # + "!startmeeting" and "!here"
            return len(counts) == len(statuses) and min(counts) >= count + 2

        await until(caught_up, 120, "nio baselines saw every message", poll=0.1)
        status = await alice.send(room, "!status")
        await ctx.clock.wait(status, timeout=120)  # the bot answers after everything before it
        await asyncio.sleep(1)
        busy = {name: rss_mb(proc.pid) for name, proc in procs.items()}
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see its log")
        bot_db = workdir / "data" / "meetbot.sqlite3"
        stored = await asyncio.to_thread(_count_rows, bot_db, ids)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    report.section(
        f"4. Memory (separate processes, {count} messages sent at {count / sent:,.0f} msg/s)"
    )
    for label, key in (("idle in the meeting", 0), (f"after {count} messages", 1)):
        source = idle if key == 0 else busy
        bot_mb, nio_mb, e2e_mb = source["bot"][0], source["nio"][0], source["nio_e2e"][0]
        report.add(
            f"RSS {label}: bot / nio+E2E / bare nio",
            f"{bot_mb:.0f} / {e2e_mb:.0f} / {nio_mb:.0f} MB",
            f"ratio bot / nio+E2E {bot_mb / e2e_mb:.2f}, bot / bare nio {bot_mb / nio_mb:.2f}",
        )
    growth = busy["bot"][0] - idle["bot"][0]
    base_growth = busy["nio_e2e"][0] - idle["nio_e2e"][0]
    report.add(
        f"RSS growth over {count} messages: bot / nio+E2E",
        f"{growth:+.1f} / {base_growth:+.1f} MB",
        f"{growth * 1024 / count:.1f} KB per message in the bot; {stored}/{count} recorded",
    )
    report.add(
        "Peak RSS (VmHWM): bot / nio+E2E / bare nio",
        f"{busy['bot'][1]:.0f} / {busy['nio_e2e'][1]:.0f} / {busy['nio'][1]:.0f} MB",
    )
    report.add(
        "Attribution: processes that only import the bot's modules",
        f"{idle['imports_bot'][0]:.0f} MB",
        ", ".join(f"`{m}`" for m in BOT_MODULES) + f"; bare Python {idle['python'][0]:.0f} MB",
    )
    report.add(
        "… the same without `meetbot.runtime.research_tasks`",
        f"{idle['imports_no_research'][0]:.0f} MB",
        "the research tasks' modules add next to nothing: matplotlib loads only to draw a "
        "report's charts",
    )


def _count_rows(path: Path, ids: list[str]) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        wanted = set(ids)
        return sum(1 for (eid,) in conn.execute("SELECT event_id FROM events") if eid in wanted)
    finally:
        conn.close()


# -- 5. start-up ---------------------------------------------------------------------------------


BASELINE_SCRIPT = HERE / "nio_first_reply.py"
STATUS_EVERY_S = 0.2  # the participant's "!status" while it waits for the first answer
SETTLE_S = 10.0  # a clean stop waits at most this long for the other answers


async def first_answer(
    ctx: Context, room: str, cmd: list[str], cwd: Path, log: Path, settle: bool = True
) -> tuple[float, int]:
    """Start ``cmd``; send ``!status`` in ``room`` until one is answered. Returns the seconds
    from Popen to the answer's arrival in the participant's sync, and how many were sent.

    ``settle``: stop the process only once every ``!status`` sent has its answer (a clean
    stop); otherwise at once, leaving answers unsent in the bot's outbox."""
    alice, clock = ctx.alice, ctx.clock
    sent: list[str] = []
    t0 = time.perf_counter()
    proc = spawn(cmd, cwd, log)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90
        while True:
            answered = [clock.at[e] for e in sent if e in clock.at]
            if answered:
                if settle:  # (a first start answers nothing sent before its first sync)
                    settled = loop.time() + SETTLE_S
                    while loop.time() < settled and not all(e in clock.at for e in sent):
                        clock.changed.clear()
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(clock.changed.wait(), 0.2)
                return min(answered) - t0, len(sent)
            if proc.poll() is not None and proc.returncode != 0:
                raise RuntimeError(f"{cmd[1:3]} exited with {proc.returncode}:\n{tail(log)}")
            if loop.time() > deadline:
                raise TimeoutError(f"no answer to !status from {cmd[1:3]}:\n{tail(log)}")
            sent.append(await alice.send(room, "!status"))
            clock.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(clock.changed.wait(), STATUS_EVERY_S)
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the bot saves its sync position and stops cleanly
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)


def tail(log: Path, size: int = 3000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(no log)"


@dataclass
class ImportProfile:
    total_ms: float  # the whole import, as ``-X importtime`` counts it
    packages: list[tuple[str, float]]  # third-party top-level packages, heaviest first
    own_ms: float  # meetbot's own modules (their self time)


def import_profile(modules: list[str]) -> ImportProfile:
    """Where importing ``modules`` spends its time, from ``python -X importtime``."""
    code = "; ".join(f"import {m}" for m in modules)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    total = own = 0.0
    packages: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|")
        top = name.strip().split(".")[0]
        if not name[1:].startswith(" "):  # a top-level import of this process
            total += int(cumulative) / 1000
        if top == "meetbot":
            own += int(self_us) / 1000
        else:
            packages[top] = max(packages.get(top, 0.0), int(cumulative) / 1000)
    ranked = sorted(packages.items(), key=lambda kv: -kv[1])
    return ImportProfile(total, ranked, own)


async def bench_startup(ctx: Context, report: Report) -> None:
    from bot_helpers import BotHarness

    alice, hs, workdir = ctx.alice, ctx.hs, ctx.workdir / "startup"
    workdir.mkdir()
    harness = BotHarness(hs, workdir)
    bot_room = await alice.create_room("Start-up", invite=[harness.user_id])
    harness.configure(
        facilitators=[alice.user_id],
        log_level="WARNING",
        regions=[
            {
                "id": "start",
                "name": "Start-up",
                "room": bot_room,
                "languages": ROOM_LANGUAGES,
                "timezone": "UTC",
            }
        ],
    )
    bot_cmd = [sys.executable, "-m", "meetbot", "run", "--config", str(harness.config_path)]
    base_user = await asyncio.to_thread(hs.register, f"first_{ctx.tag}", "first-password")
    base_room = await alice.create_room("Baseline", invite=[base_user.user_id])
    joiner = AsyncClient(hs.url, base_user.user_id, device_id=base_user.device_id)
    joiner.restore_login(base_user.user_id, base_user.device_id, base_user.access_token)
    await joiner.join(base_room)
    await joiner.close()
    await alice.wait_for_member(base_room, base_user.user_id)

    def base_cmd() -> list[str]:
        # What is sent from now on (Synapse runs on this machine's clock): never an earlier
        # round's !status.
        start_ms = int(time.time() * 1000)
        return [sys.executable, str(BASELINE_SCRIPT), hs.url, base_user.user_id,
                "first-password", base_room, str(start_ms)]  # fmt: skip

    # Byte-compiled as an installed package is (pip compiles it; with PYTHONDONTWRITEBYTECODE
    # set, a module changed since its last compile would be compiled at every start).
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "compileall", "-q", str(ROOT / "meetbot")],
        check=True, stdout=subprocess.DEVNULL,
    )
    # Warm-up, not counted: the bot's very first start logs in, joins and answers nothing from
    # before its first sync; both warm the file cache.
    await first_answer(ctx, bot_room, bot_cmd, workdir, workdir / "bot.log")
    await first_answer(ctx, base_room, base_cmd(), workdir, workdir / "baseline.log")
    bot: list[float] = []
    base: list[float] = []
    sent: list[int] = []
    bot_log = workdir / "bot.log"
    for i in range(ctx.startup_rounds):
        order = ["bot", "base"] if i % 2 == 0 else ["base", "bot"]
        for who in order:
            if who == "bot":
                elapsed, n = await first_answer(ctx, bot_room, bot_cmd, workdir, bot_log)
                bot.append(elapsed)
                sent.append(n)
            else:
                elapsed, _n = await first_answer(
                    ctx, base_room, base_cmd(), workdir, workdir / "baseline.log"
                )
                base.append(elapsed)
    # Reported only: a restart after a stop that left answers unsent in the outbox.
    dirty: list[float] = []
    for _ in range(ctx.startup_rounds // 2 + 1):
        await first_answer(ctx, bot_room, bot_cmd, workdir, bot_log, settle=False)
        dirty.append((await first_answer(ctx, bot_room, bot_cmd, workdir, bot_log))[0])
    imports = await asyncio.to_thread(import_profile, BOT_MODULES)
    nio_only = await asyncio.to_thread(import_profile, ["nio"])

    report.section(f"5. Start-up ({ctx.startup_rounds} interleaved rounds of each, same Synapse)")
    report.add(
        "Bare nio process: start → first answer, median",
        f"{statistics.median(base):.2f} s",
        "baseline: `benchmarks/nio_first_reply.py` logs in, syncs, answers the first `!status`; "
        f"rounds {', '.join(f'{v:.2f}' for v in base)} s",
    )
    report.add(
        "`python -m meetbot run`: start → first answer, median",
        f"{statistics.median(bot):.2f} s",
        "restart of a configured bot after a clean stop (session kept, E2E on, backend none); "
        f"rounds {', '.join(f'{v:.2f}' for v in bot)} s",
    )
    report.add(
        "… restarted after a stop that left answers unsent, median",
        f"{statistics.median(dirty):.2f} s",
        "the previous run was stopped as soon as its first answer arrived; reported only; "
        f"rounds {', '.join(f'{v:.2f}' for v in dirty)} s",
    )
    ratio = statistics.median(bot) / statistics.median(base)
    report.target("Start-up ratio bot / bare nio (medians)", f"{ratio:.3f}", ratio <= 1.5, "≤ 1.5")
    report.add(
        "`!status` sent before the first answer (bot)",
        f"{min(sent)}–{max(sent)}",
        f"one every {STATUS_EVERY_S:.1f} s from Popen until an answer arrives",
    )
    report.add(
        "Imports on the start path: bot / nio alone",
        f"{imports.total_ms:.0f} / {nio_only.total_ms:.0f} ms",
        "`python -X importtime -c 'import "
        + "; import ".join(BOT_MODULES)
        + "'` vs `-c 'import nio'`, one run each; reported only",
    )
    report.add(
        "Heaviest imports (cumulative, ≈)",
        ", ".join(f"{name} {ms:.0f} ms" for name, ms in imports.packages[:8])
        + f"; meetbot's own modules {imports.own_ms:.0f} ms",
        "top-level packages (nio includes aiohttp, jsonschema, olm …); reported only",
    )


# -- 6. catch-up after a 10-minute outage ----------------------------------------------------------


@contextlib.contextmanager
def clocked(owner: type, name: str, spent: dict[str, float]) -> Any:
    """Add up, in ``spent[name]``, the seconds spent in the coroutine method ``owner.name``."""
    original = getattr(owner, name)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


async def bench_catch_up_10(ctx: Context, report: Report) -> None:
    from bot_helpers import BotHarness
    from matrix_helpers import Participant

    alice, hs, workdir, clock = ctx.alice, ctx.hs, ctx.workdir / "catchup10", ctx.clock
    workdir.mkdir()
    count, speakers = ctx.outage_messages, 4
    others = [
        await Participant.create(hs, f"speaker{n}_{ctx.tag}", display_name=f"Speaker {n}")
        for n in range(1, speakers)
    ]
    try:
        harness = BotHarness(hs, workdir)
        room = await alice.create_room(
            "Outage", invite=[harness.user_id, *(p.user_id for p in others)]
        )
        for person in others:
            await person.join(room)
        settings: dict[str, Any] = {
            "facilitators": [alice.user_id],
            "log_level": "WARNING",
            "catch_up_window": "10m",
            "regions": [
                {
                    "id": "outage",
                    "name": "Outage",
                    "room": room,
                    "languages": ROOM_LANGUAGES,
                    "timezone": "UTC",
                }
            ],
        }
        window_note = "catch_up_window 10m"
        try:
            harness.configure(**settings)
        except Exception as exc:  # an older config model without the key
            settings.pop("catch_up_window")
            harness.configure(**settings)
            window_note = f"catch_up_window left out ({type(exc).__name__})"
        await harness.start()
        await alice.wait_for_member(room, harness.user_id)
        start = await alice.send(room, "!startmeeting Outage")
        await alice.wait_for_notice(room, "Meeting started", after=start)
        with contextlib.suppress(TimeoutError):
            await harness.settled(timeout=20)
        await harness.stop()

        # While the bot is away: every speaker posts in turn, every 100th message a command.
        people = [alice, *others]
        bodies: list[list[str]] = [[] for _ in people]
        for n in range(count):
            body = (
                f"!idea idea number {n} from the outage"
                if n % 100 == 99
                else f"message {n} while the bot was away: we could share our notes weekly"
            )
            bodies[n % speakers].append(body)
        t0 = time.perf_counter()
        sent = await asyncio.gather(
            *(send_many(person, room, mine) for person, mine in zip(people, bodies, strict=True))
        )
        accepted = time.perf_counter() - t0
        ids = [event_id for mine in sent for event_id in mine]
        commands = [
            event_id
            for mine, texts in zip(sent, bodies, strict=True)
            for event_id, body in zip(mine, texts, strict=True)
            if body.startswith("!")
        ]

        from meetbot.app import MeetBotApp
        from meetbot.matrix.gaps import GapPager

        spent: dict[str, float] = {}
        t0 = time.perf_counter()
        with clocked(MeetBotApp, "ingest_many", spent), clocked(GapPager, "missed", spent):
            await harness.start()
            first_sync = time.perf_counter() - t0
            store = harness.app.store

            async def all_recorded() -> bool:
                return await recorded(store, ids) >= count

            await until(all_recorded, 180, f"{count} missed messages recorded")
            caught_up = time.perf_counter() - t0
        answers = [await clock.wait(event_id, timeout=120) for event_id in commands]
        answered = max(answers) - t0

        # Reference: a bare nio client paging the same messages back with /messages.
        t0 = time.perf_counter()
        token, found = alice.client.next_batch, 0
        wanted = set(ids)
        for _ in range(100):
            response = await alice.client.room_messages(
                room, start=token, direction=MessageDirection.back, limit=100
            )
            if not isinstance(response, RoomMessagesResponse) or not response.chunk:
                break
            found += sum(1 for e in response.chunk if e.event_id in wanted)
            if found >= count or not response.end:
                break
            token = response.end
        paged = time.perf_counter() - t0
        await harness.stop()
    finally:
        for person in others:
            await person.close()

    report.section(
        f"6. Catch-up after a 10-minute outage ({count} messages from {speakers} people while "
        "the bot was stopped)"
    )
    report.add(
        "Synapse accepting them",
        f"{accepted:.2f} s = {count / accepted:,.0f} msg/s",
        f"baseline 1: {speakers} people sending at once, each in turn",
    )
    report.add(
        "Bare nio client paging them with /messages",
        f"{paged:.2f} s",
        f"baseline 2: found {found}/{count}, 100 per page",
    )
    report.add(
        "Bot: restart → all recorded",
        f"{caught_up:.2f} s = {count / caught_up:,.0f} events/s",
        f"in a running bilingual meeting, {window_note}; restore session, sync (limited), page "
        f"the gap, ingest; first sync handled at {first_sync:.2f} s",
    )
    paging, ingesting = spent.get("missed", 0.0), spent.get("ingest_many", float("nan"))
    report.add(
        "… of which paging the gap (`GapPager.missed`)",
        f"{paging:.2f} s",
        "/messages requests and nio parsing their events (the bot's only wait on Synapse)",
    )
    rate = count / ingesting
    report.target(
        "… of which recording them (`ingest_many`, batches of 200)",
        f"{ingesting:.2f} s = {rate:,.0f} events/s",
        rate >= 1000,
        "≥ 1,000 events/s",
    )
    report.add(
        "Bot: restart → last answer arrived",
        f"{answered:.2f} s",
        f"{len(commands)} `!idea` sent during the outage, all younger than the window, so all "
        "answered (backend none: no translation notices)",
    )
    report.add(
        "**Catch-up / accept time**",
        f"**{caught_up / accepted:.2f}**",
        "< 1: the bot is back in step faster than the messages were sent",
    )
    report.add(
        "**Catch-up / bare paging**",
        f"**{caught_up / paged:.2f}**",
        "what recording (and answering) costs over only fetching the missed messages",
    )


# -- 7. a command's round trip under translation load --------------------------------------------


ECHO_CHILD = "--echo-child"
LOAD_ROOMS = 6
LOAD_IN_FLIGHT = 8  # a speaker's messages on their way to Synapse at once, at most
LOAD_LANGUAGES = ["en", "es", "fr"]  # every message is translated into the two others
# Rounds under load, by back-end (--load-rounds overrides): the p95 of 30 is the second
# slowest round, and tiny Argos' ratio moved by ±0.2 from run to run on 30.
LOAD_ROUNDS = {"apertium": 30, "argos": 60}
# What the load's speakers say, in the language each of them chose with !lang.
LOAD_TEXTS = {
    "en": ["We could share our notes every week in a common notebook.",
           "I propose a workshop each month to learn together.",
           "Who wants to host the next meeting of our group?"],
    "es": ["Podríamos compartir nuestras notas cada semana en un cuaderno común.",
           "Propongo un taller cada mes para aprender juntos.",
           "¿Quién quiere organizar la próxima reunión del grupo?"],
    "fr": ["Nous pourrions partager nos notes chaque semaine dans un cahier commun.",
           "Je propose un atelier chaque mois pour apprendre ensemble.",
           "Qui veut accueillir la prochaine réunion de notre groupe ?"],
}


async def echo_child(args: list[str]) -> None:
    """Baseline process of part 7: a bare nio client that joins every room it is invited to
    and answers each ``ping`` there with an m.notice replying to it (part 1's raw echo, in a
    process of its own; in a busy room it answers nothing else)."""
    url, user_id, device_id, token = args
    client = AsyncClient(url, user_id, device_id=device_id)
    client.restore_login(user_id, device_id, token)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == user_id or not event.body.startswith("ping "):
            return
        await client.room_send(
            room.room_id,
            "m.room.message",
            {
                "msgtype": "m.notice",
                "body": f"echo: {event.body}",
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            },
        )

    await client.sync(timeout=0, full_state=True)  # what came before is not answered
    for room_id in list(client.invited_rooms):
        await client.join(room_id)
    client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    client.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
    try:
        await client.sync_forever(timeout=SYNC_TIMEOUT_MS)
    finally:
        await client.close()


@dataclass
class Speaker:
    """A load sender: logged in, no sync (it only sends), one room, one language."""

    client: AsyncClient
    room: str
    language: str

    async def send(self, body: str) -> str:
        response = await self.client.room_send(
            self.room, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        event_id = getattr(response, "event_id", None)
        if not event_id:
            raise RuntimeError(f"send failed: {response}")
        return str(event_id)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children it has waited for (Apertium)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


async def tiny_argos_models(workdir: Path) -> Path:
    """The tiny random-weight Argos packages (en↔es, en↔fr), built offline, once per run."""
    from meetbot.translation.tiny import build_tiny_package

    out = workdir / "argos-packages"
    if not out.exists():
        out.mkdir(parents=True)
        for pair in (("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")):
            await asyncio.to_thread(build_tiny_package, *pair, out)
    return out


async def bench_under_load(ctx: Context, report: Report) -> None:
    """A command's round trip while six rooms are busy with translation, vs the raw echo."""
    alice, hs, workdir = ctx.alice, ctx.hs, ctx.workdir / "load"
    workdir.mkdir()
    echo_user = await asyncio.to_thread(hs.register, f"loadecho_{ctx.tag}", "echo-password")
    echo = spawn(
        [sys.executable, __file__, ECHO_CHILD, hs.url, echo_user.user_id, echo_user.device_id,
         echo_user.access_token],
        workdir, workdir / "echo.log",
    )  # fmt: skip
    speakers: list[Speaker] = []
    try:
        echo_room = await alice.create_room("Load echo", invite=[echo_user.user_id])
        await alice.wait_for_member(echo_room, echo_user.user_id, timeout=60)
        for n in range(LOAD_ROOMS):
            user = await asyncio.to_thread(hs.register, f"loader{n}_{ctx.tag}", "pw")
            client = AsyncClient(hs.url, user.user_id, device_id=user.device_id)
            client.restore_login(user.user_id, user.device_id, user.access_token)
            speakers.append(Speaker(client, "", LOAD_LANGUAGES[n % len(LOAD_LANGUAGES)]))
        report.section(
            f"7. A command's round trip under translation load ({ctx.load_rate:g} messages/s "
            f"over {LOAD_ROOMS} rooms, each into 2 languages)"
        )
        variants = ["apertium", "argos"]
        if ctx.load_backends:
            variants = [v for v in variants if v in ctx.load_backends]
        for backend in variants:
            await load_variant(ctx, report, backend, speakers, echo_room, echo_user.user_id)
    finally:
        for speaker in speakers:
            await speaker.client.close()
        if echo.poll() is None:
            echo.terminate()
        await asyncio.to_thread(echo.wait, 15)


async def load_variant(
    ctx: Context, report: Report, backend: str, speakers: list[Speaker], echo_room: str,
    echo_user: str,
) -> None:
    from bot_helpers import BotHarness

    alice, clock, hs = ctx.alice, ctx.clock, ctx.hs
    workdir = ctx.workdir / "load" / backend
    workdir.mkdir()
    harness = BotHarness(hs, workdir)
    rooms = []
    for n, speaker in enumerate(speakers):
        # The echo answers pings in the first busy room too: the same room as the commands.
        invite = [harness.user_id, speaker.client.user_id, *([echo_user] if n == 0 else [])]
        room = await alice.create_room(f"Busy {n}", invite=invite)
        speaker.room = room
        joined = await speaker.client.join(room)
        if not isinstance(joined, JoinResponse):
            raise RuntimeError(f"{speaker.client.user_id} could not join: {joined}")
        rooms.append(room)
    translation: dict[str, Any] = {"backend": backend}
    note = "Apertium (Debian's eng-spa, fr-es; en↔fr through es)"
    if backend == "argos":
        from meetbot.translation.models import install_model_files

        packages = sorted((await tiny_argos_models(ctx.workdir / "load")).glob("*.argosmodel"))
        await asyncio.to_thread(install_model_files, workdir / "data" / "models", packages)
        note = "Argos, tiny random-weight models (meetbot/translation/tiny.py; es↔fr through en)"
    health_port = free_port()
    harness.configure(
        facilitators=[alice.user_id],
        log_level="WARNING",
        translation=translation,
        health={"port": health_port},
        regions=[
            {"id": f"busy{n}", "name": f"Busy {n}", "room": room, "languages": LOAD_LANGUAGES,
             "timezone": "UTC"}
            for n, room in enumerate(rooms)
        ],
    )
    bot = spawn([sys.executable, "-m", "meetbot", "run", "--config", str(harness.config_path)],
                workdir, workdir / "bot.log")
    try:
        await alice.wait_for_member(rooms[0], echo_user, timeout=60)
        for room in rooms:
            await alice.wait_for_member(room, harness.user_id, timeout=90)
        for room in rooms:
            start = await alice.send(room, "!startmeeting Busy")
            await alice.wait_for_notice(room, "Meeting started", after=start, timeout=90)
        for speaker in speakers:
            await clock.wait(await speaker.send(f"!lang {speaker.language}"), timeout=60)
        # Warm-up, not counted: the first translations load the back-end (and the models).
        warm = [await s.send(LOAD_TEXTS[s.language][0]) for s in speakers]
        for event_id in warm:
            await clock.wait(event_id, timeout=180)
        await one_round(ctx, echo_room, "ping warm")
        await one_round(ctx, rooms[0], "ping warm")
        await one_round(ctx, rooms[0], "!status")

        sent_at: dict[str, float] = {}
        accepted: list[float] = []  # ms for Synapse to accept each load message
        stop = asyncio.Event()
        failures: list[str] = []

        async def send_one(speaker: Speaker, body: str) -> None:
            t0 = time.perf_counter()
            try:
                sent_at[await speaker.send(body)] = t0
                accepted.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:
                failures.append(str(exc))

        async def speak(n: int, speaker: Speaker) -> None:
            # Each speaker its share of the rate, on a fixed schedule whatever Synapse takes to
            # accept each message (an open load: people do not wait for the server), with at
            # most LOAD_IN_FLIGHT of a speaker's messages on their way at once.
            period = LOAD_ROOMS / ctx.load_rate
            loop = asyncio.get_running_loop()
            at = loop.time() + n * period / LOAD_ROOMS
            flight = asyncio.Semaphore(LOAD_IN_FLIGHT)
            sending: set[asyncio.Task[None]] = set()

            def sent(task: asyncio.Task[None]) -> None:
                sending.discard(task)
                flight.release()

            k = 0
            while not stop.is_set():
                await asyncio.sleep(max(0.0, at - loop.time()))
                texts = LOAD_TEXTS[speaker.language]
                await flight.acquire()
                task = asyncio.create_task(send_one(speaker, f"{texts[k % len(texts)]} ({k})"))
                sending.add(task)
                task.add_done_callback(sent)
                k += 1
                at = max(at + period, loop.time())
            await asyncio.gather(*sending)

        cpu0, t_start = cpu_seconds(bot.pid), time.perf_counter()
        load = [asyncio.create_task(speak(n, s)) for n, s in enumerate(speakers)]
        samples: list[dict[str, Any]] = []
        load.append(asyncio.create_task(sample_health(health_port, samples, stop)))
        quiet: list[float] = []  # the echo in a room of its own
        raw: list[float] = []  # the echo in the busy room of the commands (judged)
        answered: list[float] = []
        rounds = ctx.load_rounds or LOAD_ROUNDS[backend]
        try:
            await asyncio.sleep(3)  # the load reaches its pace first
            for i in range(rounds):
                order = [(quiet, echo_room, f"ping {i}"), (raw, rooms[0], f"ping {i}"),
                         (answered, rooms[0], ("!status", "!here")[i % 2])]
                order = order[i % 3:] + order[: i % 3]  # each goes first in turn
                for into, room, body in order:
                    into.append(await one_round(ctx, room, body) * 1000)
                await asyncio.sleep(0.25)
        finally:
            stop.set()
            await asyncio.gather(*load, return_exceptions=True)
        duration = time.perf_counter() - t_start
        cpu = cpu_seconds(bot.pid) - cpu0
        # Every load message's translation notice, however late.
        async def all_translated() -> bool:
            return all(e in clock.at for e in sent_at)

        with contextlib.suppress(TimeoutError):
            await until(all_translated, 180, "every translation notice", poll=0.2)
        drained = time.perf_counter() - t_start - duration
        lags = [(clock.at[e] - t0) * 1000 for e, t0 in sent_at.items() if e in clock.at]
    except BaseException:
        print(f"  (the bot's log ends with:)\n{tail(workdir / 'bot.log')}", flush=True)
        raise
    finally:
        if bot.poll() is None:
            bot.terminate()
        try:
            await asyncio.to_thread(bot.wait, 30)
        except subprocess.TimeoutExpired:
            bot.kill()
    label = "Apertium" if backend == "apertium" else "tiny Argos"
    report.add(f"**{label}**: load sent", f"{len(sent_at) / duration:.1f} messages/s",
               f"{len(sent_at)} messages in {duration:.0f} s ({len(failures)} sends failed); "
               f"{note}")
    report.add(f"{label}: Synapse accepting a load message, p50 / p95",
               f"{pct(accepted, 0.5):.0f} / {pct(accepted, 0.95):.0f} ms",
               "one `PUT /send` of a speaker, as the load runs")
    report.add(f"{label}: raw nio echo in the busy room, p50 / p95",
               f"{pct(raw, 0.5):.0f} / {pct(raw, 0.95):.0f} ms",
               f"baseline: a separate nio process answering pings in the commands' room; "
               f"{len(raw)} rounds")
    report.add(f"{label}: bot `!status` / `!here` in the busy room, p50 / p95",
               f"{pct(answered, 0.5):.0f} / {pct(answered, 0.95):.0f} ms",
               f"`python -m meetbot run`; {len(answered)} rounds, interleaved with the echoes")
    ratio = pct(answered, 0.95) / pct(raw, 0.95)
    report.target(f"{label}: round trip p95 ratio bot / raw echo", f"{ratio:.2f}",
                  ratio <= 1.2, "≤ 1.2")
    report.add(f"{label}: p95 ratio, how sure", *spread(answered, raw, 1.2))
    report.add(f"{label}: round trip p50 ratio bot / raw echo",
               f"{pct(answered, 0.5) / pct(raw, 0.5):.2f}")
    report.add(f"{label}: raw nio echo in a quiet room, p50 / p95",
               f"{pct(quiet, 0.5):.0f} / {pct(quiet, 0.95):.0f} ms",
               f"the same echo in a room of its own: bot / quiet echo p95 "
               f"{pct(answered, 0.95) / pct(quiet, 0.95):.2f} (a busy room's own queue in "
               "Synapse included)")
    missing = len(sent_at) - len(lags)
    report.add(f"{label}: translation notice lag p50 / p95",
               f"{pct(lags, 0.5) / 1000:.2f} / {pct(lags, 0.95) / 1000:.2f} s"
               if lags else "none arrived",
               f"message sent → its notice (both languages) in the sender's sync; "
               f"{len(lags)}/{len(sent_at)} arrived"
               + (f", {missing} missing after 180 s" if missing else "")
               + f"; the last {drained:.1f} s after the load stopped")
    if samples:
        report.add(
            f"{label}: the bot's queues during the load, median / max",
            f"outbox {pct([x['outbox_depth'] for x in samples], 0.5):.0f} / "
            f"{max(x['outbox_depth'] for x in samples)}, translation "
            f"{pct([x['translation_queue'] for x in samples], 0.5):.0f} / "
            f"{max(x['translation_queue'] for x in samples)}",
            f"its /healthz every {HEALTH_EVERY_S:g} s ({len(samples)} samples): messages not "
            "sent yet, translations not done yet",
        )
    report.add(f"{label}: bot process CPU during the load",
               f"{cpu / duration * 100:.0f}% of one core",
               "user + system, its translation back-end's threads and processes included")


HEALTH_EVERY_S = 1.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def sample_health(port: int, samples: list[dict[str, Any]], stop: asyncio.Event) -> None:
    """The bot's /healthz once a second until ``stop`` (its outbox and translation queue)."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    health = await response.json()
                if os.environ.get("BENCH_VERBOSE"):
                    print(f"    healthz: {health}", flush=True)
                if health.get("outbox_depth") is not None:
                    samples.append(health)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), HEALTH_EVERY_S)


async def one_round(ctx: Context, room: str, body: str) -> float:
    """Send ``body`` as Alice; seconds until the notice replying to it arrives."""
    t0 = time.perf_counter()
    event_id = await ctx.alice.send(room, body)
    try:
        return (await ctx.clock.wait(event_id, timeout=60)) - t0
    except TimeoutError as exc:
        raise TimeoutError(f"no answer to {body!r} in {room} within 60 s") from exc


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Context:
    hs: Any
    workdir: Path
    tag: str
    rounds: int
    catch_up: int
    memory_messages: int
    startup_rounds: int = 5
    outage_messages: int = 1000
    load_rate: float = 20.0
    load_rounds: int | None = None  # None: LOAD_ROUNDS of the back-end
    load_backends: list[str] = field(default_factory=list)
    alice: Any = None
    clock: ReplyClock = field(default_factory=ReplyClock)
    harness: Any = None
    bot_room: str = ""


# The parts, by the name ``--only`` takes, with the number of their section in results/bot.md.
PARTS = {
    "roundtrip": 1,
    "ingest": 2,
    "catchup": 3,
    "memory": 4,
    "startup": 5,
    "catchup10": 6,
    "load": 7,
}


async def run(args: argparse.Namespace, report: Report, workdir: Path, parts: list[str]) -> None:
    from bot_helpers import BotHarness
    from matrix_helpers import Participant

    from meetbot.demo.homeserver import Homeserver

    quick = args.quick
    tag = os.urandom(3).hex()
    if "ingest" in parts:
        t0 = time.perf_counter()
        await bench_ingest(workdir / "ingest", 1500 if quick else args.events, report, args.profile)
        print(f"  (ingest part: {time.perf_counter() - t0:.1f} s)", flush=True)
    matrix_parts = [p for p in parts if p != "ingest"]
    if not matrix_parts:
        return

    hs = Homeserver(workdir / "synapse", rate_limits=False)
    await asyncio.to_thread(hs.start)
    ctx = Context(
        hs,
        workdir,
        tag,
        rounds=20 if quick else 60,
        catch_up=300,
        memory_messages=300 if quick else 2000,
        startup_rounds=3 if quick else 5,
        outage_messages=300 if quick else 1000,
        load_rounds=args.load_rounds or (12 if quick else None),
        load_backends=args.backend or [],
    )
    try:
        ctx.alice = alice = await Participant.create(hs, f"alice_{tag}", display_name="Alice")
        alice.client.add_event_callback(ctx.clock.on_notice, RoomMessageNotice)  # type: ignore[arg-type]
        if {"roundtrip", "catchup"} & set(parts):
            (workdir / "bot").mkdir()
            harness = ctx.harness = BotHarness(hs, workdir / "bot")
            ctx.bot_room = await alice.create_room("Meeting", invite=[harness.user_id])
            harness.configure(
                facilitators=[alice.user_id],
                log_level="INFO",
                regions=[
                    {
                        "id": "bench",
                        "name": "Bench",
                        "room": ctx.bot_room,
                        "languages": ROOM_LANGUAGES,
                        "timezone": "UTC",
                    }
                ],
            )
            await harness.start()
            await alice.wait_for_member(ctx.bot_room, harness.user_id)
            start = await alice.send(ctx.bot_room, "!startmeeting Benchmark")
            await alice.wait_for_notice(ctx.bot_room, "Meeting started", after=start)
        benches = {
            "roundtrip": bench_round_trip,
            "catchup": bench_catch_up,
            "memory": bench_memory,
            "startup": bench_startup,
            "catchup10": bench_catch_up_10,
            "load": bench_under_load,
        }
        for name in matrix_parts:
            t0 = time.perf_counter()
            await benches[name](ctx, report)
            print(f"  ({benches[name].__name__}: {time.perf_counter() - t0:.1f} s)", flush=True)
    finally:
        if ctx.harness is not None:
            await ctx.harness.stop()
        if ctx.alice is not None:
            await ctx.alice.close()
        await asyncio.to_thread(hs.stop)


HEADER = "# Bot benchmark\n\nGenerated by `benchmarks/bot_bench.py`; see benchmarks/README.md."
_SECTION = re.compile(r"^\| \*\*(\d+)\. ")


def parse_results(text: str) -> tuple[dict[int, list[str]], list[str]]:
    """The table rows of an earlier results file by section number, and its notes."""
    sections: dict[int, list[str]] = {}
    notes: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        found = _SECTION.match(line)
        if found:
            current = sections.setdefault(int(found.group(1)), [])
        if line.startswith("| ") and current is not None and not line.startswith("| Measure"):
            current.append(line)
        elif line.startswith("- "):
            notes.append(line[2:])
    return sections, notes


def note_key(note: str) -> str:
    return note.split(":", 1)[0]


def merged_results(old: str, report: Report) -> str:
    """``old`` with the sections of the parts just run replaced by ``report``'s, and their
    notes (a note replaces an earlier one with the same words before its colon)."""
    sections, notes = parse_results(old)
    fresh = report.markdown(HEADER)
    new_sections, new_notes = parse_results(fresh)
    sections.update(new_sections)
    keys = {note_key(n) for n in new_notes}
    notes = [n for n in notes if note_key(n) not in keys] + new_notes
    lines = [HEADER, "", "| Measure | Value | Note |", "|---|---|---|"]
    for number in sorted(sections):
        lines += sections[number]
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == NIO_CHILD:
        asyncio.run(nio_child(sys.argv[2:]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == ECHO_CHILD:
        asyncio.run(echo_child(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and messages (< 1 min)")
    parser.add_argument("--events", type=int, default=5000, help="events for the ingest benchmark")
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest part")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(PARTS),
        help="run only this part (repeatable); results/bot.md keeps the other parts' sections",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=["apertium", "argos"],
        help="part 7 (load): only this translation back-end (repeatable; default both)",
    )
    parser.add_argument(
        "--load-rounds",
        type=int,
        help="part 7 (load): rounds per back-end (default: "
        + ", ".join(f"{k} {v}" for k, v in LOAD_ROUNDS.items()) + "; 12 with --quick)",
    )
    args = parser.parse_args()
    parts = [p for p in PARTS if p in (args.only or PARTS)]
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="meetbot-bench-") as tmp:
        asyncio.run(run(args, report, Path(tmp), parts))
    total = time.perf_counter() - started
    load = os.getloadavg()[0]
    command = "python benchmarks/bot_bench.py" + (" --quick" if args.quick else "")
    if args.only:
        command += "".join(f" --only {p}" for p in parts)
    machine = (
        f"in {total:.0f} s on {os.cpu_count()} cores (1-min load average at the end: "
        f"{load:.1f}); Synapse, the bot and the clients share the machine."
    )
    if args.only:
        report.notes.append(f"Run of `{command}`: {machine}")
    else:
        report.notes.append(f"Run: `{command}` {machine}")
    if "roundtrip" in parts:
        report.notes.append(
            "Round trip: user sends, the answer arrives in the user's sync; the bot and the echo "
            "client run in the same process and event loop as the user's client, in separate "
            "rooms."
        )
    if "startup" in parts:
        report.notes.append(
            "Start-up: from `Popen` to the arrival (in the participant's sync) of the first "
            "answer to the `!status` the participant sends every "
            f"{STATUS_EVERY_S:.1f} s; both processes run their own Python; the bot restores its "
            "session, the baseline logs in with a password each time. Rounds alternate which "
            "goes first."
        )
    if "catchup10" in parts:
        report.notes.append(
            "Catch-up (10-minute outage): no literal 10-minute wait — the outage is simulated by "
            "its volume (what a busy meeting says in 10 minutes); every missed message is "
            "younger than catch_up_window, so the missed commands are answered."
        )
    if "load" in parts:
        report.notes.append(
            "Under load: the bot (`python -m meetbot run`, E2E on, its own process) runs a "
            "meeting in each of six rooms; six speakers send 20 messages/s between them on a "
            "fixed schedule (sent whatever Synapse takes to accept them, up to 8 each on their "
            "way), each written in en, es or fr (chosen with !lang) and translated into the "
            "two others. Each round measures, in turn, a ping to the echo in its own room, a "
            "ping to the echo in the commands' busy room and a command to the bot there; the "
            "judged ratio compares the bot with the echo in the same room, over (by default) "
            + " and ".join(f"{n} rounds for {k}" for k, n in LOAD_ROUNDS.items())
            + " (the p95 of 30 rounds is the second slowest: one slow round moves it); "
            "'how sure' resamples the rounds (a round's two times together) for a 90% "
            "interval of the ratio and shows the ratio of every 15 consecutive rounds, so no "
            "slow round is left out. Synapse, the bot, "
            "its back-end and the clients share the machine's 2 cores: under this load Synapse "
            "itself is the bottleneck (see its time to accept a message)."
        )
    report.notes.append(
        "Only ratios between subjects and baselines measured in the same run are judged."
    )
    text = report.markdown(HEADER)
    if args.only and RESULTS.exists():
        text = merged_results(RESULTS.read_text(), report)
    print("\n" + text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
    if report.failed:
        print("FAILED targets: " + ", ".join(report.failed), file=sys.stderr)


if __name__ == "__main__":
    main()
