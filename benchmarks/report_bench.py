"""Benchmark: the research outputs at network scale, against reading the same record.

Not part of the test suite. Builds research records through the real app (``open_app``,
``MeetBotApp.ingest`` of every event on a SQLite file, translations stored as the live
worker stores them) and measures, with baselines taken in the same run:

1. minutes of one 2,000-message meeting (``write_meeting_minutes``: rebuild from the
   stored events, JSON + Markdown + HTML in the coordinator's and the region's languages);
2. the cross-region report (``write_full_report``: HTML with its charts, Markdown, JSON) for
   6, 24 and 96 meetings of 500 messages;
3. the REFI-QDA export (``write_exports(["qdpx"])``) of the same records.

Baselines: reading every event of the same meetings from the store (``meeting_events``:
the floor of anything rebuilt from the record) and ``json.dumps`` of the output's data.
Subject and baselines take turns over several rounds; medians are reported, as wall time
and as the process's CPU time (threads included: steadier on a shared machine). The goals
(0.2 s, 2 s, 5 s) are absolute and judged on both, beside the ratios; memory is the
tracemalloc peak of each output, in a separate untimed run.

Run: python benchmarks/report_bench.py [--quick] [--only minutes|scale] [--profile WHAT]
(writes benchmarks/results/report.md; with --only, the other part keeps its rows)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from meetbot.app import MeetBotApp  # noqa: E402
from meetbot.config.schema import Config, load_config  # noqa: E402
from meetbot.core.events import Edit, Event, Message, Reaction  # noqa: E402
from meetbot.minutes.delivery import minutes_data, write_meeting_minutes  # noqa: E402
from meetbot.research.outputs import build_full_report, write_exports, write_full_report  # noqa: E402
from meetbot.runtime.features import open_app  # noqa: E402
from meetbot.waiting import freeze_long_lived  # noqa: E402

RESULTS = HERE / "results" / "report.md"
LANGUAGE_SETS = (["es", "en"], ["fr", "en"], ["en"], ["es", "fr", "en"], ["fr", "es"], ["es"])
WORDS = {
    lang: words.split()
    for lang, words in (
        ("en", "we could share our notes every week in a common notebook and learn together"),
        ("es", "podríamos compartir nuestras notas cada semana en un cuaderno común juntos"),
        ("fr", "nous pourrions partager nos notes chaque semaine dans un cahier commun ensemble"),
    )
}
BASE = datetime(2025, 1, 6, 9, tzinfo=timezone.utc)
FACILITATOR = "@maya:localhost"
GOALS = {"minutes": 0.2, "report": 2.0, "qdpx": 5.0}


# -- the record, through the real app -------------------------------------------------------


def region_id(r: int) -> str:
    return f"r{r:02d}"


def bench_config(workdir: Path, regions: int) -> Config:
    import yaml

    data = {
        "homeserver": "http://127.0.0.1:9",
        "user_id": "@meetbot:localhost",
        "password": "unused",
        "data_dir": str(workdir / "data"),
        "prompts_dir": str(ROOT / "prompts"),
        "translation": {"backend": "none"},
        "facilitators": [FACILITATOR],
        "coordinator": {"room": "!coordinator:localhost", "language": "en",
                        "users": [FACILITATOR]},
        "log_level": "WARNING",
        "regions": [
            {"id": region_id(r), "name": f"Region {r}", "room": f"!{region_id(r)}:localhost",
             "languages": LANGUAGE_SETS[r % len(LANGUAGE_SETS)], "timezone": "UTC"}
            for r in range(regions)
        ],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "meetbot.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def meeting_events(
    r: int, number: int, messages: int, languages: list[str]
) -> tuple[list[Event], dict[str, tuple[str, int]]]:
    """One meeting of ``messages`` messages (commands included) in region ``r``, and the
    language and length in words of each ordinary message: eight people talk in the region's
    languages, the facilitator walks the three prompts, every 25th message is tagged, every
    15th replies, every 50th is edited; one message in ten gets a 👍 from someone else."""
    rng = random.Random(r * 1000 + number)
    room = f"!{region_id(r)}:localhost"
    people = [f"@p{r}_{i}:localhost" for i in range(8)]
    start = BASE + timedelta(weeks=number - 1, hours=r % 8)
    prefix = f"${region_id(r)}m{number}e"
    events: list[Event] = []
    spoken: dict[str, tuple[str, int]] = {}
    said: list[str] = []
    clock = iter(range(10**9))
    sent = [0]  # Message events so far

    def at() -> datetime:
        return start + timedelta(seconds=5 * next(clock))

    def say(sender: str, body: str, **extra: Any) -> str:
        event_id = f"{prefix}{len(events)}"
        name = sender[1:].split(":")[0].title()
        power = 50 if sender == FACILITATOR else 0
        events.append(Message(event_id, room, sender, at(), body=body, display_name=name,
                              sender_power=power, **extra))
        sent[0] += 1
        return event_id

    say(FACILITATOR, f"!startmeeting Meeting {number} of {region_id(r)}")
    for person in people[:4]:
        say(person, "!here")
    prompt_every = max(1, (messages - 8) // 3)
    while sent[0] < messages - 1:
        k = sent[0]
        if (k - 5) % prompt_every == 0:
            say(FACILITATOR, "!next")
        elif k % 97 == 0:
            say(FACILITATOR, f"!agreed we meet again in {k % 7 + 2} weeks to compare notes")
        elif k % 61 == 0:
            owner = rng.choice(people)
            say(FACILITATOR, f"!action {owner} writes up point {k} for the next meeting")
        elif k % 83 == 0:
            say(rng.choice(people), f"!link https://example.org/notes/{k} shared notes {k}")
        else:
            lang = rng.choice(languages)
            sender = rng.choice(people)
            body = " ".join(rng.choice(WORDS[lang]) for _ in range(rng.randint(6, 24)))
            if k % 25 == 0:
                body = f"!{'idea' if k % 50 == 0 else 'info'} {body}"
            reply = said[-1] if said and k % 15 == 0 else None
            event_id = say(sender, body.capitalize(), reply_to=reply)
            said.append(event_id)
            spoken[event_id] = (lang, len(body.split()))
            if k % 10 == 3:
                reactor = rng.choice([p for p in people if p != sender])
                events.append(Reaction(f"{prefix}{len(events)}", room, reactor, at(),
                                       target=event_id, key="👍"))
            if k % 50 == 7:
                events.append(Edit(f"{prefix}{len(events)}", room, sender, at(),
                                   target=event_id, body=body.capitalize() + " (edited)"))
    say(FACILITATOR, "!endmeeting")
    return events, spoken


async def build_record(
    workdir: Path, regions: int, per_region: int, messages: int
) -> tuple[MeetBotApp, int]:
    """A record of ``regions × per_region`` meetings, ingested through the app; returns the
    app and the number of events ingested."""
    config = bench_config(workdir, regions)
    app = await open_app(config)
    count = 0
    for number in range(1, per_region + 1):
        for r in range(regions):
            languages = list(config.regions[r].languages)
            events, spoken = meeting_events(r, number, messages, languages)
            for event in events:
                await app.ingest(event)
            count += len(events)
            # The live worker's work: each message translated into the room's other languages
            # (as long as the message, in the other language's words).
            async with app.store.db.transaction():
                for event_id, (lang, length) in spoken.items():
                    words = random.Random(event_id)
                    others = {t: " ".join(words.choice(WORDS[t]) for _ in range(length))
                              .capitalize() for t in languages if t != lang}
                    if others:
                        await app.store.save_translations(event_id, lang, others, "bench")
    return app, count


# -- measuring ------------------------------------------------------------------------------


async def timed(step: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process, its threads included)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    await step()
    return time.perf_counter() - wall, time.process_time() - cpu


async def peak_mb(step: Callable[[], Awaitable[Any]]) -> float:
    """tracemalloc peak of one run of ``step`` above what was allocated before it."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    await step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


async def longest_pause(step: Callable[[], Awaitable[Any]]) -> float:
    """The event loop's longest stop during one run of ``step``, in seconds: how long an
    answer to someone in a meeting could have waited behind it. A task that wakes every
    millisecond notes the gaps between its turns."""
    gc.collect()
    done = asyncio.Event()
    longest = 0.0

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last - 0.001), now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        await step()
    finally:
        done.set()
        await ticker
    return longest


async def read_events(app: MeetBotApp) -> int:
    """The baseline: every event of every meeting held, read and decoded from the store."""
    total = 0
    for row in await app.store.meetings():
        total += len(await app.store.meeting_events(row.meeting_id))
    return total


class Timing:
    """Median wall and CPU seconds of a step over the rounds."""

    def __init__(self, samples: list[tuple[float, float]]) -> None:
        self.wall = statistics.median(w for w, _ in samples)
        self.cpu = statistics.median(c for _, c in samples)

    def ms(self) -> str:
        return f"{self.wall * 1000:,.0f} / {self.cpu * 1000:,.0f} ms"

    def s(self) -> str:
        return f"{self.wall:.2f} / {self.cpu:.2f} s"


async def rounds(steps: dict[str, Callable[[], Awaitable[Any]]], count: int) -> dict[str, Timing]:
    """Each step ``count`` times, taking turns (the order alternates each round)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for k in range(count):
        order = list(steps) if k % 2 == 0 else list(reversed(steps))
        for name in order:
            samples[name].append(await timed(steps[name]))
    return {name: Timing(values) for name, values in samples.items()}


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def section(self, title: str) -> None:
        self.rows.append((f"**{title}**", "", ""))

    def add(self, measure: str, value: str, note: str = "") -> None:
        self.rows.append((measure, value, note))
        print(f"  {measure}: {value}  {note}".rstrip(), flush=True)

    def markdown(self) -> list[str]:
        return ["| Measure | Value | Note |", "|---|---|---|",
                *[f"| {m} | {v} | {n} |" for m, v, n in self.rows]]


def verdict(timing: Timing, goal: float) -> str:
    def judge(seconds: float) -> str:
        return "PASS" if seconds < goal else "FAIL"

    return f"goal < {goal:g} s: {judge(timing.wall)} on wall time, {judge(timing.cpu)} on CPU time"


async def bench_minutes(workdir: Path, messages: int, n_rounds: int, table: Table,
                        profile: bool) -> None:
    app, events = await build_record(workdir, 1, 1, messages)
    try:
        row = (await app.store.meetings())[0]
        meeting_id = row.meeting_id

        async def subject() -> Any:
            return await write_meeting_minutes(app, meeting_id)

        doc = await minutes_data(app, meeting_id)

        async def dump() -> str:
            return json.dumps(doc, ensure_ascii=False, indent=2)

        async def rebuild() -> Any:
            return await minutes_data(app, meeting_id)

        async def read() -> Any:
            return await app.store.meeting_events(meeting_id)

        await subject()  # warm-up: templates compiled, catalogues loaded
        t = await rounds({"minutes": subject, "read": read, "dump": dump, "rebuild": rebuild},
                         n_rounds)
        memory = await peak_mb(subject)
        pause = await longest_pause(subject)
        if profile:
            await print_profile(subject)
        _data, paths = await subject()
        size = sum(p.stat().st_size for p in paths)
        languages = sorted({p.stem.rsplit("-", 1)[1] for p in paths if p.suffix == ".md"})
    finally:
        await app.store.db.close()
    table.section(f"1. Minutes of one {messages:,}-message meeting ({events:,} events); "
                  "times are wall / CPU")
    table.add("Baseline: read and decode its events", t["read"].ms(), "`store.meeting_events`")
    table.add("Baseline: `json.dumps` of its minutes document", t["dump"].ms(),
              "indent 2, as the JSON minutes")
    table.add("Rebuild the document (`minutes_data`)", t["rebuild"].ms(),
              "replay through the core, translations, series number, endorsements")
    table.add("**Minutes written (`write_meeting_minutes`)**", f"**{t['minutes'].ms()}**",
              f"{verdict(t['minutes'], GOALS['minutes'])}; rebuild, then JSON + Markdown + "
              f"HTML in {', '.join(languages)}: {len(paths)} files, {size / 1024:,.0f} KB")
    table.add("**Minutes / read events**", f"**{t['minutes'].cpu / t['read'].cpu:.1f}**",
              f"CPU; minutes / json.dumps: {t['minutes'].cpu / t['dump'].cpu:.1f}")
    table.add("tracemalloc peak, minutes", f"{memory:.1f} MB",
              f"its minutes document as JSON: {len(json.dumps(doc)) / 2**20:.1f} MB")
    table.add("The event loop's longest pause, minutes", f"{pause * 1000:,.0f} ms",
              f"{pause / t['minutes'].wall:.0%} of their wall time: the rebuild runs in the loop, "
              "the rendering and writing in the rendering thread (`off_the_loop`); reported "
              "only, from a separate run")


async def measure_outputs(
    app: MeetBotApp, out: Path, n_rounds: int, profile: str | None
) -> tuple[dict[str, Timing], dict[str, float], dict[str, int], dict[str, float]]:
    """Timings, tracemalloc peaks, output sizes and the event loop's longest pauses of the
    report and the export."""
    report = await build_full_report(app)

    async def report_step() -> Any:
        return await write_full_report(app, out / "reports")

    async def qdpx_step() -> Any:
        return await write_exports(app, ["qdpx"], out / "exports")

    async def read() -> Any:
        return await read_events(app)

    async def dump() -> str:
        return json.dumps(report, ensure_ascii=False, indent=2)

    await report_step()  # warm-up: matplotlib imported, templates compiled
    t = await rounds({"report": report_step, "qdpx": qdpx_step, "read": read, "dump": dump},
                     n_rounds)
    memory = {"report": await peak_mb(report_step), "qdpx": await peak_mb(qdpx_step),
              "read": await peak_mb(read)}
    pauses = {"report": await longest_pause(report_step), "qdpx": await longest_pause(qdpx_step)}
    if profile in ("report", "qdpx"):
        await print_profile(report_step if profile == "report" else qdpx_step)
    sizes = {
        "report": sum(p.stat().st_size for p in (out / "reports").iterdir()),
        "qdpx": (out / "exports" / "meetbot-export.qdpx").stat().st_size,
    }
    return t, memory, sizes, pauses


async def bench_scale(
    workdir: Path, scales: list[tuple[int, int]], messages: int, n_rounds: int, table: Table,
    profile: str | None,
) -> None:
    results = []
    for regions, per_region in scales:
        t0 = time.perf_counter()
        app, events = await build_record(workdir / f"s{regions}x{per_region}", regions,
                                         per_region, messages)
        built = time.perf_counter() - t0
        try:
            largest = (regions, per_region) == scales[-1]
            t, memory, sizes, pauses = await measure_outputs(
                app, workdir / f"out{regions}x{per_region}", n_rounds,
                profile if largest else None)
        finally:
            await app.store.db.close()
        results.append((regions * per_region, regions, events, built, t, memory, sizes, pauses))
        print(f"{regions * per_region} meetings: "
              + ", ".join(f"{k} {v.s()}" for k, v in t.items()), flush=True)

    table.section(f"Records (meetings of {messages} messages, 8 people each, 3 prompts)")
    for meetings, regions, events, built, t, _memory, _sizes, _pauses in results:
        table.add(f"{meetings} meetings in {regions} regions", f"{events:,} events",
                  f"ingested through the app in {built:.0f} s; baseline, reading and decoding "
                  f"them all: {t['read'].ms()} (wall / CPU), tracemalloc peak "
                  f"{_memory['read']:.0f} MB")
    titles = {"report": "2. Cross-region report (HTML with 3 charts, Markdown, JSON)",
              "qdpx": "3. REFI-QDA export (.qdpx)"}
    for kind, title in titles.items():
        table.section(f"{title}; times are wall / CPU")
        for meetings, _regions, _events, _built, t, memory, sizes, pauses in results:
            size = sizes[kind] / 2**20
            goal = f"; {verdict(t[kind], GOALS[kind])}" if meetings == 24 else ""
            extra = f", json.dumps of the report data {t['dump'].ms()}" if kind == "report" else ""
            table.add(f"**{meetings} meetings**", f"**{t[kind].s()}**",
                      f"{t[kind].cpu / t['read'].cpu:.1f}× reading the events (CPU){extra}; "
                      f"{t[kind].cpu / meetings * 1000:.0f} ms CPU per meeting; "
                      f"output {size:.1f} MB{goal}")
            table.add(f"{meetings} meetings: tracemalloc peak", f"{memory[kind]:.1f} MB",
                      f"{memory[kind] / meetings:.2f} MB per meeting")
            pause = pauses[kind]
            table.add(f"{meetings} meetings: the event loop's longest pause",
                      f"{pause * 1000:,.0f} ms",
                      f"{pause / t[kind].wall:.0%} of the wall time: one meeting read in the "
                      "loop, or a garbage collection; the rest runs in the rendering thread")
        first, last = results[0], results[-1]
        per_meeting = [(r[4][kind].cpu - r[4]["read"].cpu) / r[0] for r in (first, last)]
        growth = (last[4][kind].cpu / last[0]) / (first[4][kind].cpu / first[0])
        table.add(f"CPU per meeting, {first[0]} → {last[0]} meetings", f"{growth:.2f}×",
                  "≈1× or less: no step grows faster than the record (a fixed cost such as "
                  "the charts spreads out); beyond reading the events: "
                  f"{per_meeting[0] * 1000:.0f} → {per_meeting[1] * 1000:.0f} ms per meeting")
        mem_growth = (last[5][kind] / last[0]) / (first[5][kind] / first[0])
        table.add(f"Memory per meeting, {first[0]} → {last[0]} meetings", f"{mem_growth:.2f}×",
                  "one minutes document at a time: what stays is the output's own size")


async def print_profile(step: Callable[[], Awaitable[Any]]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    await step()
    profiler.disable()
    out = io.StringIO()
    order = os.environ.get("PROFILE_SORT", "cumulative")  # or tottime
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(40)
    print(out.getvalue())


async def run(args: argparse.Namespace) -> list[str]:
    table = Table()
    with tempfile.TemporaryDirectory(prefix="meetbot-report-bench-") as tmp:
        workdir = Path(tmp)
        if "minutes" in args.only:
            await bench_minutes(workdir / "minutes", args.minutes_messages, args.rounds, table,
                                args.profile == "minutes")
        if "scale" in args.only:
            scales = [(6, 1), (6, 4)] if args.quick else [(6, 1), (6, 4), (24, 4)]
            await bench_scale(workdir, scales, args.messages, args.rounds, table, args.profile)
    return table.markdown()


def merged(
    previous: str, lines: list[str], parts: list[str], command: str, run_line: str
) -> tuple[list[str], list[str]]:
    """The table with the rows of ``parts`` from this run and the others' from ``previous``
    (part 1 is the minutes; the records, report and export rows are the scale part), and
    the run lines: the previous full run's, and this partial run's."""
    def by_part(table: list[str]) -> dict[str, list[str]]:
        rows = [line for line in table if line.startswith("| ") and not line.startswith(
            ("| Measure", "|---"))]
        cut = next((i for i, row in enumerate(rows) if row.startswith("| **Records")),
                   len(rows))
        return {"minutes": rows[:cut], "scale": rows[cut:]}

    old, new = by_part(previous.splitlines()), by_part(lines)
    rows = [row for part in ("minutes", "scale")
            for row in (new[part] if part in parts else old[part])]
    runs = [line for line in previous.splitlines()
            if line.startswith("- Run") and f"`{command}`" not in line]
    kept = [part for part in ("minutes", "scale") if part not in parts]
    if all(any(f"--only {part}`" in line for line in runs) for part in kept):
        runs = [line for line in runs if not line.startswith("- Run:")]  # no row of it left
    return [*lines[:2], *rows], [*runs, f"- Run of {run_line}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 and 24 meetings only, 3 rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=500, help="messages per meeting")
    parser.add_argument("--minutes-messages", type=int, default=2000)
    parser.add_argument("--only", action="append", choices=("minutes", "scale"))
    parser.add_argument("--profile", choices=("minutes", "report", "qdpx"),
                        help="also cProfile one output (printed, not written)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    args.only = args.only or ["minutes", "scale"]
    if args.quick:
        args.rounds = min(args.rounds, 3)
    started = time.perf_counter()
    freeze_long_lived()  # as the bot does once started (its modules are there for good)
    lines = asyncio.run(run(args))
    elapsed = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    command = "python benchmarks/report_bench.py" + (" --quick" if args.quick else "")
    partial = set(args.only) != {"minutes", "scale"}
    if partial:
        command += "".join(f" --only {part}" for part in args.only)
    run_line = (f"`{command}` in {elapsed:.0f} s on {os.cpu_count()} cores (1-min load average "
                f"at the end: {os.getloadavg()[0]:.1f}); peak RSS of the whole run "
                f"{peak_rss:.0f} MB.")
    runs = [f"- Run: {run_line}"]
    if partial and RESULTS.exists():  # the parts not run keep their rows and their run line
        lines, runs = merged(RESULTS.read_text(encoding="utf-8"), lines, args.only, command,
                             run_line)
    text = "\n".join([
        "# Research outputs benchmark", "", *lines, "", *runs,
        "- Records built through the real app: `open_app`, `MeetBotApp.ingest` of every event "
        "(SQLite file, WAL), translations stored as the live worker stores them; 8 people per "
        "region, three prompts, every 25th message tagged, replies, edits, 👍 reactions.",
        "- Medians of rounds in which subject and baselines take turns. Wall time is what a "
        "person waits; CPU time (`time.process_time`, the bot's threads included) is the "
        "work itself, steadier when other jobs share the cores. Ratios are taken on CPU time. "
        "tracemalloc peaks come from a separate untimed run (tracing slows Python down).",
        "- The event loop's longest pause: a task waking every millisecond during a separate "
        "run notes the longest gap between its turns. Minutes, the report and the export "
        "render in the rendering thread; what remains is reading one meeting in the loop and "
        "the garbage collector's passes (the bot freezes its long-lived objects once "
        "started and once matplotlib and scikit-learn are loaded: `waiting.freeze_long_lived`).",
        "",
    ])
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
