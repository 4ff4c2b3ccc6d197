"""JSON text, by orjson where it writes and reads the same as the json module (several
times sooner: the json module's C encoder does not indent), by the json module for the rest.

What orjson refuses to write (a lone surrogate from a broken client, an int beyond 64 bits,
a key that is not a string) the json module writes; the two give the same bytes otherwise
(only a float below 1e-4 is written ``1e-7`` rather than ``1e-07``).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def compact_json(data: Any) -> str:
    """``data`` as compact JSON, UTF-8 as typed, as event payloads are written (an outbox
    row's content, a task's payload): orjson, or the json module for what orjson refuses."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits, a lone surrogate
        return json.dumps(data, ensure_ascii=False)


def indented_json(data: Any) -> str:
    """``data`` as indented JSON text, ending with a line break (the minutes and report
    files people and programs read); a lone surrogate kept as a ``\\u`` escape."""
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


def read_json(payload: str) -> Any:
    """A stored payload back. One orjson wrote (compact: no ``": "`` outside a string) holds
    nothing orjson reads otherwise than the json module, as orjson refuses to write it (a
    lone surrogate, an int beyond 64 bits): orjson reads it back, sooner (a replay reads
    thousands). Any other, the json module reads: payloads of older versions, what orjson
    refused, a text with ``": "`` in it."""
    if '": ' not in payload:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            pass
    return json.loads(payload)
