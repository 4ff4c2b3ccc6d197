"""Core events to and from JSON, for the event store.

An event is stored as a JSON object of its dataclass fields: times as ISO strings, tuples as
lists, and a field that holds a dataclass of its own (a message's attachment) as a nested
object, decoded back by the field's declared type. Fields a stored payload lacks take their
defaults, so records written before a field existed still load; keys no field has are ignored.
Payloads are compact JSON (``{"a":1}``); those stored before have a space after each colon
and comma (``{"a": 1}``), as do the few orjson cannot write (see :func:`encode_event_at`):
JSON readers (``json.loads``, SQLite's ``json_extract``) read both alike.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from meetbot.core.events import EVENT_TYPES, Event
from meetbot.storage.json_text import read_json


def encode_event(event: Event) -> tuple[str, str]:
    type_name, payload, _at = encode_event_at(event)
    return type_name, payload


def encode_event_at(event: Event) -> tuple[str, str, str]:
    """The event's type, its payload and its time as the payload writes it (an ISO string):
    the event store keeps the time in a column of its own too. This runs for every event
    stored: the time is written once, the fields are read from the instance's ``__dict__``
    when it holds exactly the fields, in their order (always, unless someone set
    attributes of their own; otherwise as :func:`_fields` reads them), and orjson writes
    the JSON, compact (several times sooner than the json module, whose output, with a
    space after each ``:`` and ``,``, older payloads have: both read the same)."""
    kind = type(event)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(event))
    values = getattr(event, "__dict__", None)
    fields = values.copy() if values is not None and tuple(values) == names \
        else _fields(event)
    at = fields["at"]
    if isinstance(at, datetime):
        at = fields["at"] = at.isoformat()
    try:
        payload = orjson.dumps(fields, default=_default, option=_THROUGH_DEFAULT).decode()
    except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits, a lone surrogate
        payload = _ENCODER.encode(fields)
    return kind.__name__, payload, at


def decode_event(type_name: str, payload: str) -> Event:
    return _decode(EVENT_TYPES[type_name], read_json(payload))  # type: ignore[no-any-return]


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, as they are: the JSON encoder writes strings,
    numbers, lists and tuples itself and asks :func:`_default` for the rest."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    return {name: getattr(value, name) for name in names}


def _default(value: Any) -> Any:
    """What JSON cannot write itself: times as ISO strings, a nested dataclass as an object."""
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    raise TypeError(f"cannot store a {type(value).__name__} in an event")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_default)
# Times and dataclasses go through _default as with the json module (orjson would write
# them its own way).
_THROUGH_DEFAULT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # a dataclass's field names, once per class


def _decode(cls: type, data: dict[str, Any]) -> Any:
    converters = _converters(cls)
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name not in converters:
            continue
        convert = converters[name]
        kwargs[name] = value if convert is None or value is None else convert(value)
    return cls(**kwargs)


@functools.cache
def _converters(cls: type) -> dict[str, Callable[[Any], Any] | None]:
    """Each field's decoder, made once per class (a record replays thousands of events)."""
    converters: dict[str, Callable[[Any], Any] | None] = {}
    for name, kind in _field_kinds(cls).items():
        if kind is datetime:
            converters[name] = datetime.fromisoformat
        elif kind is tuple:
            converters[name] = tuple
        elif isinstance(kind, type) and dataclasses.is_dataclass(kind):
            converters[name] = functools.partial(_decode, kind)
        else:
            converters[name] = None
    return converters


@functools.cache
def _field_kinds(cls: type) -> dict[str, type | None]:
    """Each field's type as decoding needs it: datetime, tuple, a dataclass, or None (as is).

    ``X | None`` counts as ``X``; the annotations are strings (postponed evaluation), so they
    are resolved once per class.
    """
    hints = typing.get_type_hints(cls)
    kinds: dict[str, type | None] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            members = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = members[0] if len(members) == 1 else None
        origin = typing.get_origin(hint) or hint
        nested = isinstance(origin, type) and dataclasses.is_dataclass(origin)
        kinds[f.name] = origin if origin in (datetime, tuple) or nested else None
    return kinds
