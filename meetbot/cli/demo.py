"""``meetbot demo [--dir DIR] [--keep-running] [--no-download] [--models-dir DIR]``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from meetbot.cli.common import subcommand

DEFAULT_DIR = "meetbot-demo"
INSTALL_HINT = "pip install -e '.[demo]'"


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", default=DEFAULT_DIR, type=Path,
        help=f"the demo's folder: homeserver, config, minutes (default: ./{DEFAULT_DIR}; "
        "a previous demo there is replaced, its models/ kept)",
    )
    parser.add_argument(
        "--keep-running", action="store_true",
        help="after the meeting, leave the homeserver and the bot up and print the logins",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None,
        help="Argos models to translate with, fetched there on the first run "
        "(default: ~/.cache/meetbot/models, or $XDG_CACHE_HOME/meetbot/models)",
    )
    parser.add_argument(
        "--no-download", action="store_true",
        help="do not fetch the Argos models: use those already there, else Apertium, else none",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for each step (default 60)"
    )


def _log_to_file(path: Path) -> None:
    """The bot's log goes to a file: the terminal is for the conversation."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def synapse_installed() -> bool:
    try:
        return importlib.util.find_spec("synapse") is not None
    except ImportError:  # a broken install counts as none
        return False


def _err(message: str) -> None:
    print(f"meetbot demo: {message}", file=sys.stderr, flush=True)


@subcommand("demo", "run a whole trilingual meeting on an embedded homeserver", _arguments)
def cmd_demo(args: argparse.Namespace) -> int:
    if not synapse_installed():
        _err(f"the demo needs the Synapse homeserver, which is not installed.\n"
             f"Install it with: {INSTALL_HINT}")
        return 1
    from meetbot.demo.client import DemoClientError
    from meetbot.demo.homeserver import HomeserverError
    from meetbot.demo.runner import Demo, DemoOptions
    from meetbot.demo.world import DemoFolder, DemoFolderError

    options = DemoOptions(
        args.dir, args.keep_running, args.models_dir, args.timeout, download=not args.no_download
    )
    folder = DemoFolder(args.dir.resolve())
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo = Demo(options)
        demo.prepare()
        _log_to_file(folder.log)
        return demo.run()
    except KeyboardInterrupt:
        _err("interrupted; the homeserver and the bot are stopped.")
        return 130
    except DemoFolderError as exc:
        _err(str(exc))
        return 2
    except HomeserverError as exc:
        _err(f"the homeserver failed: {exc}\n(its log: {folder.synapse / 'synapse.log'})")
        return 1
    except (DemoClientError, TimeoutError, asyncio.TimeoutError) as exc:
        _err(f"the meeting did not complete: {exc}\n(see the bot log {folder.log} "
             f"and the Synapse log {folder.synapse / 'synapse.log'})")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
