"""Regenerate the README's generated sections: the command table and the benchmark results."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from meetbot.cli.commands_table import command_table  # noqa: E402

README = ROOT / "README.md"


def benchmark_tables() -> str:
    parts = []
    for result in sorted((ROOT / "benchmarks" / "results").glob("*.md")):
        text = result.read_text(encoding="utf-8").strip()
        text = re.sub(r"^# ", "### ", text, flags=re.MULTILINE)
        parts.append(text)
    return "\n\n".join(parts) or "No benchmark has been run yet."


def fill(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
    return pattern.sub(lambda m: m.group(1) + body.strip() + "\n" + m.group(2), text)


def updated(text: str) -> str:
    text = fill(text, "commands", command_table("!"))
    return fill(text, "benchmarks", benchmark_tables())


if __name__ == "__main__":
    README.write_text(updated(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {README}")
