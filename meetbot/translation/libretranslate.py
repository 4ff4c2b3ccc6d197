"""LibreTranslate back-end: the HTTP API of a LibreTranslate server many communities run.

Blocking stdlib HTTP on purpose: the service already runs back-ends in a worker thread, and
this keeps the back-end free of event-loop ties. A batch is one POST with ``q`` as a list.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

from meetbot.translation.base import BackendUnavailable, Pair, TranslationError, Translator


class LibreTranslateTranslator(Translator):
    """Client of ``GET /languages``, ``POST /translate`` and ``POST /detect``.

    Args:
        url: base URL of the server, e.g. ``http://127.0.0.1:5000``.
        api_key: sent with every request when the server requires keys.
        timeout: seconds per HTTP request (a batch included).
    """

    name = "libretranslate"
    pivots = ("en",)

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._pairs: set[Pair] | None = None
        self._lock = threading.Lock()

    def _request(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None
        headers = {"Accept": "application/json"}
        if payload is not None:
            if self.api_key:
                payload = {**payload, "api_key": self.api_key}
            data = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise TranslationError(
                f"LibreTranslate {path} answered {exc.code}: {self._error_text(exc)}"
            ) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendUnavailable(
                f"LibreTranslate at {self.url} is unreachable ({reason})"
            ) from exc
        except json.JSONDecodeError as exc:
            raise TranslationError(f"LibreTranslate {path} sent something else than JSON") from exc

    @staticmethod
    def _error_text(exc: urllib.error.HTTPError) -> str:
        try:
            body = json.loads(exc.read().decode("utf-8"))
            return str(body.get("error", body))
        except (ValueError, AttributeError):
            return str(exc.reason)

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
