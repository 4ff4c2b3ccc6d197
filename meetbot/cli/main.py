"""``meetbot``: run the bot, check a config, regenerate minutes, and more."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta

from meetbot import __version__
from meetbot.cli import backup, demo, health, init, models, online, research
from meetbot.cli.common import (
    Subcommand,
    add_config_argument,
    read_config,
    subcommand,
    subcommand_of,
)
from meetbot.config.schema import Config, ConfigError

# -- the core subcommands ---------------------------------------------------------------


# `meetbot run` exit codes (documented in the README's "Start-up and shutdown").
EXIT_CONFIG = 2
EXIT_STARTUP = 3


def _positive_duration(text: str) -> timedelta:
    from meetbot.config.schema import positive_duration

    try:
        return positive_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--startup-timeout",
        type=_positive_duration,
        metavar="DURATION",
        help="give up starting after this long (e.g. 30s, 2m; default: the config's "
        "startup_timeout, 2m)",
    )
    parser.epilog = (
        "Stops on SIGTERM or SIGINT at any moment, start-up included. Exit codes: 0 stopped, "
        f"1 unexpected error, {EXIT_CONFIG} configuration error, {EXIT_STARTUP} could not "
        "start (homeserver unreachable, login refused, no sync within the start-up timeout)."
    )


@subcommand("run", "run the bot", _run_arguments)
def cmd_run(args: argparse.Namespace) -> int:
    from meetbot.runtime.service import StartupFailed, serve

    config = read_config(args)
    if getattr(args, "startup_timeout", None) is not None:
        config = config.model_copy(update={"startup_timeout": args.startup_timeout})
    try:
        return asyncio.run(serve(config))
    except StartupFailed as exc:
        print(f"meetbot: {exc}", file=sys.stderr)
        return EXIT_STARTUP


@subcommand("check-config", "validate a config file and its agendas (--online: and its rooms)",
            online.check_config_arguments)
def cmd_check_config(args: argparse.Namespace) -> int:
    from meetbot.config.agendas import AgendaLibrary

    config = read_config(args)
    agendas = AgendaLibrary(config.prompts_path)
    names = {r.agenda for r in config.regions} | {
        m.agenda for r in config.regions for m in r.meetings if m.agenda
    }
    for name in sorted(names | {"default"}):
        agenda = agendas.get(name)
        print(
            f"agenda {name}: {len(agenda.prompts)} prompts "
            f"({', '.join(p.id for p in agenda.prompts)})"
        )
    for region in config.regions:
        print(
            f"region {region.id}: {region.name}, room {region.room}, "
            f"languages {', '.join(region.languages)}, {region.timezone}, "
            f"{len(region.meetings)} scheduled meetings"
        )
    for warning in translation_warnings(config):
        print(f"warning: {warning}")
    print(f"{args.config}: OK")
    return online.check_online(config) if getattr(args, "online", False) else 0


def translation_warnings(config: Config) -> list[str]:
    """Language pairs the configured back-end cannot translate (the bot runs, untranslated)."""
    from meetbot.translation.base import TranslationError
    from meetbot.translation.factory import make_translator

    settings = config.translation
    if settings.backend == "none":
        return []
    if settings.backend == "libretranslate":
        return []  # a server's pairs are known only when it answers; the bot says so live
    try:
        translator = make_translator(
            settings.backend, models_dir=config.models_path,
            libretranslate_url=settings.libretranslate_url, api_key=None,
        )
        missing = sorted({
            f"{source}→{target}"
            for region in config.regions
            for source in region.languages
            for target in region.languages
            if source != target and not translator.can_translate(source, target)
        })
    except TranslationError as exc:
        return [f"translation.backend {settings.backend}: {exc}"]
    if not missing:
        return []
    hint = {
        "argos": f"meetbot models install en es fr (models in {config.models_path})",
        "apertium": "apt-get install apertium-eng-spa apertium-fr-es",
    }.get(settings.backend, "")
    return [f"translation.backend {settings.backend} cannot translate {', '.join(missing)}; "
            f"those messages stay untranslated. Install: {hint}"]


def _minutes_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("meeting_id", help="the meeting's id (or its first characters)")


@subcommand("minutes", "regenerate a meeting's minutes from the stored record", _minutes_arguments)
def cmd_minutes(args: argparse.Namespace) -> int:
    from meetbot.minutes.delivery import MeetingNotFound, write_meeting_minutes
    from meetbot.runtime.features import open_app

    config = read_config(args)

    async def regenerate() -> int:
        app = await open_app(config)
        try:
            row = await app.store.meeting(args.meeting_id)
            if row is None:
                print(
                    f"meetbot: no meeting {args.meeting_id!r} (or the prefix is ambiguous)",
                    file=sys.stderr,
                )
                return 1
            _data, paths = await write_meeting_minutes(app, row.meeting_id)
        except MeetingNotFound as exc:
            print(f"meetbot: {exc}", file=sys.stderr)
            return 1
        finally:
            await app.store.db.close()
        for path in paths:
            print(path)
        return 0

    return asyncio.run(regenerate())


@subcommand("meetings", "list the meetings in the database", add_config_argument)
def cmd_meetings(args: argparse.Namespace) -> int:
    from meetbot.runtime.features import open_app

    config = read_config(args)

    async def listing() -> None:
        app = await open_app(config)
        try:
            for row in await app.store.meetings():
                ended = row.ended_at.isoformat() if row.ended_at else "running"
                print(
                    f"{row.meeting_id}  {row.region_id:10}  {row.started_at.isoformat()}  "
                    f"{ended}  {row.title}"
                )
        finally:
            await app.store.db.close()

    asyncio.run(listing())
    return 0


def _commands_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefix", default="!")


@subcommand("commands", "print the chat command table (Markdown)", _commands_arguments)
def cmd_commands(args: argparse.Namespace) -> int:
    from meetbot.cli.commands_table import command_table

    print(command_table(args.prefix))
    return 0


# -- entry point ------------------------------------------------------------------------


# Every ``meetbot`` subcommand, in the order ``meetbot --help`` lists them.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    init.cmd_init,
    cmd_run,
    cmd_check_config,
    health.cmd_healthcheck,
    cmd_minutes,
    cmd_meetings,
    cmd_commands,
    models.cmd_models,
    demo.cmd_demo,
    research.cmd_report,
    research.cmd_export,
    backup.cmd_backup,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meetbot", description="Facilitate multilingual discussion meetings on Matrix."
    )
    parser.add_argument("--version", action="version", version=f"meetbot {__version__}")
    parser.add_argument("--verbose", "-v", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    for fn in SUBCOMMANDS:
        declared = subcommand_of(fn)
        p = sub.add_parser(declared.name, help=declared.help, description=declared.help)
        declared.arguments(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("nio", "aiohttp.access", "apscheduler", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"meetbot: configuration error\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
