"""TranslationService: batching, cache, order and failure isolation (fake and real back-ends)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from meetbot.translation.argos import ArgosTranslator
from meetbot.translation.base import (
    BackendUnavailable,
    MissingPair,
    Pair,
    TranslationError,
    Translator,
)
from meetbot.translation.service import TranslationService


class FakeTranslator(Translator):
    """Upper-cases with a target prefix; records every call; fails on 'poison'."""

    name = "fake"

    def __init__(self, delay: float = 0.0, down: bool = False) -> None:
        self.delay = delay
        self.down = down
        self.calls: list[tuple[list[str], str, str]] = []
        self.threads: set[str] = set()

    def pairs(self) -> set[Pair]:
        return {("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        self.calls.append((list(texts), source, target))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)  # blocking on purpose: must not stall the event loop
        if self.down:
            raise BackendUnavailable("fake server down")
        if any("poison" in t for t in texts):
            raise RuntimeError("cannot translate poison")
        return [f"{target}:{t.upper()}" for t in texts]


async def test_concurrent_requests_are_batched() -> None:
    fake = FakeTranslator()
    service = TranslationService(fake, batch_window=0.02)
    texts = [f"message {i}" for i in range(20)]
    results = await asyncio.gather(*(service.translate(t, "en", ["es"]) for t in texts))
    assert [r["es"] for r in results] == [f"es:{t.upper()}" for t in texts]
    assert service.stats.backend_calls < len(texts)
    assert len(fake.calls) == 1 and fake.calls[0][0] == texts  # one call, arrival order
    assert all(name.startswith("meetbot-translate") for name in fake.threads)
    await service.close()


async def test_batches_respect_max_size_and_grow_under_load() -> None:
    fake = FakeTranslator(delay=0.05)
    service = TranslationService(fake, max_batch_size=8, batch_window=0.001)
    first = asyncio.ensure_future(service.translate("first", "en", ["es"]))
    await asyncio.sleep(0.01)  # the first batch is running now; the rest queue behind it
    rest = await asyncio.gather(*(service.translate(f"m{i}", "en", ["es"]) for i in range(20)))
    assert (await first)["es"] == "es:FIRST"
    assert [r["es"] for r in rest] == [f"es:M{i}" for i in range(20)]
    sizes = [len(texts) for texts, _, _ in fake.calls]
    assert max(sizes) <= 8 and sum(sizes) == 21 and len(sizes) <= 5
    await service.close()


async def test_targets_order_and_source_skipped() -> None:
    service = TranslationService(FakeTranslator())
    result = await service.translate("hi", "en", ["fr", "en", "es", "fr"])
    assert list(result) == ["fr", "es"]
    assert result == {"fr": "fr:HI", "es": "es:HI"}
    assert await service.translate("hi", "en", ["en"]) == {}
    await service.close()


async def test_repeats_come_from_the_cache() -> None:
    fake = FakeTranslator()
    service = TranslationService(fake, cache_size=2)
    await service.translate("agenda", "en", ["es", "fr"])
    calls = len(fake.calls)
    assert await service.translate("agenda", "en", ["es", "fr"]) == {
        "es": "es:AGENDA",
        "fr": "fr:AGENDA",
    }
    assert len(fake.calls) == calls and service.stats.cache_hits == 2
    await service.translate("other", "en", ["es"])  # evicts the oldest entry (size 2)
    await service.translate("agenda", "en", ["es"])
    assert len(fake.calls) == calls + 2
    await service.close()


async def test_identical_concurrent_texts_are_translated_once() -> None:
    fake = FakeTranslator()
    service = TranslationService(fake)
    results = await asyncio.gather(*(service.translate("+1", "en", ["es"]) for _ in range(5)))
    assert all(r == {"es": "es:+1"} for r in results)
    assert fake.calls == [(["+1"], "en", "es")]
    await service.close()


async def test_a_failing_text_fails_only_its_request() -> None:
    fake = FakeTranslator()
    service = TranslationService(fake, batch_window=0.02)
    texts = ["good one", "poison pill", "good two"]
    results = await asyncio.gather(
        *(service.translate(t, "en", ["es"]) for t in texts), return_exceptions=True
    )
    assert results[0] == {"es": "es:GOOD ONE"} and results[2] == {"es": "es:GOOD TWO"}
    assert isinstance(results[1], TranslationError) and "poison" in str(results[1])
    assert len(fake.calls) == 1 + len(texts)  # the batch, then one retry per text
    await service.close()


async def test_unreachable_backend_fails_the_batch_without_retries() -> None:
    fake = FakeTranslator(down=True)
    service = TranslationService(fake, batch_window=0.02)
    results = await asyncio.gather(
        *(service.translate(f"m{i}", "en", ["es"]) for i in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, BackendUnavailable) for r in results)
    assert len(fake.calls) == 1
    await service.close()


async def test_missing_pair_is_raised_before_queueing() -> None:
    fake = FakeTranslator()
    service = TranslationService(fake)
    with pytest.raises(MissingPair, match="'de'"):
        await service.translate("Hallo", "de", ["es"])
    assert fake.calls == []
    # fr→es goes through English: two passes in one worker call.
    assert await service.translate("salut", "fr", ["es"]) == {"es": "es:EN:SALUT"}
    await service.close()


async def test_event_loop_keeps_running_during_a_slow_batch() -> None:
    service = TranslationService(FakeTranslator(delay=0.3))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await service.translate("slow", "en", ["es"])
    task.cancel()
    assert ticks >= 15  # ~30 if the loop never stalled; 0 if the back-end ran on it
    await service.close()


async def test_real_argos_backend_batches_and_matches_direct_calls(models_dir: Path) -> None:
    argos = ArgosTranslator(models_dir, beam_size=2, max_decoding_length=32)
    expected = {
        t: {
            "es": argos.translate_batch([t], "en", "es")[0],
            "fr": argos.translate_batch([t], "en", "fr")[0],
        }
        for t in ("good morning", "the agenda please", "we vote now", "next item")
    }
    service = TranslationService(argos, batch_window=0.02)
    results = await asyncio.gather(*(service.translate(t, "en", ["es", "fr"]) for t in expected))
    assert dict(zip(expected, results, strict=True)) == expected
    assert service.stats.backend_calls == 2  # one per target language
    await service.close()
