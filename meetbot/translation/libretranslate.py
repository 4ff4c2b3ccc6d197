"""LibreTranslate back-end: the HTTP API of one LibreTranslate server, or of a pool of them.

Blocking stdlib HTTP on purpose: the service already runs back-ends in a worker thread, and
this keeps the back-end free of event-loop ties. A batch is one POST with ``q`` as a list.

With several servers (``translation.libretranslate_url`` a list), each request goes to the
least busy server that is up (in turn among equals, see :mod:`meetbot.translation.pool`); a
batch of at least ``2 * SPLIT_MIN`` texts is cut into one part per available server, sent at
once. A server that refuses, times out or answers 5xx (or 429) is marked down for a back-off
period and the request goes to the next one: nothing fails while one server still answers,
and when all are down each request still tries the one due back first, so translation
resumes as soon as one server is back.
When every server answered 5xx to the same request, the request is at fault, not the
servers: none is marked down, and the service retries the batch text by text.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from meetbot.translation.base import BackendUnavailable, Pair, TranslationError, Translator
from meetbot.translation.pool import Server, ServerPool

log = logging.getLogger(__name__)

# A batch is split across servers only into parts of at least this many texts: below it,
# one server translates the whole batch about as fast as two would halves of it.
SPLIT_MIN = 8


class _Unreachable(Exception):
    """A server did not answer (refused, timed out, cut off): try the next one."""


class _ServerError(Exception):
    """A server answered 5xx or 429: try the next one; mark it down if another answers."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LibreTranslateTranslator(Translator):
    """Client of ``GET /languages``, ``POST /translate`` and ``POST /detect``.

    Args:
        url: base URL of the server, e.g. ``http://127.0.0.1:5000``, or a list of the URLs
            of equal servers (same languages loaded, same API key).
        api_key: sent with every request when the server requires keys.
        timeout: seconds per HTTP request (a batch included).
        backoff: seconds a failing server is left alone, doubling with each failure in a
            row up to ``max_backoff``.
    """

    name = "libretranslate"
    pivots = ("en",)

    def __init__(
        self,
        url: str | Sequence[str],
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        backoff: float = 5.0,
        max_backoff: float = 60.0,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        self.urls = [u.rstrip("/") for u in urls]
        self.url = self.urls[0]
        self.api_key = api_key
        self.timeout = timeout
        self.pool = ServerPool(self.urls, backoff=backoff, max_backoff=max_backoff)
        self._pairs: set[Pair] | None = None
        self._lock = threading.Lock()
        self._parts: concurrent.futures.ThreadPoolExecutor | None = None

    # -- one HTTP request, to one server ---------------------------------------------------
    def _send(self, server: Server, path: str, payload: dict[str, Any] | None) -> Any:
        data = None
        headers = {"Accept": "application/json"}
        if payload is not None:
            if self.api_key:
                payload = {**payload, "api_key": self.api_key}
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(server.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            message = f"LibreTranslate {path} answered {exc.code}: {self._error_text(exc)}"
            if exc.code >= 500 or exc.code == 429:
                raise _ServerError(message) from exc
            raise TranslationError(message) from exc
        except urllib.error.URLError as exc:
            raise _Unreachable(_reason(exc.reason)) from exc
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            raise _Unreachable(_reason(exc)) from exc
        try:
            return json.loads(body.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TranslationError(f"LibreTranslate {path} sent something else than JSON") from exc

    @staticmethod
    def _error_text(exc: urllib.error.HTTPError) -> str:
        try:
            body = json.loads(exc.read().decode("utf-8"))
            return str(body.get("error", body))
        except (ValueError, AttributeError):
            return str(exc.reason)

    # -- one request, to the pool ------------------------------------------------------------
    def _request(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Send to the best server; on failure to the next, until one answers.

        Raises:
            BackendUnavailable: no server answered (each is down or failed now).
            TranslationError: a server refused the request itself (4xx), or every server
                answered 5xx to it.
        """
        tried: list[Server] = []
        unreachable: list[Server] = []
        server_errors: list[tuple[Server, _ServerError]] = []
        while True:
            server = self.pool.pick(exclude=tried)
            if server is None:
                if tried:
                    break
                server = self.pool.pick_soonest()  # all down: one real try all the same
            tried.append(server)
            try:
                answer = self._send(server, path, payload)
            except _Unreachable as exc:
                unreachable.append(server)
                self._mark_down(server, str(exc))
                continue
            except _ServerError as exc:
                server_errors.append((server, exc))
                continue
            finally:
                self.pool.release(server)
            if self.pool.succeeded(server):
                log.info("LibreTranslate at %s answers again", server.url)
            for failed, error in server_errors:  # another answered: those are at fault
                self._mark_down(failed, error.message)
            return answer
        if server_errors and not unreachable:
            # Every server tried answered 5xx: the request is at fault, not the servers.
            raise TranslationError(server_errors[-1][1].message)
        for failed, error in server_errors:
            self._mark_down(failed, error.message)
        raise BackendUnavailable(self._all_down())

    def _mark_down(self, server: Server, reason: str) -> None:
        wait = self.pool.failed(server, reason)
        log.log(logging.WARNING if server.failures == 1 else logging.DEBUG,
                "LibreTranslate at %s is down (%s); tried again in %.0f s",
                server.url, reason, wait)

    def _all_down(self) -> str:
        if len(self.pool) == 1:
            server = self.pool.servers[0]
            return f"LibreTranslate at {server.url} is unreachable ({server.last_error})"
        reasons = ", ".join(f"{s.url} ({s.last_error or 'down'})" for s in self.pool.servers)
        return f"all {len(self.pool)} LibreTranslate servers are unreachable: {reasons}"

    # -- the Translator interface ------------------------------------------------------------
    def languages(self) -> list[dict[str, Any]]:
        """The server's ``/languages`` answer: ``[{"code", "name", "targets"}]``."""
        answer = self._request("/languages")
        if not isinstance(answer, list):
            raise TranslationError("LibreTranslate /languages: unexpected answer")
        return answer

    def pairs(self) -> set[Pair]:
        with self._lock:
            if self._pairs is None:
                found = set()
                for lang in self.languages():
                    for target in lang.get("targets", []):
                        if target != lang["code"]:
                            found.add((lang["code"], target))
                self._pairs = found
            return set(self._pairs)

    def install_hint(self, source: str, target: str) -> str:
        return (
            f"Ask the server's admin to load both languages (e.g. libretranslate "
            f"--load-only {source},{target},en)."
        )

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        parts = min(self.pool.available(), len(texts) // SPLIT_MIN)
        if parts < 2:
            return self._translate_part(texts, source, target)
        # One part per available server, sent at once; each part fails over on its own.
        size = -(-len(texts) // parts)
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        with self._lock:
            if self._parts is None:
                self._parts = concurrent.futures.ThreadPoolExecutor(
                    max_workers=len(self.pool), thread_name_prefix="meetbot-libretranslate"
                )
            executor = self._parts
        futures = [executor.submit(self._translate_part, c, source, target) for c in chunks]
        return [text for future in futures for text in future.result()]

    def _translate_part(self, texts: list[str], source: str, target: str) -> list[str]:
        answer = self._request(
            "/translate", {"q": texts, "source": source, "target": target, "format": "text"}
        )
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, list) or len(translated) != len(texts):
            raise TranslationError("LibreTranslate /translate: unexpected answer to a batch")
        return [str(t) for t in translated]

    def detect(self, text: str) -> list[tuple[str, float]]:
        """``POST /detect``: (language, confidence 0-100) pairs, most likely first."""
        answer = self._request("/detect", {"q": text})
        if not isinstance(answer, list):
            raise TranslationError("LibreTranslate /detect: unexpected answer")
        return [(str(a["language"]), float(a["confidence"])) for a in answer]

    def close(self) -> None:
        with self._lock:
            executor, self._parts = self._parts, None
        if executor is not None:
            executor.shutdown(wait=True)


def _reason(exc: object) -> str:
    """A network failure in a few words: "connection refused", "timed out"."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return "connection cut off"  # reset, broken pipe, closed before a whole answer
    return str(exc) or type(exc).__name__
