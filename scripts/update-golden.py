#!/usr/bin/env python3
"""Write the golden outputs of the demo's meeting again, and the README's pictures.

    python scripts/update-golden.py

plays the demo's meeting through the bot without a homeserver (meetbot.demo.rehearsal:
fixed clock and ids, the real Apertium), writes what people read to tests/golden/demo/ —
the notices each participant sees, the coordinator's summary and the minutes in English,
French and Spanish — and screenshots of the HTML minutes in each language to docs/images/
(Chromium, 1000 px wide). Then read `git diff tests/golden` as a reader would: every
change there is a change people will see. tests/golden/test_demo_golden.py compares the
bot's output with these files.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the Chromium helper the tests use

from page_check import chromium_path, look_at, screenshot  # noqa: E402

from meetbot.demo.rehearsal import LANGUAGES, rehearse  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "demo"
PICTURES = ROOT / "docs" / "images"
WIDTH = 1000


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="meetbot-golden-") as tmp:
        result = await rehearse(Path(tmp) / "demo")
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.iterdir():
            if old.is_file() and old.name not in result.files:
                old.unlink()
        for name, text in sorted(result.files.items()):
            (GOLDEN / name).write_text(text, encoding="utf-8")
        print(f"wrote {len(result.files)} files in {GOLDEN.relative_to(ROOT)}")
        chromium = chromium_path()
        if chromium is None:
            print("chromium is not installed: the pictures in docs/images were not made")
            return 1
        for lang in LANGUAGES:
            page = Path(tmp) / f"minutes-{lang}.html"
            page.write_text(result.files[f"minutes-{lang}.html"], encoding="utf-8")
            (layout,) = await look_at(chromium, page, (WIDTH,))
            if layout.overflow or layout.missing:
                print(f"minutes-{lang}.html: {layout.overflow} {layout.missing}")
            picture = PICTURES / f"minutes-{lang}.png"
            picture.write_bytes(await screenshot(chromium, page, WIDTH))
            print(f"wrote {picture.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    status = asyncio.run(main())
    subprocess.run(["git", "-C", str(ROOT), "status", "--short", "--", str(GOLDEN), str(PICTURES)],
                   check=False)
    sys.exit(status)
