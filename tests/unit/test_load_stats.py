"""The benchmarks' measure of how sure a p95 ratio is: every round counts, nothing is hidden."""

from __future__ import annotations

import pytest

from benchmarks.load_stats import bootstrap_interval, pct, ratio, spread, window_ratios


def test_the_p95_of_30_rounds_is_the_second_slowest() -> None:
    rounds = [float(n) for n in range(1, 31)]
    assert pct(rounds, 0.95) == 29 and pct(rounds, 0.5) == 15
    assert ratio([2.0] * 10, [1.0] * 10) == 2


def test_the_interval_holds_the_ratio_and_is_reproducible() -> None:
    baseline = [1.0 + (n % 7) / 10 for n in range(30)]
    subject = [b * 1.1 for b in baseline]
    low, high = bootstrap_interval(subject, baseline)
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)  # the same ratio each round
    subject[17] = 9.0  # one very slow round widens the interval: it is not dropped
    wide = bootstrap_interval(subject, baseline)
    assert wide[0] <= ratio(subject, baseline) <= wide[1] and wide[1] > 1.5
    assert bootstrap_interval(subject, baseline) == wide
    with pytest.raises(ValueError, match="per round"):
        bootstrap_interval(subject, baseline[:-1])


@pytest.mark.parametrize(
    ("rounds", "sizes"), [(60, [15, 15, 15, 15]), (30, [15, 15]), (35, [15, 20]), (12, [12]),
                          (40, [15, 15, 10])],
)
def test_windows_cover_every_round(rounds: int, sizes: list[int]) -> None:
    baseline = [1.0] * rounds
    subject = [float(n + 1) for n in range(rounds)]  # the last round of a window is its slowest
    ends = [sum(sizes[: k + 1]) for k in range(len(sizes))]
    starts = [0, *ends[:-1]]
    expected = [pct(subject[a:b], 0.95) for a, b in zip(starts, ends, strict=True)]
    assert window_ratios(subject, baseline, 15) == expected


def test_the_note_says_whether_the_run_settles_the_verdict() -> None:
    baseline = [1.0 + (n % 5) / 10 for n in range(30)]
    value, note = spread([b * 0.9 for b in baseline], baseline, 1.2)
    assert value == "0.90–0.90" and "all of it ≤ 1.2" in note and "0.90, 0.90" in note
    value, note = spread([b * 1.5 for b in baseline], baseline, 1.2)
    assert "all of it > 1.2" in note
    two_slow = [b * (1.6 if n in (3, 20) else 1.0) for n, b in enumerate(baseline)]
    value, note = spread(two_slow, baseline, 1.2)
    assert value == "1.00–1.49" and "straddles 1.2" in note
