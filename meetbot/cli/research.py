"""``meetbot report`` and ``meetbot export``: the research outputs from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from meetbot.cli.common import add_config_argument, read_config, subcommand


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--format", "-f", choices=("html", "md", "json"), action="append",
                        help="html, md or json (repeat for several; default: all three)")
    parser.add_argument("--out", type=Path,
                        help="folder to write to (default: DATA_DIR/reports, or "
                             "DATA_DIR/reports-pseudonymous with --pseudonymous)")
    parser.add_argument("--pseudonymous", action="store_true",
                        help="name people by pseudonym, as the exports do, and replace Matrix "
                             "ids in what they said: a report meant to leave the coordinator's "
                             "hands")


@subcommand("report", "write the cross-region report over all meetings held", _report_arguments)
def cmd_report(args: argparse.Namespace) -> int:
    from meetbot.research.outputs import write_full_report
    from meetbot.runtime.features import open_app

    config = read_config(args)

    async def run() -> list[Path]:
        app = await open_app(config)
        try:
            formats = tuple(args.format or ("html", "md", "json"))
            _report, paths = await write_full_report(app, args.out, formats,
                                                     pseudonymous=args.pseudonymous)
            return paths
        finally:
            await app.store.db.close()

    return _print_paths(asyncio.run(run()))


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--format", "-f", choices=("csv", "jsonl", "qdpx"), action="append",
                        help="csv, jsonl or qdpx (REFI-QDA); repeat for several (default: csv)")
    parser.add_argument("--out", type=Path, help="folder to write to (default: DATA_DIR/exports)")
    parser.add_argument("--mapping", type=Path,
                        help="also write the pseudonym -> Matrix id key to this file; keep it "
                             "apart from the exports")


def _progress(items: Iterable[Any]) -> Iterable[Any]:
    from tqdm import tqdm

    return tqdm(list(items), desc="meetings", unit="meeting", file=sys.stderr, disable=None)


@subcommand("export", "export what was said, pseudonymised, for qualitative analysis",
            _export_arguments)
def cmd_export(args: argparse.Namespace) -> int:
    from meetbot.research.outputs import write_exports
    from meetbot.runtime.features import open_app

    config = read_config(args)

    async def run() -> list[Path]:
        app = await open_app(config)
        try:
            paths = await write_exports(app, args.format or ["csv"], args.out, _progress)
            if args.mapping:
                from meetbot.research.export import write_mapping
                from meetbot.research.pseudonyms import Pseudonyms

                pseudonyms = Pseudonyms.load(config.data_path)
                for row in await app.store.meetings():
                    for user in await _speakers(app, row.meeting_id):
                        pseudonyms.of(user)
                paths.append(write_mapping(args.mapping, pseudonyms))
            return paths
        finally:
            await app.store.db.close()

    return _print_paths(asyncio.run(run()))


def _print_paths(paths: Iterable[Path]) -> int:
    for path in paths:
        print(path)
    return 0


async def _speakers(app: Any, meeting_id: str) -> set[str]:
    meeting = await app.rebuild_meeting(meeting_id)
    return set(meeting.present()) if meeting is not None else set()
