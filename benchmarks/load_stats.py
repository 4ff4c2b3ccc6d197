"""How sure a p95 ratio of round trips is, for the benchmarks' judged ratios.

The p95 of 30 round trips is its second slowest: while Synapse is saturated, one slow round
more or less moves a bot / baseline ratio by 0.2. These helpers say how much the verdict can
be trusted without dropping a single round: a bootstrap interval over the rounds (a round's
subject and baseline are resampled together: they were measured side by side) and the ratio
in each window of consecutive rounds, every window shown.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def pct(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0.95: the p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ratio(subject: Sequence[float], baseline: Sequence[float], q: float = 0.95) -> float:
    return pct(subject, q) / pct(baseline, q)


def bootstrap_interval(
    subject: Sequence[float], baseline: Sequence[float], q: float = 0.95, *,
    level: float = 0.9, resamples: int = 2000, seed: int = 0,
) -> tuple[float, float]:
    """The central ``level`` interval of the ratio of ``q`` quantiles over rounds drawn with
    replacement; round ``i`` of both lists is drawn together. Seeded: a run's figures are
    reproducible from its rounds."""
    if len(subject) != len(baseline) or not subject:
        raise ValueError("one subject and one baseline time per round are needed")
    draw = random.Random(seed)
    n = len(subject)
    ratios = []
    for _ in range(resamples):
        rounds = [draw.randrange(n) for _ in range(n)]
        ratios.append(ratio([subject[i] for i in rounds], [baseline[i] for i in rounds], q))
    tail = (1 - level) / 2
    return pct(ratios, tail), pct(ratios, 1 - tail)


def window_ratios(
    subject: Sequence[float], baseline: Sequence[float], window: int, q: float = 0.95
) -> list[float]:
    """The ratio in each run of ``window`` consecutive rounds; a last, shorter run of at
    least half a window counts as one, a shorter one joins the window before it."""
    if len(subject) != len(baseline):
        raise ValueError("one subject and one baseline time per round are needed")
    bounds = list(range(0, len(subject), window))
    if len(bounds) > 1 and len(subject) - bounds[-1] < window / 2:
        bounds.pop()
    ends = [*bounds[1:], len(subject)]
    return [ratio(subject[a:b], baseline[a:b], q) for a, b in zip(bounds, ends, strict=True)]


def spread(
    subject: Sequence[float], baseline: Sequence[float], target: float, window: int = 15
) -> tuple[str, str]:
    """A report's row: the p95 ratio's 90% interval, and a note saying where it lies
    against ``target`` and the ratio in every window of ``window`` rounds."""
    low, high = bootstrap_interval(subject, baseline)
    if high <= target:
        where = f"all of it ≤ {target:g}"
    elif low > target:
        where = f"all of it > {target:g}"
    else:
        where = f"it straddles {target:g}: this run alone does not settle the verdict"
    windows = window_ratios(subject, baseline, window)
    return f"{low:.2f}–{high:.2f}", (
        f"90% bootstrap interval over the {len(subject)} rounds ({where}); the ratio in each "
        f"{window} consecutive rounds: {', '.join(f'{r:.2f}' for r in windows)}"
    )
