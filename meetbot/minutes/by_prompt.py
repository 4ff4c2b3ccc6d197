"""Reading a minutes document prompt by prompt, as the coordinator's summary and the
research report and exports do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Endorsed messages shown per prompt (in the coordinator's summary and the report).
TOP_ENDORSED = 3


def prompt_of_lines(doc: Mapping[str, Any]) -> dict[int, str | None]:
    """Log line -> the prompt id open when it was said (lines before any prompt: None)."""
    openers = sorted(
        (item["log_line"], item.get("prompt_id"))
        for item in doc.get("items", [])
        if item["kind"] in ("prompt", "topic") and item.get("log_line")
    )
    result: dict[int, str | None] = {}
    current: str | None = None
    index = 0
    for line in doc.get("log", []):
        while index < len(openers) and openers[index][0] <= line["line"]:
            current = openers[index][1]
            index += 1
        result[line["line"]] = current
    return result
