"""Waiting without blocking: an asyncio.Event or a timeout, whichever comes first; work
that would hold the event loop up, done in a thread while the loop goes on."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# One thread, made on first use: the long renderings (minutes, reports, exports, the site)
# run one after another, never two at once, and the event loop answers people meanwhile.
_RENDERING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meetbot-rendering")


def freeze_long_lived() -> None:
    """Take every object alive now out of the garbage collector's full passes
    (``gc.freeze``): called once the bot has started, and once a heavy library (matplotlib,
    scikit-learn) is loaded, when what is alive is mostly what lives as long as the process.

    A full pass walks every object tracked, and stops every thread while it does: with the
    ~190,000 objects of the bot's libraries one took 100-200 ms on 2 cores, a pause of the
    event loop wherever it began. Freezing costs nothing (no collection is run); objects
    frozen are still freed when their last reference goes, only a cycle among them would
    stay, which is why it is done at those few moments and not after every job.
    """
    gc.freeze()


async def off_the_loop(work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` in the rendering thread, with the caller's context
    variables; the loop runs other tasks until it is done.

    For CPU-bound work of a second or more (a network's report with its charts, an export's
    clustering): in the loop it would hold up every answer. The GIL still shares one core,
    but in slices of milliseconds (``sys.getswitchinterval``) instead of one long stop.
    ``work`` must own what it touches: the loop does not wait for it to give its data back.
    A cancelled caller stops waiting, not the work: it finishes, as a file write should.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
    return await loop.run_in_executor(_RENDERING, call)


async def wait_or_timeout(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set."""
    try:
        await asyncio.wait_for(event.wait(), timeout=timeout)
    except asyncio.TimeoutError:
        return False
    return True


async def wait_any(events: Iterable[asyncio.Event], timeout: float) -> bool:
    """Wait until one of ``events`` is set or ``timeout`` seconds pass; True if one was set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        done, _pending = await asyncio.wait(
            waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()
    return bool(done)
