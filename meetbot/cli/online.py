"""``meetbot check-config --online``: after the file's own checks, log in and check every
room of the config (meetbot/matrix/preflight.py), one line per room."""

from __future__ import annotations

import argparse
import asyncio
import logging

from meetbot.cli.common import add_config_argument
from meetbot.config.schema import Config

EXIT_NEEDS_FIXING = 1


def check_config_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--online", action="store_true",
        help="then log in (reusing the bot's saved session) and check every configured room: "
        "the alias resolves, the bot is in it, its power level lets it post and remove its "
        f"notices; exit code {EXIT_NEEDS_FIXING} if anything needs fixing",
    )


def check_online(config: Config) -> int:
    from meetbot.matrix.preflight import Report, Status, preflight
    from meetbot.matrix.session import Unreachable

    timeout = config.startup_timeout.total_seconds()
    # nio warns of every error answer it parses ("does not exist" is one): the lines below
    # say what each means.
    logging.getLogger("nio.responses").setLevel(logging.ERROR)

    async def bounded() -> Report:
        try:
            return await asyncio.wait_for(preflight(config), timeout)
        except Unreachable as exc:
            return Report(problem=f"homeserver {config.homeserver}: {exc.problem.message}")
        except asyncio.TimeoutError:
            return Report(problem=f"homeserver {config.homeserver}: no answer within "
                          f"{timeout:.0f}s (startup_timeout)")

    report = asyncio.run(bounded())
    print()
    if report.problem is not None:
        print(f"online: {report.problem}")
        return EXIT_NEEDS_FIXING
    print(f"online: {report.session}")
    for room in report.rooms:
        print(f"{room.room.label}: {room.text}")
    to_fix = sum(1 for r in report.rooms if r.status is Status.FIX)
    later = sum(1 for r in report.rooms if r.status is Status.NOTE)
    if not report.rooms:
        print("online: no rooms in the config to check")
    elif to_fix:
        print(f"online: {to_fix} of {len(report.rooms)} rooms need fixing")
    else:
        print(f"online: OK, {len(report.rooms) - later} of {len(report.rooms)} rooms ready"
              + (f"; {later} to check again once the bot has joined" if later else ""))
    return EXIT_NEEDS_FIXING if report.needs_fixing else 0
