"""Benchmark: a pool of LibreTranslate servers vs one server vs Apertium, on one machine.

Not part of the test suite. Starts two real LibreTranslate servers on 127.0.0.1 (their own
venv, the tiny offline Argos models of tests/translation/, nothing leaves loopback) and
translates the same messages, in rounds that take turns, with:

- Apertium (Debian's, en→es) as the bot drives it: one caller, batches of --batch;
- one LibreTranslate server as the bot drives it: --callers concurrent batches;
- a pool of the two servers (requests spread, large batches split);
- the pool with one server stopped (every request must still be answered).

Reported: messages/s of each, the ratios one server / Apertium, pool / one server and
pool-with-one-down / one server, single-message latency, and the CPU seconds each server
process spends per message, from which the load that saturates 2 cores follows. Only ratios
between subjects of the same run are judged; the absolute figures describe this machine.

Run: python benchmarks/translation_pool_bench.py   (writes benchmarks/results/pool.md)
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "translation"))
sys.path.insert(1, str(ROOT))

from conftest import LibreTranslateServer  # noqa: E402

from meetbot.translation.apertium import ApertiumTranslator  # noqa: E402
from meetbot.translation.libretranslate import LibreTranslateTranslator  # noqa: E402
from meetbot.translation.tiny import build_tiny_package  # noqa: E402

RESULTS = HERE / "results" / "pool.md"
PAIRS = [("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")]
WORDS = (  # noqa: SIM905 - reads better than a list literal
    "the meeting starts now we vote on the proposal please speak in your language "
    "house server down again thank you agenda minutes next item time everyone"
).split()
TICKS = os.sysconf("SC_CLK_TCK")


def messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(count)]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_batches(
    translate: Callable[[list[str]], list[str]], texts: list[str], batch: int, callers: int
) -> float:
    """Seconds to translate ``texts`` in batches, ``callers`` batches at a time."""
    batches = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(callers) as pool:
        for out, sent in zip(pool.map(translate, batches), batches, strict=True):
            assert len(out) == len(sent) and all(t.strip() for t in out)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=256, help="messages per round")
    parser.add_argument("--batch", type=int, default=32, help="messages per batch (service max)")
    parser.add_argument("--callers", type=int, default=4,
                        help="concurrent batches for LibreTranslate (the bot's workers)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--singles", type=int, default=20, help="single-message samples")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="meetbot-pool-bench-") as tmp:
        packages = [build_tiny_package(s, t, Path(tmp) / "packages") for s, t in PAIRS]
        homes = [Path(tmp) / name for name in ("a", "b")]
        for home in homes:
            home.mkdir()
        servers = [LibreTranslateServer(home, packages) for home in homes]
        try:
            for server in servers:
                server.start()
            report = measure(args, servers)
        finally:
            for server in servers:
                server.stop()
    elapsed = time.perf_counter() - started
    load = os.getloadavg()[0]
    text = "# Translation pool benchmark\n\n" + "\n".join(report) + (
        f"\n\n- Run: `python benchmarks/translation_pool_bench.py` in {elapsed:.0f} s on "
        f"{os.cpu_count()} cores (1-min load average at the end: {load:.1f}); both servers, "
        "Apertium and the client share the machine.\n"
        "- Models: the tiny offline Argos packages of the tests (random weights, a few "
        "hundred KB): the figures are LibreTranslate's own cost per request (HTTP, Flask, "
        "sentence splitting, CTranslate2 call), a ceiling; a real ~100 MB model adds its "
        "decoding (see `results/translation.md`: ~15 messages/s on 2 cores).\n"
        "- Only the ratios compare subjects; the absolute figures describe this machine.\n"
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


def measure(args: argparse.Namespace, servers: list[LibreTranslateServer]) -> list[str]:
    a, b = servers
    apertium = ApertiumTranslator()
    one = LibreTranslateTranslator(a.url)
    pool = LibreTranslateTranslator([a.url, b.url])
    warm = messages(8, seed=0)
    for client in (apertium, one, pool):
        client.translate_batch(warm, "en", "es")

    subjects: dict[str, Callable[[list[str]], float]] = {
        "apertium": lambda texts: run_batches(
            lambda q: apertium.translate_batch(q, "en", "es"), texts, args.batch, 1),
        "one": lambda texts: run_batches(
            lambda q: one.translate_batch(q, "en", "es"), texts, args.batch, args.callers),
        "pool": lambda texts: run_batches(
            lambda q: pool.translate_batch(q, "en", "es"), texts, args.batch, args.callers),
    }
    seconds: dict[str, list[float]] = {name: [] for name in subjects}
    cpu: dict[str, list[float]] = {"apertium": [], "one": [], "pool": []}
    for r in range(args.rounds):
        order = list(subjects) if r % 2 == 0 else list(reversed(subjects))
        for name in order:
            texts = messages(args.messages, seed=100 + r)  # the same work for each subject
            before = (children_cpu(), cpu_seconds(a.process.pid),  # type: ignore[union-attr]
                      cpu_seconds(b.process.pid))  # type: ignore[union-attr]
            seconds[name].append(subjects[name](texts))
            after = (children_cpu(), cpu_seconds(a.process.pid),  # type: ignore[union-attr]
                     cpu_seconds(b.process.pid))  # type: ignore[union-attr]
            spent = {"apertium": after[0] - before[0], "one": after[1] - before[1],
                     "pool": (after[1] - before[1]) + (after[2] - before[2])}[name]
            cpu[name].append(spent / args.messages)
    served = pool.pool.served()

    # Single messages, one at a time, taking turns: the latency a lone message sees.
    singles: dict[str, list[float]] = {"apertium": [], "one": [], "pool": []}
    clients = {"apertium": apertium, "one": one, "pool": pool}
    for text in messages(args.singles, seed=7):
        for name, translator in clients.items():
            t0 = time.perf_counter()
            translator.translate_batch([text], "en", "es")
            singles[name].append(time.perf_counter() - t0)

    # One server stops: the pool keeps answering every request on the other.
    b.stop()
    down: list[float] = []
    alone: list[float] = []
    for r in range(args.rounds):
        texts = messages(args.messages, seed=200 + r)
        pair = [("down", subjects["pool"]), ("alone", subjects["one"])]
        for name, subject in pair if r % 2 == 0 else reversed(pair):
            (down if name == "down" else alone).append(subject(texts))
    b.start()
    pool.close()

    rate = {name: args.messages / statistics.median(s) for name, s in seconds.items()}
    rate_down = args.messages / statistics.median(down)
    rate_alone = args.messages / statistics.median(alone)
    cpu_msg = {name: statistics.median(c) for name, c in cpu.items()}
    p50 = {name: statistics.median(s) * 1000 for name, s in singles.items()}
    cores = os.cpu_count() or 1
    rows = [
        (f"Apertium en→es, batches of {args.batch}, one caller",
         f"{rate['apertium']:,.0f} msg/s",
         f"baseline; {cpu_msg['apertium'] * 1000:.1f} ms CPU per message (its processes)"),
        (f"One LibreTranslate server, batches of {args.batch}, {args.callers} callers",
         f"{rate['one']:,.0f} msg/s",
         f"{cpu_msg['one'] * 1000:.1f} ms server CPU per message → saturates {cores} cores "
         f"at ≈{cores / cpu_msg['one']:,.0f} msg/s"),
        ("Pool of two servers (same machine)", f"{rate['pool']:,.0f} msg/s",
         f"{cpu_msg['pool'] * 1000:.1f} ms server CPU per message; served "
         + ", ".join(f"{n}" for n in served.values()) + " requests"),
        ("**One server / Apertium**", f"**{rate['one'] / rate['apertium']:.2f}**",
         "throughput, same messages"),
        ("**Pool / one server**", f"**{rate['pool'] / rate['one']:.2f}**",
         f"≈1 on one {cores}-core machine: the CPU is shared; servers on their own "
         "machines add theirs"),
        ("Pool with one server stopped / one server alone",
         f"**{rate_down / rate_alone:.2f}**",
         f"{rate_down:,.0f} vs {rate_alone:,.0f} msg/s; every message answered (the stopped "
         "server is passed over during its back-off)"),
        ("Single message p50: Apertium / one server / pool",
         f"{p50['apertium']:.0f} / {p50['one']:.0f} / {p50['pool']:.0f} ms",
         f"{args.singles} messages, one at a time, taking turns"),
    ]
    table = ["| Measure | Value | Note |", "|---|---|---|"]
    table += [f"| {m} | {v} | {n} |" for m, v, n in rows]
    return table


if __name__ == "__main__":
    main()
