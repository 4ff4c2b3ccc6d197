"""A pool of LibreTranslate servers: who gets a request, failover, back-off, and the config.

The policy runs on a fake clock; the client talks HTTP to small stand-in servers on
127.0.0.1 that answer, fail with 5xx or are closed (the real servers: tests/translation/).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from meetbot.config.schema import ConfigError, load_config
from meetbot.translation.base import BackendUnavailable, TranslationError
from meetbot.translation.libretranslate import SPLIT_MIN, LibreTranslateTranslator
from meetbot.translation.pool import ServerPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_requests_go_round_robin_among_idle_servers() -> None:
    pool = ServerPool(["a", "b", "c"])
    picked = []
    for _ in range(6):
        server = pool.pick()
        assert server is not None
        picked.append(server.url)
        pool.release(server)
    assert picked == ["a", "b", "c", "a", "b", "c"]


def test_the_least_busy_server_gets_the_next_request() -> None:
    pool = ServerPool(["a", "b"])
    first, second = pool.pick(), pool.pick()
    assert first is not None and second is not None
    assert (first.url, second.url) == ("a", "b")
    pool.release(first)  # a is free again, b still busy
    third = pool.pick()
    assert third is not None and third.url == "a"
    fourth = pool.pick()  # both busy with one each: whose turn it is
    assert fourth is not None and fourth.url == "b"


def test_a_failing_server_is_left_alone_for_a_doubling_back_off() -> None:
    clock = Clock()
    pool = ServerPool(["a", "b"], backoff=2, max_backoff=5, clock=clock)
    a = pool.servers[0]
    assert pool.failed(a, "connection refused") == 2
    assert pool.available() == 1
    for _ in range(3):
        server = pool.pick()
        assert server is not None and server.url == "b"
        pool.release(server)
    assert [(s.url, round(left)) for s, left in pool.down()] == [("a", 2)]
    clock.now += 2  # back-off over: a takes its turn again
    assert {pool.pick().url, pool.pick().url} == {"a", "b"}  # type: ignore[union-attr]
    assert pool.failed(a, "again") == 4 and pool.failed(a, "again") == 5  # capped
    assert pool.succeeded(a) is True  # it came back
    assert a.failures == 0 and pool.available() == 2 and pool.succeeded(a) is False


def test_when_all_are_down_the_one_due_back_first_is_still_tried() -> None:
    clock = Clock()
    pool = ServerPool(["a", "b"], backoff=10, clock=clock)
    pool.failed(pool.servers[1], "refused")
    clock.now += 1
    pool.failed(pool.servers[0], "refused")
    assert pool.pick() is None
    assert pool.pick_soonest().url == "b"


# -- the client against stand-in servers ------------------------------------------------------


class FakeServer:
    """Answers /languages and /translate like LibreTranslate ("<target>:<text>"), or fails."""

    def __init__(self) -> None:
        self.status = 200
        self.translated: list[list[str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                langs = ["en", "es", "fr"]
                self._answer(200, [{"code": c, "name": c, "targets": langs} for c in langs])

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if fake.status != 200:
                    self._answer(fake.status, {"error": "model crashed"})
                    return
                texts = payload["q"]
                fake.translated.append(texts)
                self._answer(200, {"translatedText": [f"{payload['target']}:{t}" for t in texts]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[list[FakeServer]]:
    started = [FakeServer(), FakeServer()]
    yield started
    for server in started:
        server.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_pool_spreads_batches_and_splits_a_large_one(servers: list[FakeServer]) -> None:
    client = LibreTranslateTranslator([s.url for s in servers], timeout=5)
    assert client.translate_batch(["one"], "en", "es") == ["es:one"]
    assert client.translate_batch(["two"], "en", "es") == ["es:two"]
    assert [len(s.translated) for s in servers] == [1, 1]
    texts = [f"text {i}" for i in range(2 * SPLIT_MIN + 1)]
    assert client.translate_batch(texts, "en", "fr") == [f"fr:{t}" for t in texts]
    assert [len(s.translated) for s in servers] == [2, 2]  # one part each, sent at once
    assert sorted(len(s.translated[-1]) for s in servers) == [SPLIT_MIN, SPLIT_MIN + 1]
    client.close()


def test_a_dead_server_is_passed_over_and_marked_down(servers: list[FakeServer]) -> None:
    dead = closed_port_url()
    client = LibreTranslateTranslator([dead, servers[0].url], timeout=5, backoff=60)
    for i in range(4):
        assert client.translate_batch([f"t{i}"], "en", "es") == [f"es:t{i}"]
    assert len(servers[0].translated) == 4
    assert [s.url for s, _ in client.pool.down()] == [dead]
    assert client.pool.servers[0].last_error == "connection refused"
    assert client.pool.served() == {dead: 0, servers[0].url: 5}  # /languages, then 4 batches


def test_a_server_answering_5xx_fails_over_and_is_marked_down(servers: list[FakeServer]) -> None:
    servers[0].status = 503
    client = LibreTranslateTranslator([s.url for s in servers], timeout=5)
    client.pairs()
    assert client.translate_batch(["x"], "en", "es") == ["es:x"]
    assert client.translate_batch(["y"], "en", "es") == ["es:y"]
    assert len(servers[1].translated) == 2
    assert [s.url for s, _ in client.pool.down()] == [servers[0].url]


def test_5xx_from_every_server_blames_the_request_not_the_servers(
    servers: list[FakeServer],
) -> None:
    for server in servers:
        server.status = 500
    client = LibreTranslateTranslator([s.url for s in servers], timeout=5)
    client.pairs()
    with pytest.raises(TranslationError, match="answered 500: model crashed") as err:
        client.translate_batch(["crashing text"], "en", "es")
    assert not isinstance(err.value, BackendUnavailable)  # the service retries text by text
    assert client.pool.down() == []


def test_all_down_is_one_clear_error(servers: list[FakeServer]) -> None:
    dead = [closed_port_url(), closed_port_url()]
    client = LibreTranslateTranslator(dead, timeout=5)
    with pytest.raises(BackendUnavailable) as err:
        client.pairs()
    message = str(err.value)
    assert message.startswith("all 2 LibreTranslate servers are unreachable")
    assert f"{dead[0]} (connection refused)" in message and dead[1] in message
    single = LibreTranslateTranslator(dead[0], timeout=5)
    with pytest.raises(BackendUnavailable, match=r"at http://127\.0\.0\.1:\d+ is unreachable"):
        single.pairs()


# -- the configuration ------------------------------------------------------------------------

BASE = 'homeserver: http://127.0.0.1:8008\nuser_id: "@bot:example.org"\npassword: p\n'


def write(tmp_path: Path, translation: str) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(BASE + "translation:\n  backend: libretranslate\n" + translation)
    return path


def test_one_url_or_a_list_of_urls(tmp_path: Path) -> None:
    path = write(tmp_path, "  libretranslate_url: http://lt:5000\n")
    assert load_config(path).translation.libretranslate_url == ["http://lt:5000"]
    path = write(tmp_path, "  libretranslate_url: [http://lt1:5000, https://lt2.example]\n")
    assert load_config(path).translation.libretranslate_url == ["http://lt1:5000", "https://lt2.example"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("lt:5000", "translation.libretranslate_url: 'lt:5000' has no scheme"),
        ("[http://a, 'http://']", "translation.libretranslate_url[1]: 'http://' has no host"),
        ("[http://a, ftp://b]", "translation.libretranslate_url[1]: 'ftp://b' has no scheme"),
        ("[]", "translation.libretranslate_url: give at least one URL"),
        ("[http://a, http://a/]", "translation.libretranslate_url: 'http://a' is listed twice"),
        ("http://a:port", "translation.libretranslate_url: 'http://a:port' is not a URL"),
    ],
)
def test_each_url_needs_a_scheme_and_a_host(tmp_path: Path, value: str, says: str) -> None:
    path = write(tmp_path, f"  libretranslate_url: {value}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}: {says}" in str(err.value)


def test_network_failures_read_in_a_few_words() -> None:
    import http.client

    from meetbot.translation.libretranslate import _reason

    assert _reason(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
    assert _reason(TimeoutError("timed out")) == "timed out"
    for cut in (ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe"),
                http.client.RemoteDisconnected("closed"), http.client.IncompleteRead(b"")):
        assert _reason(cut) == "connection cut off"
    assert _reason(OSError("Name or service not known")) == "Name or service not known"
