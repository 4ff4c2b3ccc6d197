"""The log: ``-v``, ``-q``, ``--log-level`` and ``--log-format``, anywhere on the command line.

The options are added to every parser (``meetbot``, each subcommand, and theirs), so
``meetbot -q report`` and ``meetbot report -q`` mean the same; given on the command line, the
level wins over the config's ``log_level``, the format over its ``log_format``. The log goes
to stderr, like every warning and error; stdout carries only what a command prints as its
result.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that say too much at INFO.
NOISY = ("nio", "aiohttp.access", "apscheduler", "peewee")


def add_logging_options(parser: argparse.ArgumentParser) -> None:
    """The logging options, on ``parser`` and every parser below it."""
    group = parser.add_argument_group("logging (anywhere on the command line)")
    # SUPPRESS: an option not given leaves no value, so one given before the subcommand is
    # not overwritten by the subcommand's parser; the last one given wins.
    group.add_argument("--verbose", "-v", dest="log_level", action="store_const", const="DEBUG",
                       default=argparse.SUPPRESS, help="log everything (--log-level DEBUG)")
    group.add_argument("--quiet", "-q", dest="log_level", action="store_const", const="WARNING",
                       default=argparse.SUPPRESS,
                       help="log only warnings and errors (--log-level WARNING)")
    group.add_argument("--log-level", dest="log_level", type=str.upper, choices=LEVELS,
                       metavar="LEVEL", default=argparse.SUPPRESS,
                       help="DEBUG, INFO, WARNING or ERROR (default: the config's log_level, "
                       "INFO); wins over the config")
    group.add_argument("--log-format", dest="log_format", choices=FORMATS,
                       default=argparse.SUPPRESS,
                       help="text or json: one JSON object per line with time, level, "
                       "logger, message and exc (default: the config's log_format, text); "
                       "wins over the config")
    for child in _children(parser):
        add_logging_options(child)


def _children(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from dict.fromkeys(action.choices.values())  # aliases share a parser


def level_from(args: argparse.Namespace) -> str | None:
    """The level given on the command line, if any."""
    level = getattr(args, "log_level", None)
    return str(level) if level else None


def json_logs(args: argparse.Namespace) -> bool:
    return getattr(args, "log_format", "text") == "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``
    and, when there is one, ``exc`` (the traceback as text)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (so a replaced stderr is honoured)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def configure_logging(args: argparse.Namespace) -> logging.Handler:
    """The root logger: to stderr, in the chosen format, at the command line's level (or
    INFO until the config says otherwise). Handlers others installed are left alone."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(old)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if json_logs(args) else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level_from(args) or "INFO")
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def apply_config_logging(args: argparse.Namespace, level: str, log_format: str) -> None:
    """The config's ``log_level`` and ``log_format``, where the command line gave none (the
    format then also holds for the command's last word, :func:`say_error`)."""
    root = logging.getLogger()
    if level_from(args) is None:
        root.setLevel(level)
    if getattr(args, "log_format", None) is None:
        args.log_format = log_format
        for handler in root.handlers:
            if isinstance(handler, StderrHandler):
                handler.setFormatter(
                    JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
                )


def say_error(args: argparse.Namespace, message: str) -> None:
    """A command's last word, on stderr: ``meetbot: ...`` per line, or a JSON log line."""
    for line in message.splitlines() or [""]:
        if json_logs(args):
            record = logging.LogRecord("meetbot", logging.ERROR, "", 0, line, None, None)
            print(JsonFormatter().format(record), file=sys.stderr, flush=True)
        else:
            print(f"meetbot: {line}", file=sys.stderr, flush=True)
