"""LibreTranslate client against a real server (own venv, tiny models, 127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from meetbot.translation.base import BackendUnavailable, MissingPair, TranslationError
from meetbot.translation.factory import make_translator
from meetbot.translation.libretranslate import LibreTranslateTranslator
from meetbot.translation.service import TranslationService

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(libretranslate_url: str) -> LibreTranslateTranslator:
    translator = make_translator(
        "libretranslate",
        models_dir=Path("unused"),
        libretranslate_url=libretranslate_url,
        api_key=None,
    )
    assert isinstance(translator, LibreTranslateTranslator)
    return translator


def test_languages_and_pairs(client: LibreTranslateTranslator) -> None:
    codes = {lang["code"] for lang in client.languages()}
    assert {"en", "es", "fr"} <= codes
    assert {("en", "es"), ("es", "en"), ("en", "fr"), ("fr", "en")} <= client.pairs()


def test_translate_and_batch(client: LibreTranslateTranslator) -> None:
    single = client.translate_batch(["The meeting starts now."], "en", "es")
    assert len(single) == 1 and single[0].strip()
    texts = ["The meeting starts now.", "we vote", "thank you"]
    batch = client.translate_batch(texts, "en", "es")
    assert len(batch) == 3 and all(out.strip() for out in batch)
    assert batch[0] == single[0]  # same text, same (deterministic) answer inside a batch
    assert client.translate_batch(texts, "fr", "es")  # pivot done by the server or by us


def test_ids_links_and_code_come_back_exactly(client: LibreTranslateTranslator) -> None:
    text = "Ask @sam:localhost about https://example.org/a_b?x=1 and run `meetbot demo`."
    (out,) = client.translate_batch([text], "en", "es")
    for span in ("@sam:localhost", "https://example.org/a_b?x=1", "`meetbot demo`"):
        assert out.count(span) == 1, out


def test_detect(client: LibreTranslateTranslator) -> None:
    guesses = client.detect("Je pense que nous devrions voter maintenant.")
    assert guesses and guesses[0][0] in {"en", "es", "fr"}


def test_errors_are_clear(client: LibreTranslateTranslator, libretranslate_url: str) -> None:
    with pytest.raises(MissingPair, match="libretranslate"):
        client.translate_batch(["Hallo"], "de", "en")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = LibreTranslateTranslator(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        dead.pairs()
    with pytest.raises(TranslationError, match="answered 4"):
        client._request("/translate", {"q": "x", "source": "xx", "target": "es"})


async def test_service_batches_over_http(client: LibreTranslateTranslator) -> None:
    service = TranslationService(client, batch_window=0.02)
    texts = [f"message number {i}" for i in range(6)]
    results = await asyncio.gather(*(service.translate(t, "en", ["es", "fr"]) for t in texts))
    assert all(set(r) == {"es", "fr"} and all(r.values()) for r in results)
    assert service.stats.backend_calls == 2
    await service.close()
