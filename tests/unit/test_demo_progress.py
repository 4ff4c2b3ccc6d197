"""The demo's progress display: every step counted once, against a total known from the start."""

from __future__ import annotations

import io
import re

import pytest

from meetbot.demo.progress import Progress
from meetbot.demo.runner import TRANSLATIONS, plan
from meetbot.demo.script import ENDING, PLAYED


def counters(out: str) -> list[tuple[int, int]]:
    return [(int(n), int(t)) for n, t in re.findall(r"\[(\d+)/(\d+)\] ✓", out)]


@pytest.mark.parametrize("translating", [True, False])
def test_a_run_counts_one_to_its_total_without_a_jump(translating: bool) -> None:
    steps = plan(translating)
    out = io.StringIO()
    progress = Progress(out, steps)
    for title in steps:
        with progress.step(title) as detail:
            detail.append("done")
    assert counters(out.getvalue()) == [(n, len(steps)) for n in range(1, len(steps) + 1)]
    assert (TRANSLATIONS in steps) is translating


def test_the_plan_holds_the_meetings_steps_once_each_in_order() -> None:
    steps = plan(True)
    assert len(steps) == len(set(steps)) == 14
    titles = [step.title for step in (*PLAYED, *ENDING)]
    assert [s for s in steps if s in titles] == titles
    assert steps.index(TRANSLATIONS) < steps.index(ENDING[0].title)


def test_a_step_out_of_the_plan_is_a_bug_said_at_once() -> None:
    progress = Progress(io.StringIO(), ["first", "second"])
    with pytest.raises(ValueError, match="out of order"), progress.step("second"):
        pass
    with progress.step("first"):
        pass
    with pytest.raises(ValueError, match="out of order"), progress.step("first"):
        pass


def test_a_failed_step_is_marked_and_not_counted() -> None:
    out = io.StringIO()
    progress = Progress(out, ["first", "second"])
    with pytest.raises(RuntimeError), progress.step("first"):
        raise RuntimeError("boom")
    assert "[1/2] ✗ first" in out.getvalue()
    assert progress.done == []
