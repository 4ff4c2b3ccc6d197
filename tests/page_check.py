"""A page in headless Chromium, driven over the DevTools protocol: how wide it lays out,
which characters it has no glyph for, and a screenshot.

Used by the golden-output tests and ``scripts/update-golden.py`` (which writes the
screenshots in ``docs/images``). Chromium runs with a profile of its own, no network, and is
stopped when the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

LISTENING = re.compile(r"DevTools listening on (ws://\S+)")

# In the page: every element that reaches past the right edge, and every character shown
# (outside controls and spaces) whose drawing is the missing-glyph box. A glyph is compared
# as pixels, drawn in the font of the element that shows it, with the drawing of a code point
# no font has (U+0378 is unassigned): same pixels, no glyph. A character drawn as nothing
# at all is missing too.
CHECK = r"""
(() => {
  const width = document.documentElement.clientWidth;
  const overflow = [];
  const past = (el, right) => {
    const path = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
    overflow.push(`${path} ends at ${Math.round(right)}px: ${el.textContent.trim().slice(0, 60)}`);
  };
  for (const el of document.querySelectorAll('body *')) {  // boxes too wide
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) past(el, box.right);
  }
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let text;
  while ((text = texts.nextNode())) {  // text running out of its box
    const range = document.createRange();
    range.selectNodeContents(text);
    const box = range.getBoundingClientRect();
    if (box.width && box.right > width + 0.5) past(text.parentElement, box.right);
  }
  const canvas = document.createElement('canvas');
  canvas.width = 96; canvas.height = 64;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (ch, font) => {
    ctx.font = font; ctx.clearRect(0, 0, 96, 64); ctx.fillStyle = '#000';
    ctx.fillText(ch, 16, 44);
    const px = ctx.getImageData(0, 0, 96, 64).data;
    let ink = 0; for (let i = 3; i < px.length; i += 4) ink += px[i] > 0;
    return {key: px.join(','), ink};
  };
  const missing = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  const skip = /[\p{Cc}\p{Cf}\p{Z}]/u;  // controls, marks of direction, spaces
  let node;
  while ((node = walker.nextNode())) {
    const style = getComputedStyle(node.parentElement);
    const font = `${style.fontStyle} ${style.fontWeight} 32px ${style.fontFamily}`;
    for (const ch of node.data) {
      if (ch.codePointAt(0) < 0x7f || skip.test(ch) || seen.has(font + ch)) continue;
      seen.add(font + ch);
      const box = draw('\u0378', font);
      const glyph = draw(ch, font);
      if (glyph.ink === 0 || glyph.key === box.key) missing.add(ch);
    }
  }
  return {
    width, scrollWidth: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight, overflow: overflow.slice(0, 10),
    missing: [...missing].map(ch => `${ch} U+${ch.codePointAt(0).toString(16).toUpperCase()}`),
  };
})()
"""


@dataclass
class Layout:
    """What the page looked like at one width."""

    width: int
    scroll_width: int
    height: int
    overflow: list[str] = field(default_factory=list)  # elements past the right edge
    missing: list[str] = field(default_factory=list)  # characters drawn as the missing box


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab, spoken to over its DevTools web socket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self.socket.send_str(json.dumps({"id": call_id, "method": method,
                                               "params": params}))
        while True:
            message = json.loads((await self.socket.receive(timeout=60)).data)
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self._events.append(message)

    async def event(self, method: str) -> dict[str, Any]:
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == method:
                    return dict(self._events.pop(index))
            self._events.append(json.loads((await self.socket.receive(timeout=60)).data))

    async def open(self, url: str, width: int, height: int = 900) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)
        self._events.clear()
        await self.call("Page.navigate", url=url)
        await self.event("Page.loadEventFired")
        await self.evaluate("document.fonts.ready.then(() => true)")

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def layout(self) -> Layout:
        found = await self.evaluate(CHECK)
        return Layout(found["width"], found["scrollWidth"], found["height"],
                      found["overflow"], found["missing"])

    async def screenshot(self, width: int, height: int) -> bytes:
        """The whole page, ``height`` pixels of it, at ``width``."""
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)
        shot = await self.call("Page.captureScreenshot", format="png",
                               clip={"x": 0, "y": 0, "width": width, "height": height,
                                     "scale": 1})
        return base64.b64decode(shot["data"])


@asynccontextmanager
async def browser(chromium: str) -> AsyncIterator[Page]:
    """Headless Chromium with one blank tab; stopped at the end, all its processes.

    Its helpers (renderer, crash handler) can outlive the main process for a moment and
    still write in the profile: the whole process group is stopped, and a scratch profile
    that cannot be removed at once never fails a test."""
    with tempfile.TemporaryDirectory(prefix="meetbot-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        proc = _start(chromium, profile)
        try:
            url = await asyncio.to_thread(_devtools_url, proc)
            port = int(url.split(":")[2].split("/")[0])
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = await response.json()
                page_url = next(t["webSocketDebuggerUrl"] for t in targets
                                if t.get("type") == "page")
                async with session.ws_connect(page_url, max_msg_size=0) as socket:
                    page = Page(socket)
                    await page.call("Page.enable")
                    yield page
        finally:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def _start(chromium: str, profile: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: stopped whole
    )


def _devtools_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        found = LISTENING.search(line)
        if found:
            # Chromium goes on writing to stderr: keep the pipe from filling up.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return found.group(1)
        if len(seen) > 200:
            break
    raise RuntimeError("Chromium did not start:\n" + "".join(seen[-20:]))


async def look_at(chromium: str, page_file: Path, widths: tuple[int, ...]) -> list[Layout]:
    """How ``page_file`` lays out at each width."""
    async with browser(chromium) as page:
        layouts = []
        for width in widths:
            await page.open(page_file.as_uri(), width)
            layouts.append(await page.layout())
        return layouts


async def screenshot(chromium: str, page_file: Path, width: int, most: int = 4000) -> bytes:
    """A PNG of ``page_file`` at ``width``, as tall as the page (at most ``most`` pixels)."""
    async with browser(chromium) as page:
        await page.open(page_file.as_uri(), width)
        layout = await page.layout()
        return await page.screenshot(width, min(layout.height, most))
