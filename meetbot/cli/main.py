"""``meetbot``: run the bot, check a config, regenerate minutes, and more."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from meetbot import __version__
from meetbot.cli import backup, demo, glossary, health, init, models, online, research, site
from meetbot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_STARTUP,
    EXIT_USAGE,
    CommandError,
    Subcommand,
    add_config_argument,
    output_folder,
    print_paths,
    read_config,
    stored_record,
    subcommand,
    subcommand_of,
)
from meetbot.cli.logs import add_logging_options, configure_logging, say_error
from meetbot.config.schema import Config, ConfigError

# -- the core subcommands ---------------------------------------------------------------


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
        f"1 unexpected error, {EXIT_USAGE} usage error, {EXIT_STARTUP} could not start "
        "(homeserver unreachable, login refused, no sync within the start-up timeout), "
        f"{EXIT_CONFIG} configuration error."
    )


@subcommand("run", "run the bot", _run_arguments)
def cmd_run(args: argparse.Namespace) -> int:
    from meetbot.runtime.service import StartupFailed, serve
    from meetbot.storage.database import DatabaseTooNew

    config = read_config(args)
    if getattr(args, "startup_timeout", None) is not None:
        config = config.model_copy(update={"startup_timeout": args.startup_timeout})
    try:
        return asyncio.run(serve(config))
    except (StartupFailed, DatabaseTooNew) as exc:
        raise CommandError(str(exc), EXIT_STARTUP) from exc


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
    for warning in placeholder_warnings(config) + translation_warnings(config) + \
            language_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.config}: OK")
    return online.check_online(config) if getattr(args, "online", False) else 0


def placeholder_warnings(config: Config) -> list[str]:
    """Addresses left as the example's: example.org never hosts a homeserver (RFC 2606)."""
    from urllib.parse import urlsplit

    host = urlsplit(config.homeserver).hostname or ""
    if host == "example.org" or host.endswith((".example.org", ".example.com")):
        return [f"homeserver: {config.homeserver} is the example's address; write your "
                "homeserver's (and the rooms and user ids on it)"]
    return []


def language_warnings(config: Config) -> list[str]:
    """Languages the bot's own messages are not written in (they are shown in English)."""
    from meetbot.config.values import language_name
    from meetbot.i18n import SUPPORTED_LANGUAGES

    used = {lang: f"regions[{i}].languages" for i, r in reversed(list(enumerate(config.regions)))
            for lang in r.languages}
    if config.coordinator:
        used[config.coordinator.language] = "coordinator.language"
    return [
        f"{key}: {lang} ({language_name(lang)}): the bot's own messages are not written in it "
        f"and show in English (they exist in {', '.join(SUPPORTED_LANGUAGES)})"
        for lang, key in sorted(used.items()) if lang not in SUPPORTED_LANGUAGES
    ]


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
    parser.add_argument("--out", type=Path, help="folder to write to (default: DATA_DIR/minutes)")


@subcommand("minutes", "regenerate a meeting's minutes from the stored record", _minutes_arguments)
def cmd_minutes(args: argparse.Namespace) -> int:
    from meetbot.minutes.delivery import MeetingNotFound, write_meeting_minutes

    config = read_config(args)

    async def regenerate() -> list[Path]:
        async with stored_record(config) as app:
            row = await app.store.meeting(args.meeting_id)
            if row is None:
                raise CommandError(
                    f"no meeting {args.meeting_id!r} in {config.database_path} (or the prefix "
                    "is ambiguous); meetbot meetings lists them"
                )
            out = output_folder(args.out) if args.out else output_folder(
                config.minutes_path, "the minutes folder"
            )
            try:
                _data, paths = await write_meeting_minutes(app, row.meeting_id, out)
            except MeetingNotFound as exc:
                raise CommandError(str(exc)) from exc
            return paths

    return print_paths(asyncio.run(regenerate()))


@subcommand("meetings", "list the meetings in the database", add_config_argument)
def cmd_meetings(args: argparse.Namespace) -> int:
    config = read_config(args)

    async def listing() -> None:
        async with stored_record(config) as app:
            rows = await app.store.meetings()
        if not rows:
            print(f"meetbot: no meetings in {config.database_path} yet", file=sys.stderr)
        for row in rows:
            ended = row.ended_at.isoformat() if row.ended_at else "running"
            print(
                f"{row.meeting_id}  {row.region_id:10}  {row.started_at.isoformat()}  "
                f"{ended}  {row.title}"
            )

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
    site.cmd_site,
    backup.cmd_backup,
    glossary.cmd_glossary,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meetbot", description="Facilitate multilingual discussion meetings on Matrix.",
        epilog=f"Exit codes: 0 done, {EXIT_FAILED} failed, {EXIT_USAGE} usage error, "
        f"{EXIT_STARTUP} run could not start, {EXIT_CONFIG} configuration error, "
        f"{EXIT_INTERRUPTED} interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"meetbot {__version__}")
    sub = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    for fn in SUBCOMMANDS:
        declared = subcommand_of(fn)
        p = sub.add_parser(declared.name, help=declared.help, description=declared.help)
        declared.arguments(p)
        p.set_defaults(func=fn)
    add_logging_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors: exit code 2
    handler = configure_logging(args)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        say_error(args, str(exc))
        return EXIT_CONFIG
    except CommandError as exc:
        say_error(args, str(exc))
        return exc.code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # a file or folder the command needed: said in one line
        say_error(args, describe_os_error(exc))
        return EXIT_FAILED
    except sqlite3.Error as exc:
        say_error(args, f"database error: {exc}")
        return EXIT_FAILED
    finally:
        logging.getLogger().removeHandler(handler)


def describe_os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    if exc.filename is None:
        return what
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {what}"
    return f"{exc.filename}: {what}"
