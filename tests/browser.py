"""A headless Chromium driven through the DevTools protocol, for tests of rendered pages.

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages separated by NUL
bytes on file descriptors 3 and 4), so no port is opened and nothing but the standard library
is needed. A test opens a page at a given window size, asks the page questions in
JavaScript, runs axe-core in it and takes screenshots.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

# Where scripts/bootstrap.sh installs axe-core (npm), unless MEETBOT_AXE names the file.
AXE_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "npm"
AXE_FILE = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def axe_path() -> Path | None:
    path = Path(os.environ.get("MEETBOT_AXE") or AXE_FILE)
    return path if path.is_file() else None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium process; :meth:`page` opens a tab at a window size."""

    def __init__(self, executable: str, profile: Path, timeout: float = 60) -> None:
        self.timeout = timeout
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Out of the way of 3 and 4, which the child gets by dup2.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 20) for fd in (to_child_r, from_child_w)]
        os.close(to_child_r)
        os.close(from_child_w)

        def give_pipes() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=give_pipes,
        )
        for fd in high:
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def close(self) -> None:
        with suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_child, self._from_child):
            os.close(fd)

    # -- the protocol ------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            if "method" in answer:
                self._events.append(answer)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event["method"] == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            answer = self._read_message(deadline)
            if "method" in answer:
                self._events.append(answer)

    @contextmanager
    def page(self, url: str, width: int, height: int = 900, *, mobile: bool | None = None
             ) -> Iterator[Page]:
        """A tab showing ``url`` in a window ``width`` CSS pixels wide: a phone's (touch,
        the page's viewport tag honoured) below 600 unless ``mobile`` says otherwise."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            self.send("Page.enable", session)
            self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                      deviceScaleFactor=1, mobile=width < 600 if mobile is None else mobile)
            self.send("Page.navigate", session, url=url)
            self.wait_for("Page.loadEventFired", session)
            yield Page(self, session, width, height)
        finally:
            self.send("Target.closeTarget", targetId=target)


class Page:
    def __init__(self, browser: Browser, session: str, width: int, height: int) -> None:
        self.browser = browser
        self.session = session
        self.width = width
        self.height = height

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = self.browser.send("Runtime.evaluate", self.session, expression=expression,
                                   awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def overflow(self) -> dict[str, int]:
        """How wide the document is against the window it is shown in."""
        return dict(self.evaluate(
            "({scrollWidth: document.scrollingElement.scrollWidth, innerWidth: innerWidth,"
            " clientWidth: document.documentElement.clientWidth,"
            " scrollHeight: document.scrollingElement.scrollHeight})"))

    def axe(self, axe_source: str) -> list[dict[str, Any]]:
        """axe-core's violations on this page: rule id, impact, help and the elements."""
        self.evaluate(axe_source)
        found = self.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v =>"
            " ({id: v.id, impact: v.impact, help: v.help,"
            "   nodes: v.nodes.slice(0, 5).map(n => n.html.slice(0, 200))})))")
        return list(found)

    def screenshot(self, path: Path, *, full_height: int | None = None) -> Path:
        """A PNG of the window (or of the page's top ``full_height`` CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if full_height:
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": full_height,
                              "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.browser.send("Page.captureScreenshot", self.session, **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextmanager
def browser(executable: str, profile: Path) -> Iterator[Browser]:
    running = Browser(executable, profile)
    try:
        yield running
    finally:
        running.close()
