"""A pool of two real LibreTranslate servers on 127.0.0.1: spread, failover, outage, recovery.

Each server runs in its own home with the tiny models and counts the requests it answered
(its Prometheus ``/metrics``), so "both served" is the servers' word, not the client's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import LibreTranslateServer

from meetbot.translation.base import BackendUnavailable
from meetbot.translation.factory import make_translator
from meetbot.translation.libretranslate import SPLIT_MIN, LibreTranslateTranslator
from meetbot.translation.service import TranslationService

pytestmark = pytest.mark.slow

TEXTS = [f"We could share our notes every week, number {i}." for i in range(40)]


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, tiny_packages: list[Path]
) -> Iterator[list[LibreTranslateServer]]:
    pair = [
        LibreTranslateServer(tmp_path_factory.mktemp(f"libretranslate-{name}"), tiny_packages)
        for name in ("a", "b")
    ]
    starting = [threading.Thread(target=server.start) for server in pair]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    try:
        yield pair
    finally:
        for server in pair:
            server.stop()


def pool_of(servers: list[LibreTranslateServer]) -> LibreTranslateTranslator:
    """The configured back-end for a list of URLs, with a back-off of 1 s (5 s doubling by
    default)."""
    translator = make_translator(
        "libretranslate", models_dir=Path("unused"), api_key=None,
        libretranslate_url=[s.url for s in servers],
    )
    assert isinstance(translator, LibreTranslateTranslator)
    translator.pool.backoff = translator.pool.max_backoff = 1.0
    return translator


async def test_a_batch_is_spread_over_both_servers(servers: list[LibreTranslateServer]) -> None:
    client = pool_of(servers)
    service = TranslationService(client, batch_window=0.02, workers=4)
    results = await asyncio.gather(*(service.translate(t, "en", ["es", "fr"]) for t in TEXTS))
    assert all(set(r) == {"es", "fr"} and all(v.strip() for v in r.values()) for r in results)
    served = [s.translations_served() for s in servers]
    assert all(n > 0 for n in served)
    assert sum(served) + 1 == sum(client.pool.served().values())  # + GET /languages
    # One large batch is cut in two parts, one per server, sent at once.
    before = [s.translations_served() for s in servers]
    texts = [f"Another message, number {i}." for i in range(2 * SPLIT_MIN)]
    assert all(out.strip() for out in client.translate_batch(texts, "en", "es"))
    assert [s.translations_served() - b for s, b in zip(servers, before, strict=True)] == [1, 1]
    await service.close()


def test_one_server_stops_mid_way_then_both_then_they_come_back(
    servers: list[LibreTranslateServer],
) -> None:
    a, b = servers
    client = pool_of(servers)
    client.pairs()

    # Four callers at once; b is stopped once it has answered a few of their batches.
    def one(i: int) -> list[str]:
        if i == 12:
            b.stop()
        return client.translate_batch([TEXTS[i % 40], TEXTS[(i + 1) % 40]], "en", "es")

    with ThreadPoolExecutor(4) as callers:
        outputs = list(callers.map(one, range(48)))
    # And some more once b is surely gone (stopping takes a moment; the others went on).
    outputs += [client.translate_batch([text], "en", "es") for text in TEXTS[:8]]
    assert all(len(o) in (1, 2) and all(t.strip() for t in o) for o in outputs)
    assert client.pool.served()[b.url] > 0  # b took part before it stopped
    assert client.pool.servers[1].failures > 0  # and was found down
    assert client.pool.served()[a.url] > client.pool.served()[b.url]

    # Both down: one clear error, naming both servers, through the service as well.
    a.stop()
    with pytest.raises(BackendUnavailable) as err:
        client.translate_batch(["Are you there?"], "en", "es")
    message = str(err.value)
    assert "all 2 LibreTranslate servers are unreachable" in message, message
    assert f"{a.url} (connection refused)" in message, message
    assert f"{b.url} (connection refused)" in message or f"{b.url} (connection cut off)" in \
        message, message  # b was stopped with requests in flight

    async def through_service() -> None:
        service = TranslationService(client)
        with pytest.raises(BackendUnavailable, match="all 2 LibreTranslate servers"):
            await service.translate("Are you there?", "en", ["es"])
        await service.close()

    asyncio.run(through_service())

    # One comes back: the next request finds it, without waiting for its back-off.
    a.start()
    assert client.translate_batch(["We are back."], "en", "es")[0].strip()
    assert client.pool.servers[0].failures == 0
    # The other comes back too: once its back-off is over it takes its share again.
    b.start()
    time.sleep(1.1)
    for text in TEXTS[:6]:
        assert client.translate_batch([text], "en", "fr")[0].strip()
    assert b.translations_served() > 0 and client.pool.servers[1].failures == 0
