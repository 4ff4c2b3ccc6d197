"""Reading the config and agenda files: every problem is one line naming the file (and the
line in it), with what to do about it.

The YAML is read with a loader that refuses a key given twice in the same mapping (PyYAML
keeps the last one silently, so half of a region's settings could vanish unnoticed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_MERGE = "tag:yaml.org,2002:merge"


class ConfigError(Exception):
    """A configuration problem, already phrased for a person: one line per problem."""


def read_text(path: Path, missing: str = "") -> str:
    """The file's text; a :class:`ConfigError` when it is missing, a folder, unreadable or
    not UTF-8. ``missing`` is what to do when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file{'; ' + missing if missing else ''}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"{path}: is a folder, not a file; give the YAML file itself "
            f"(e.g. {path / 'meetbot.yaml'})"
        ) from exc
    except PermissionError as exc:
        raise ConfigError(
            f"{path}: cannot be read (permission denied); run meetbot as a user who may read "
            "it, or let that user read it (chown or chmod)"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} (line {line}): not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
            "file as UTF-8"
        ) from exc


def parse_yaml(text: str, path: Path) -> Any:
    """The document in ``text``; a :class:`ConfigError` for a syntax error or a key given
    twice in one mapping."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        twice: list[str] = []
        _duplicate_keys(node, path, "", set(), twice)
        if twice:
            raise ConfigError("\n".join(twice))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(_describe_yaml_error(path, exc)) from exc
    finally:
        loader.dispose()


def read_yaml(path: Path, missing: str = "") -> Any:
    return parse_yaml(read_text(path, missing), path)


def _duplicate_keys(node: Node, path: Path, where: str, seen: set[int], twice: list[str]) -> None:
    if id(node) in seen:  # an alias: already checked (and a recursive one must end)
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        first: dict[tuple[str, str], ScalarNode] = {}
        for key, value in node.value:
            if key.tag == _MERGE:  # `<<: *defaults`: the keys written here win, on purpose
                continue
            name = where
            if isinstance(key, ScalarNode):
                name = f"{where}.{key.value}" if where else str(key.value)
                earlier = first.setdefault((key.tag, key.value), key)
                if earlier is not key:
                    twice.append(
                        f"{path}: {name}: set twice (lines {earlier.start_mark.line + 1} and "
                        f"{key.start_mark.line + 1}); keep one of the two"
                    )
            _duplicate_keys(value, path, name, seen, twice)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _duplicate_keys(item, path, f"{where}[{index}]", seen, twice)


def _describe_yaml_error(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem is None:
        return f"{path}{where}: not valid YAML: {' '.join(str(exc).split())}"
    text = f"{context}: {problem}" if context else str(problem)
    hint = ""
    if "'\\t'" in problem:
        hint = "; indent with spaces, not tabs"
    elif "'@'" in problem or "'`'" in problem:
        hint = '; put the value in quotes, e.g. user_id: "@meetbot:example.org"'
    elif "constructor for the tag '!" in problem:
        hint = '; a room id starts with !, which YAML reads as a tag: put it in quotes, e.g. ' \
            'room: "!abc:example.org"'
    return f"{path}{where}: not valid YAML: {text}{hint}"
