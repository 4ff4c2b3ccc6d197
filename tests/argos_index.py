"""A local argospm package index on 127.0.0.1, serving .argosmodel files, with faults on demand.

The index is argospm's ``index.json`` (a list of packages with ``links``), plus the ``size``
and ``sha256`` of each file. Files are served with ``Range`` support, like a real static file
server. Faults for the download tests:

- ``cut[name] = [n, ...]``: each of the next requests for ``name`` announces the whole file
  but sends only the next ``n`` bytes of the list, then closes the connection;
- ``ignore_range``: answer every request with the whole file (200), as some servers do;
- ``index_extra[name]``: fields that override the index entry (a wrong ``sha256``...).

Every request is logged in ``requests`` as ``(path, Range header or "")``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_NAME = re.compile(r"translate-([a-z]+)_([a-z]+)-")
REPO = Path(__file__).resolve().parents[1]
HEAVY = ("argostranslate", "spacy", "stanza", "torch", "minisbd")
_BLOCKER = f"""
import sys
class _Heavy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in the demo extra)")
sys.meta_path.insert(0, _Heavy())
"""


def without_heavy_packages(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import argostranslate, spaCy, Stanza or PyTorch:
    what ``pip install -e '.[demo]'`` has (CTranslate2 and SentencePiece, no more)."""
    site = tmp_path / "demo-extra-only"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_BLOCKER)
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}


class PackageIndex:
    def __init__(self, archives: Iterable[Path]) -> None:
        self.files = {path.name: path.read_bytes() for path in archives}
        self.cut: dict[str, list[int]] = {}
        self.ignore_range = False
        self.index_extra: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as ARGOS_PACKAGE_INDEX takes it (``index.json`` is appended)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def entry(self, name: str) -> dict[str, Any]:
        match = _NAME.match(name)
        assert match, name
        data = self.files[name]
        entry = {
            "package_version": "0.0.1",
            "argos_version": "1.9.0",
            "from_code": match.group(1),
            "to_code": match.group(2),
            "from_name": match.group(1),
            "to_name": match.group(2),
            "links": [f"{self.url}files/{name}", "ipfs://not-fetched"],
            "code": f"translate-{match.group(1)}_{match.group(2)}",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        entry.update(self.index_extra.get(name, {}))
        return entry

    def index(self) -> bytes:
        return json.dumps([self.entry(name) for name in sorted(self.files)]).encode()

    def file_requests(self) -> list[tuple[str, str]]:
        with self._lock:
            return [r for r in self.requests if r[0].startswith("/files/")]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                ranged = self.headers.get("Range", "")
                with index._lock:
                    index.requests.append((self.path, ranged))
                if self.path == "/index.json":
                    self._send(200, index.index(), {"Content-Type": "application/json"})
                    return
                name = self.path.removeprefix("/files/")
                data = index.files.get(name)
                if data is None or not self.path.startswith("/files/"):
                    self._send(404, b"not found", {})
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", ranged)
                if match and not index.ignore_range:
                    start = int(match.group(1))
                    if start >= len(data):
                        self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                        return
                body = data[start:]
                headers = {"Content-Type": "application/zip"}
                status = 200
                if start:
                    status = 206
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                with index._lock:
                    cuts = index.cut.get(name)
                    cut = cuts.pop(0) if cuts else None
                if cut is None:
                    self._send(status, body, headers)
                    return
                # Announce everything, send a part, hang up.
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> PackageIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
