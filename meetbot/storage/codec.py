"""Core events to and from JSON, for the event store.

An event is stored as a JSON object of its dataclass fields: times as ISO strings, tuples as
lists, and a field that holds a dataclass of its own (a message's attachment) as a nested
object, decoded back by the field's declared type. Fields a stored payload lacks take their
defaults, so records written before a field existed still load; keys no field has are ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from meetbot.core.events import EVENT_TYPES, Event


def encode_event(event: Event) -> tuple[str, str]:
    type_name, payload, _at = encode_event_at(event)
    return type_name, payload


def encode_event_at(event: Event) -> tuple[str, str, str]:
    """The event's type, its payload and its time as the payload writes it (an ISO string):
    the event store keeps the time in a column of its own too. This runs for every event
    stored, so the time is written once, before the encoder (in C) sees the fields, rather
    than through :func:`_default`, and the fields are read from the instance's ``__dict__``
    when it holds exactly the fields, in their order (always, unless someone set
    attributes of their own); otherwise as :func:`_fields` reads them."""
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
    return kind.__name__, _encode(fields), at


def decode_event(type_name: str, payload: str) -> Event:
    return _decode(EVENT_TYPES[type_name], json.loads(payload))  # type: ignore[no-any-return]


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, as they are: the JSON encoder (in C) writes strings,
    numbers, lists and tuples itself and asks :func:`_default` for the rest. This runs for
    every event stored."""
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
# The same encoder without the Python layer around it that ``JSONEncoder.encode`` adds on
# every call (the C one it builds each time, made once): identical output. None without
# CPython's accelerator.
_C_ENCODER = None if c_make_encoder is None else c_make_encoder(
    None, _default, encode_basestring, None, ": ", ", ", False, False, True
)


def _encode(fields: dict[str, Any]) -> str:
    if _C_ENCODER is None:  # pragma: no cover
        return _ENCODER.encode(fields)
    return "".join(_C_ENCODER(fields, 0))
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
