"""What every ``meetbot`` subcommand shares: how it is declared, and how it reads the config."""

from __future__ import annotations

import argparse
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meetbot.cli.logs import apply_config_logging
from meetbot.config.schema import Config, load_config

if TYPE_CHECKING:
    from meetbot.app import MeetBotApp

DEFAULT_CONFIG = "config/meetbot.yaml"

# Exit codes (the README's "Command line" has the table).
EXIT_OK = 0
EXIT_FAILED = 1  # the command could not do its work: no database, a file it cannot write, ...
EXIT_USAGE = 2  # argparse: an unknown option, a missing argument
EXIT_STARTUP = 3  # `meetbot run` could not start: homeserver unreachable, login refused, ...
EXIT_CONFIG = 78  # the config (or an agenda) is wrong: EX_CONFIG of sysexits.h
EXIT_INTERRUPTED = 130  # Ctrl-C in a command other than `run`


class CommandError(Exception):
    """Ends a subcommand: the message (one line, already phrased for a person) goes to stderr
    and ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code

Subcommand = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Declared:
    name: str
    help: str
    arguments: Arguments


def subcommand(
    name: str, help: str, arguments: Arguments | None = None
) -> Callable[[Subcommand], Subcommand]:
    """Declare a ``meetbot NAME`` subcommand. This only marks the function: ``cli/main.py``
    lists every subcommand (``SUBCOMMANDS``)."""

    def mark(fn: Subcommand) -> Subcommand:
        fn.__meetbot_subcommand__ = Declared(  # type: ignore[attr-defined]
            name, help, arguments or (lambda parser: None)
        )
        return fn

    return mark


def subcommand_of(fn: Subcommand) -> Declared:
    declared: Declared = fn.__meetbot_subcommand__  # type: ignore[attr-defined]
    return declared


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        default=os.environ.get("MEETBOT_CONFIG", DEFAULT_CONFIG),
        help=f"the config file (default: $MEETBOT_CONFIG or {DEFAULT_CONFIG})",
    )


def read_config(args: argparse.Namespace) -> Config:
    config = load_config(Path(args.config))
    apply_config_logging(args, config.log_level, config.log_format)
    return config


def where_data_dir_is_set(config: Config) -> str:
    return f"data_dir in {config.source}" if config.source else "data_dir"


@asynccontextmanager
async def stored_record(config: Config) -> AsyncIterator[MeetBotApp]:
    """The app over the database the bot keeps, for the commands that only read the record:
    a missing data folder or database is refused (never created empty), and a database that
    cannot be opened or read is said in one line."""
    from meetbot.runtime.features import open_app

    database = config.database_path
    if not database.is_file():
        missing = database if config.data_path.is_dir() else config.data_path
        raise CommandError(
            f"no database: {missing} does not exist ({where_data_dir_is_set(config)}). The bot "
            "has not run with this config yet: check data_dir, or start the bot with "
            "meetbot run"
        )
    if not os.access(database, os.R_OK | os.W_OK):
        raise CommandError(_permission(database, "the database"))
    from meetbot.storage.database import DatabaseTooNew

    try:
        app = await open_app(config)
    except sqlite3.Error as exc:
        raise CommandError(f"{database}: cannot open the database ({exc})") from exc
    except DatabaseTooNew as exc:
        raise CommandError(str(exc)) from exc
    try:
        yield app
    except sqlite3.Error as exc:
        raise CommandError(f"{database}: {exc}") from exc
    finally:
        await app.store.db.close()


def _permission(path: Path, what: str) -> str:
    return (f"{path}: cannot read {what} (permission denied); run meetbot as the user the bot "
            "runs as (the owner of data_dir), e.g. sudo -u meetbot meetbot ...")


def output_folder(path: Path, option: str = "--out") -> Path:
    """``path`` as a folder meetbot may write into, created if missing; else a one-line
    :class:`CommandError` naming the option and what to do."""
    if path.exists() and not path.is_dir():
        raise CommandError(f"{option} {path}: is a file, not a folder; give a folder (it is "
                           "created if missing)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise CommandError(f"{option} {path}: cannot be a folder, part of it is a file "
                           f"({exc.filename}); give another folder") from exc
    except PermissionError as exc:
        raise CommandError(f"{option} {path}: cannot create this folder (permission denied); "
                           "give a folder you may write to") from exc
    except OSError as exc:
        raise CommandError(f"{option} {path}: cannot create this folder "
                           f"({exc.strerror or exc})") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise CommandError(f"{option} {path}: cannot write in this folder (permission denied "
                           "or read-only); give a folder you may write to")
    return path


def output_file(path: Path, option: str) -> Path:
    """``path`` as a file meetbot may (over)write; its folder is created if missing."""
    if path.is_dir():
        raise CommandError(f"{option} {path}: is a folder; give a file name, e.g. "
                           f"{path / 'mapping.json'}")
    output_folder(path.parent, f"the folder of {option}")
    if path.exists() and not os.access(path, os.W_OK):
        raise CommandError(f"{option} {path}: cannot write this file (permission denied); "
                           "give another file")
    return path


def print_paths(paths: Iterable[Path]) -> int:
    """A command's result: the files it wrote, one a line on stdout."""
    for path in paths:
        print(path)
    return EXIT_OK
