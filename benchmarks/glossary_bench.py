"""Benchmark: what the glossary adds to a translation (meetbot.translation.glossary).

Not part of the test suite. A realistic network glossary of about 200 terms (names kept as
written, and fixed translations in English, Spanish and French), and meeting messages of
10-30 words of which about a third name one or two of its terms. In interleaved rounds, the
same back-end translates the same messages:

- baseline: ``translate_batch(texts, "en", "es")`` without a glossary;
- subject: the same call with the glossary (terms found, shielded as placeholders, put back).

Judged: the glossary's cost per text, subject minus baseline in ms (goal: at most 5 ms), and
the ratio subject / baseline. Also reported: the glossary's own work per text with no
back-end at all (find + shield + restore), and building a language pair's matcher the first
time it is used (once per pair and glossary change).

Run: python benchmarks/glossary_bench.py [--backend apertium] [--backend argos-tiny] [--rounds N]
(writes benchmarks/results/glossary.md)
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meetbot.translation.base import Translator  # noqa: E402
from meetbot.translation.glossary import Glossary  # noqa: E402
from meetbot.translation.shield import shield  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "glossary.md"

PLACES = ("Village", "River", "Hill", "Valley", "Coast", "Forest", "Market", "Harbour",
          "Mountain", "Lake", "Desert", "Island")
KINDS = ("Telco", "Net", "Mesh", "Radio", "Commons", "Collective", "Cooperative", "Lab",
         "Alliance", "Foundation")
EN_TERMS = [
    ("community network", "red comunitaria", "réseau communautaire"),
    ("working group", "grupo de trabajo", "groupe de travail"),
    ("host", "persona anfitriona", "hôte"),
    ("spectrum licence", "licencia de espectro", "licence de spectre"),
    ("last mile", "última milla", "dernier kilomètre"),
    ("backhaul", "red de retorno", "réseau de collecte"),
    ("digital security", "seguridad digital", "sécurité numérique"),
    ("local content", "contenido local", "contenu local"),
    ("rural connectivity", "conectividad rural", "connectivité rurale"),
    ("capacity building", "fortalecimiento de capacidades", "renforcement des capacités"),
]
ADJECTIVES = ("open", "shared", "local", "regional", "solar", "mobile", "public", "free",
              "community", "rural", "digital")
NOUNS = ("tower", "node", "router", "antenna", "school", "clinic", "library", "budget",
         "training", "meeting", "policy", "survey", "license", "workshop")
FILLER = ("we should", "next month", "the people of the valley", "I think", "together with",
          "the council", "after the rains", "for the school", "in our region", "again",
          "please share", "and then", "maybe", "as we said", "the young people")


def network_glossary(seed: int = 7) -> tuple[Glossary, list[str], list[str]]:
    """~200 terms: 60 names kept as written, ~140 fixed translations (en/es/fr)."""
    rng = random.Random(seed)
    names = sorted({f"{rng.choice(PLACES)} {rng.choice(KINDS)}" for _ in range(200)})[:60]
    entries = [{"en": en, "es": es, "fr": fr} for en, es, fr in EN_TERMS]
    phrases = sorted({f"{a} {n}" for a in ADJECTIVES for n in NOUNS})
    rng.shuffle(phrases)
    for phrase in phrases[: 140 - len(entries)]:
        entries.append({"en": phrase, "es": f"{phrase} (es)", "fr": f"{phrase} (fr)"})
    glossary = Glossary.build(keep=names, entries=entries)
    return glossary, names, [e["en"] for e in entries]


def messages(count: int, names: list[str], terms: list[str], seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 7))]
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words) + 1), rng.choice(names))
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words) + 1), "the " + rng.choice(terms))
        out.append(" ".join(words).capitalize() + ".")
    return out


def make_backend(name: str) -> Translator:
    if name == "apertium":
        from meetbot.translation.apertium import ApertiumTranslator

        return ApertiumTranslator()
    from meetbot.translation.argos import ArgosTranslator
    from meetbot.translation.models import install_model_files
    from meetbot.translation.tiny import build_tiny_package

    folder = Path(tempfile.mkdtemp(prefix="glossary-bench-"))
    (folder / "pkg").mkdir()
    packages = [build_tiny_package("en", "es", folder / "pkg")]
    install_model_files(folder / "models", packages)
    return ArgosTranslator(folder / "models", beam_size=2, max_decoding_length=32)


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["apertium", "argos-tiny"], action="append",
                        help="repeatable (default: apertium)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16, help="texts per back-end call")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    glossary, names, terms = network_glossary()
    texts = messages(args.texts, names, terms)
    with_terms = sum(1 for t in texts if glossary.find(t, "en", "es"))

    # Building the en→es matcher the first time (once per pair and glossary change).
    build = []
    for _ in range(5):
        fresh = Glossary(glossary.terms)
        build.append(timed(fresh.matcher, "en", "es"))
    glossary.matcher("en", "es")

    # The glossary's own work, no back-end: find, shield, restore (the back-end echoes).
    def own_work() -> None:
        for text in texts:
            masked = shield(text, glossary.spans(text, "en", "es"))
            masked.restore(masked.masked)

    def shield_only() -> None:
        for text in texts:
            masked = shield(text)
            masked.restore(masked.masked)

    own = [timed(own_work) for _ in range(50)]
    bare = [timed(shield_only) for _ in range(50)]

    per = len(texts)
    chunks = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    rows: list[str] = []
    for backend in args.backend or ["apertium"]:
        translator = make_backend(backend)

        def run(with_glossary: bool, translator: Translator = translator) -> None:
            for chunk in chunks:
                translator.translate_batch(chunk, "en", "es",
                                           glossary if with_glossary else None)

        run(False)  # warm-up: processes, models, caches
        run(True)
        base: list[float] = []
        subject: list[float] = []
        for n in range(args.rounds):  # interleaved, the order alternating
            order = (False, True) if n % 2 == 0 else (True, False)
            for flag in order:
                (subject if flag else base).append(timed(run, flag))
        translator.close()
        base_ms = statistics.median(base) / per * 1000
        subj_ms = statistics.median(subject) / per * 1000
        delta = subj_ms - base_ms
        verdict = "PASS" if delta <= 5 else "FAIL"
        rows += [
            f"| {backend}: without the glossary, median | {base_ms:.2f} ms/text | "
            f"{args.rounds} interleaved rounds |",
            f"| {backend}: with the glossary, median | {subj_ms:.2f} ms/text | |",
            f"| **{backend}: the glossary's cost per translation** | **{delta:+.2f} ms/text** "
            f"| goal ≤ 5 ms: {verdict}; ratio with / without **{subj_ms / base_ms:.3f}** |",
        ]

    own_ms = (statistics.median(own) - statistics.median(bare)) / per * 1000
    load = os.getloadavg()[0]
    flags = " ".join(f"--backend {b}" for b in args.backend or ["apertium"])
    lines = [
        "# Glossary benchmark",
        "",
        "Generated by `benchmarks/glossary_bench.py`.",
        "",
        "| Measure | Value | Note |",
        "|---|---|---|",
        f"| Glossary | {len(names) + len(terms)} terms | {len(names)} names kept as written, "
        f"{len(terms)} fixed translations (en/es/fr); {len(glossary.matcher('en', 'es').terms)} "
        "apply to en→es |",
        f"| Messages | {per}, {args.batch} per back-end call | {with_terms} of them name a "
        "term (a name, a fixed translation or both) |",
        *rows,
        f"| **The glossary's own work, no back-end** | **{own_ms * 1000:.0f} µs/text** | find "
        "+ placeholders + restore, minus the shield's work without a glossary; median of 50 |",
        f"| Building a pair's matcher (first use) | {statistics.median(build) * 1000:.1f} ms | "
        "once per language pair and glossary change (a term added in a room) |",
        "",
        f"- Run: `python benchmarks/glossary_bench.py {flags}` on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, 1-min load average at "
        f"the end {load:.1f} (other work shared the machine).",
        "- Reading it: with the glossary the back-end is given fewer words (a term of several "
        "words is one placeholder) and a text that is a term alone is not sent at all, so the "
        "subject can come out faster than the baseline; under load the back-ends' own noise "
        "is several ms per text. The row to trust for the glossary's cost is its own work with "
        "no back-end. The tiny Argos models have random weights: they lose placeholders, so "
        "texts with terms are translated piece by piece between them (the fallback's cost is "
        "in their row).",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        RESULTS.write_text(table, encoding="utf-8")
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
