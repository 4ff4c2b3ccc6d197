"""pydantic's validation errors, said for a person: one line per problem, naming the file and
the key, what is wrong and what to write instead; never pydantic's own vocabulary ("instance
of TranslationConfig")."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from meetbot.config.values import LANGUAGE, PROMPT_ID, REGION_ID, ROOM, USER_ID, AtKey, short

EXAMPLE = "config/meetbot.example.yaml"

# What a list of this key looks like, for "expected a list".
_LIST_EXAMPLES = {
    "languages": "such as [es, en]",
    "facilitators": 'such as ["@alice:example.org"]',
    "users": 'such as ["@coordinator:example.org"]',
    "reminders": "such as [24h, 1h]",
    "regions": "(lines starting with '- id: ...', see the example config)",
    "meetings": "(lines starting with '- number: 1', see the example config)",
    "prompts": "(lines starting with '- id: ...')",
}

_PATTERN_HINTS = {
    ROOM: "is not a room id or alias such as !abc:example.org or #meetings:example.org",
    USER_ID: "is not a Matrix user id such as @alice:example.org",
    LANGUAGE: "is not a language code such as en, fr or es",
    REGION_ID: "is not a region id: lower-case letters, digits, - and _, such as latam",
    PROMPT_ID: "is not a prompt id: letters, digits, '.', '-' and '_', such as "
    "work-learn-together",
}


def format_validation_error(
    source: str, error: ValidationError, model: type[BaseModel] | None = None,
    example: str = EXAMPLE,
) -> str:
    lines: list[str] = []
    for problem in error.errors(include_url=False):
        loc = tuple(problem.get("loc", ()))
        cause = problem.get("ctx", {}).get("error")
        if isinstance(cause, AtKey):
            loc, message = (*loc, cause.key), cause.message
        else:
            message = _message(problem, loc, model, example)
        lines.append(f"{source}: {_location(loc) or '(top level)'}: {message}")
    return "\n".join(dict.fromkeys(lines))


def _message(problem: Any, loc: tuple[Any, ...], model: type[BaseModel] | None,
             example: str) -> str:
    kind = problem.get("type", "")
    value = problem.get("input")
    ctx = problem.get("ctx", {})
    key = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "extra_forbidden":
        return _unknown_key(loc, model, example)
    if kind == "missing":
        return "missing: this key is required"
    if kind in ("value_error", "assertion_error"):
        return str(problem.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return f"{short(value)} {_PATTERN_HINTS.get(ctx.get('pattern', ''), 'has the wrong form')}"
    if kind == "literal_error":
        return f"{short(value)} is not one of: {str(ctx.get('expected', '')).replace(chr(39), '')}"
    if kind == "list_type":
        return f"expected a list {_LIST_EXAMPLES.get(key, 'such as [a, b]')}, not {short(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a group of keys (indented 'key: value' lines), not {short(value)}"
    fixed = {
        "string_type": "expected text",
        "int_type": "expected a whole number", "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number", "float_parsing": "expected a number",
        "bool_type": "expected true or false", "bool_parsing": "expected true or false",
        "path_type": "expected a path such as ./data",
        "datetime_type": "expected a local date and time such as 2027-01-15T18:00",
        "datetime_parsing": "expected a local date and time such as 2027-01-15T18:00",
        "datetime_from_date_parsing": "expected a local date and time such as 2027-01-15T18:00",
    }.get(kind)
    if fixed:
        quote = kind == "string_type" and isinstance(value, (int, float, bool))
        return f"{fixed}, not {short(value)}{' (put it in quotes)' if quote else ''}"
    bounds = {
        "greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt"),
    }.get(kind)
    if bounds:
        return f"{short(value)} is too {'small' if kind[0] == 'g' else 'large'}: it must be " \
            f"{bounds[0]} {ctx.get(bounds[1])}"
    if kind == "too_short":
        return f"is empty; list at least {ctx.get('min_length', 1)}"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else \
            f"must be at least {ctx.get('min_length')} characters long"
    if kind == "string_too_long":
        return f"{short(value)} is too long: at most {ctx.get('max_length')} characters"
    # Anything else: pydantic's sentence, without its vocabulary.
    text = re.sub(r" or instance of \w+", "", str(problem.get("msg", "invalid")))
    return f"{text.replace('Input should be', 'should be')}, not {short(value)}"


def _unknown_key(loc: tuple[Any, ...], model: type[BaseModel] | None, example: str) -> str:
    known = _keys_at(model, loc[:-1]) if model is not None else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1) if loc else []
    if close:
        return f"unknown key; did you mean {close[0]}? (every key is in {example})"
    return f"unknown key (check its spelling against {example})"


def _keys_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the section at ``path`` of ``model``."""
    current: Any = model
    for part in path:
        current = _model_in(current)
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        current = field.annotation if field is not None else None
    found = _model_in(current)
    return [name for name in found.model_fields if name != "source"] if found else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        typing.Union, list
    ):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
