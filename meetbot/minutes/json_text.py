"""JSON files people and programs read: indented by two spaces, UTF-8 as typed.

orjson writes them several times sooner than the json module, whose C encoder does not
indent; the two give the same bytes for what the minutes and the report hold (only a float
below 1e-4 is written ``1e-7`` rather than ``1e-07``). What orjson refuses, the json module
writes: a key that is not a string, or a lone surrogate from a broken client, which cannot
be UTF-8 and is kept exactly as a ``\\u`` escape.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def indented_json(data: Any) -> str:
    """``data`` as indented JSON text, ending with a line break."""
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        pass
    try:
        text = json.dumps(data, ensure_ascii=False, indent=2)
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, indent=2)
    return text + "\n"
