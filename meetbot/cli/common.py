"""What every ``meetbot`` subcommand shares: how it is declared, and how it reads the config."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from meetbot.config.schema import Config, load_config

DEFAULT_CONFIG = "config/meetbot.yaml"

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
    logging.getLogger().setLevel(config.log_level)
    return config
