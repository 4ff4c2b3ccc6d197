"""Long renderings (minutes, a network's report, an export, the site) run in the rendering
thread, so the bot goes on answering people while the coordinator's report is drawn."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading

from meetbot.research import charts
from meetbot.waiting import off_the_loop

READER_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("reader_language")


async def test_the_loop_goes_on_while_the_work_runs() -> None:
    started, release = threading.Event(), threading.Event()

    def long_rendering() -> str:
        started.set()
        # Only a running loop can release it: done in the loop, this would wait forever.
        assert release.wait(10)
        return threading.current_thread().name

    job = asyncio.create_task(off_the_loop(long_rendering))
    assert await asyncio.to_thread(started.wait, 10)
    release.set()
    assert (await job).startswith("meetbot-rendering")


async def test_the_work_sees_the_callers_context() -> None:
    READER_LANGUAGE.set("es")
    assert await off_the_loop(READER_LANGUAGE.get) == "es"


async def test_renderings_run_one_after_another() -> None:
    running, most = 0, 0
    lock = threading.Lock()

    def rendering(seconds: float) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(seconds)
        with lock:
            running -= 1

    await asyncio.gather(*(off_the_loop(rendering, 0.02) for _ in range(5)))
    assert most == 1


async def test_an_error_in_the_work_reaches_the_caller() -> None:
    def broken() -> None:
        raise OSError("disk full")

    try:
        await off_the_loop(broken)
    except OSError as err:
        assert str(err) == "disk full"
    else:
        raise AssertionError("the error was lost")


async def test_a_chart_drawn_in_the_rendering_thread_is_the_one_drawn_in_the_main_thread() -> None:
    regions = [{"id": "north", "name": "North"}, {"id": "south", "name": "South"}]
    participation = [{"region": r["id"], "number": n, "people": 3 + n, "messages": 20 * n,
                      "languages": {"en": 10, "fr": 5 * n}} for r in regions for n in (1, 2)]

    def draw() -> tuple[charts.Chart, charts.Chart]:
        return (charts.per_meeting_panels(participation, regions, "people", "Meeting",
                                          "People", "no meeting"),
                charts.language_bars(participation, regions, {"en": "English", "fr": "French"},
                                     "Messages"))

    assert await off_the_loop(draw) == draw()


def test_the_heavy_libraries_are_left_out_of_the_collectors_full_passes() -> None:
    """matplotlib and scikit-learn, once loaded, are there for good: a full garbage
    collection (which stops every thread, the event loop's too) need not walk them."""
    script = """
import gc
from meetbot.research import charts, families
before = gc.get_freeze_count()
charts.language_bars([{"region": "r", "languages": {"en": 2}}], [{"id": "r", "name": "R"}],
                     {"en": "English"}, "Messages")
after_chart = gc.get_freeze_count()
families.vectors(["we could share notes", "let us share our notes weekly"])
print(before, after_chart, gc.get_freeze_count())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    before, after_chart, after_clustering = map(int, out)
    assert before == 0
    assert after_chart > 30_000  # matplotlib's objects
    assert after_clustering > after_chart + 30_000  # scikit-learn's and SciPy's
