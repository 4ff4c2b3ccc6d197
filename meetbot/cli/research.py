"""``meetbot report`` and ``meetbot export``: the research outputs from the command line.

Both read the record the bot keeps: they refuse a missing database (never create an empty
one) and a record with no meeting ended yet (never write an empty report), and check where
they write before doing the work.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meetbot.cli.common import (
    CommandError,
    add_config_argument,
    output_file,
    output_folder,
    print_paths,
    read_config,
    stored_record,
    subcommand,
)
from meetbot.config.schema import Config

if TYPE_CHECKING:
    from meetbot.app import MeetBotApp


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


async def _require_ended_meetings(app: MeetBotApp, config: Config, what: str) -> None:
    if not any(row.ended_at is not None for row in await app.store.meetings()):
        raise CommandError(
            f"no meeting has ended yet in {config.database_path}: there is nothing to {what} "
            "(meetbot meetings lists the meetings)"
        )


@subcommand("report", "write the cross-region report over all meetings held", _report_arguments)
def cmd_report(args: argparse.Namespace) -> int:
    from meetbot.research.outputs import build_full_report, pseudonymous_reports_dir
    from meetbot.research.report_render import write_report

    config = read_config(args)

    async def run() -> list[Path]:
        async with stored_record(config) as app:
            await _require_ended_meetings(app, config, "report on")
            if args.out:
                out = output_folder(args.out)
            elif args.pseudonymous:
                out = output_folder(
                    pseudonymous_reports_dir(app), "the pseudonymous reports folder"
                )
            else:
                out = output_folder(config.data_path / "reports", "the reports folder")
            report = await build_full_report(app, pseudonymous=args.pseudonymous)
            return write_report(out, report, tuple(args.format or ("html", "md", "json")))

    return print_paths(asyncio.run(run()))


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
    from meetbot.research.export import write_mapping
    from meetbot.research.outputs import write_exports
    from meetbot.research.pseudonyms import PseudonymKeyError, Pseudonyms

    config = read_config(args)

    async def run() -> list[Path]:
        async with stored_record(config) as app:
            await _require_ended_meetings(app, config, "export")
            try:
                pseudonyms = Pseudonyms.load(config.data_path)
            except PseudonymKeyError as exc:
                raise CommandError(str(exc)) from exc
            out = output_folder(args.out) if args.out else output_folder(
                config.data_path / "exports", "the exports folder"
            )
            mapping = output_file(args.mapping, "--mapping") if args.mapping else None
            paths = await write_exports(app, args.format or ["csv"], out, progress=_progress)
            if mapping is not None:
                for row in await app.store.meetings():
                    for user in await _speakers(app, row.meeting_id):
                        pseudonyms.of(user)
                paths.append(write_mapping(mapping, pseudonyms))
            return paths

    return print_paths(asyncio.run(run()))


async def _speakers(app: Any, meeting_id: str) -> set[str]:
    meeting = await app.rebuild_meeting(meeting_id)
    return set(meeting.present()) if meeting is not None else set()
