"""Core events to and from JSON, for the event store."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from meetbot.core.events import EVENT_TYPES, Event


def encode_event(event: Event) -> tuple[str, str]:
    data: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return type(event).__name__, json.dumps(data, ensure_ascii=False)


def decode_event(type_name: str, payload: str) -> Event:
    cls = EVENT_TYPES[type_name]
    data = json.loads(payload)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "at":
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)  # type: ignore[return-value]
