"""Asyncio front of a blocking :class:`Translator`: batching, caching, failure isolation.

Concurrent requests for the same (source, target) are collected for a few milliseconds (or
until ``max_batch_size``) and sent as ONE ``translate_batch`` call in a worker thread: on a
CPU, a batch of 32 costs about as much as 3-4 single messages. While a batch runs, new requests
for that pair queue up and form the next batch, so batches grow with the load by themselves.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from meetbot.translation.base import (
    BackendUnavailable,
    MissingPair,
    Pair,
    TranslationError,
    Translator,
)
from meetbot.translation.glossary import Glossary

CacheKey = tuple[str, str, str, str]  # (backend, source, target, text)


@dataclass
class _PairQueue:
    pending: OrderedDict[str, asyncio.Future[str]] = field(default_factory=OrderedDict)
    full: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


@dataclass
class ServiceStats:
    """Counters for tests, logs and the benchmark."""

    requests: int = 0  # (text, target) translations asked for
    cache_hits: int = 0
    backend_calls: int = 0  # translate_batch calls, retries included
    batched_texts: int = 0


class TranslationService:
    """Translate messages for a room's languages without blocking the event loop.

    Args:
        translator: the blocking back-end.
        max_batch_size: most texts in one back-end call.
        batch_window: seconds to wait for more requests before sending a batch.
        cache_size: translations kept (LRU), keyed by (backend, source, target, text).
        workers: threads running back-end calls; 1 suits CPU models (CTranslate2 already uses
            every core), more suit an HTTP back-end.
    """

    def __init__(
        self,
        translator: Translator,
        *,
        max_batch_size: int = 32,
        batch_window: float = 0.005,
        cache_size: int = 4096,
        workers: int = 1,
    ) -> None:
        self.translator = translator
        self.max_batch_size = max_batch_size
        self.batch_window = batch_window
        self.cache_size = cache_size
        self.stats = ServiceStats()
        self._cache: OrderedDict[CacheKey, str] = OrderedDict()
        self._queues: dict[Pair, _PairQueue] = {}
        self._routes: dict[Pair, MissingPair | None] = {}
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="meetbot-translate"
        )
        self.glossary = Glossary()

    def set_glossary(self, glossary: Glossary) -> None:
        """Translate with these terms from now on; translations cached under the old ones
        are forgotten (a term added in a room applies to the very next message)."""
        if glossary != self.glossary:
            self.glossary = glossary
            self._cache.clear()

    async def translate(self, text: str, source: str, targets: Sequence[str]) -> dict[str, str]:
        """Translate ``text`` into each target (the source itself is skipped).

        Returns a dict in the order of ``targets``.

        Raises:
            MissingPair: a target cannot be reached from ``source``.
            TranslationError: the back-end failed for this text (other requests are unaffected;
                the other targets' results are still cached).
        """
        wanted = [t for t in dict.fromkeys(targets) if t != source]
        jobs = [self._one(text, source, target) for target in wanted]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return {target: str(result) for target, result in zip(wanted, results, strict=True)}

    async def _one(self, text: str, source: str, target: str) -> str:
        self.stats.requests += 1
        key = (self.translator.name, source, target, text)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats.cache_hits += 1
            return cached
        if not text.strip():
            return text
        loop = asyncio.get_running_loop()
        await self._check_route(source, target)
        queue = self._queues.setdefault((source, target), _PairQueue())
        future = queue.pending.get(text)
        if future is None:  # identical concurrent texts share one translation
            future = loop.create_future()
            queue.pending[text] = future
        if len(queue.pending) >= self.max_batch_size:
            queue.full.set()
        if queue.task is None:
            queue.task = asyncio.create_task(self._drain((source, target), queue))
        return await asyncio.shield(future)

    async def _check_route(self, source: str, target: str) -> None:
        """Raise MissingPair early, before queueing; the answer is remembered per pair.

        route() may ask a server (LibreTranslate /languages) the first time, so it runs in a
        thread, and not the batch worker: it must not wait behind a running batch.
        """
        pair = (source, target)
        if pair not in self._routes:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, self.translator.route, source, target)
            except MissingPair as exc:
                self._routes[pair] = exc
            else:
                self._routes[pair] = None
        error = self._routes[pair]
        if error is not None:
            raise error

    async def _drain(self, pair: Pair, queue: _PairQueue) -> None:
        try:
            if not queue.full.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(queue.full.wait(), self.batch_window)
            while queue.pending:
                batch: list[tuple[str, asyncio.Future[str]]] = []
                while queue.pending and len(batch) < self.max_batch_size:
                    batch.append(queue.pending.popitem(last=False))
                queue.full.clear()
                await self._run_batch(pair, batch)
        finally:
            queue.task = None

    async def _call(self, texts: list[str], pair: Pair) -> list[str]:
        self.stats.backend_calls += 1
        self.stats.batched_texts += len(texts)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self.translator.translate_batch, texts, *pair, self.glossary
        )

    async def _run_batch(self, pair: Pair, batch: list[tuple[str, asyncio.Future[str]]]) -> None:
        texts = [text for text, _ in batch]
        try:
            outputs = await self._call(texts, pair)
        except (MissingPair, BackendUnavailable) as exc:
            for _, future in batch:
                _settle(future, exc=exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc=_as_translation_error(exc))
                return
            # One bad text must not fail its neighbours: retry them one by one.
            for item in batch:
                await self._run_batch(pair, [item])
            return
        for (text, future), output in zip(batch, outputs, strict=True):
            self._remember((self.translator.name, *pair, text), output)
            _settle(future, result=output)

    def _remember(self, key: CacheKey, value: str) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def close(self) -> None:
        """Finish queued batches, stop the worker thread and close the back-end."""
        tasks = [q.task for q in self._queues.values() if q.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self.translator.close()


def _as_translation_error(exc: BaseException) -> TranslationError:
    if isinstance(exc, TranslationError):
        return exc
    error = TranslationError(f"Translation failed: {exc}")
    error.__cause__ = exc
    return error


def _settle(
    future: asyncio.Future[str], *, result: str = "", exc: BaseException | None = None
) -> None:
    if future.done():  # a caller gave up (cancelled); nobody is waiting
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
