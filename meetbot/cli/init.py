"""``meetbot init``: write a commented config file, by questions on a terminal or from flags.

On a terminal with no value given as a flag, it asks for each value and checks every answer
at once (a wrong one is asked again). Otherwise (flags given, or stdin not a terminal) every
required value must be a flag, and it says which are missing. It never overwrites a file
unless ``--force``; after writing it runs ``meetbot check-config`` on the file.
"""

from __future__ import annotations

import argparse
import getpass
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from meetbot.cli.common import add_config_argument, subcommand
from meetbot.cli.config_file import (
    BACKENDS,
    Answers,
    Region,
    backend,
    homeserver_url,
    language,
    languages,
    region_id,
    render,
    room,
    server_of,
    timezone,
    user_id,
    user_ids,
    write_config,
)

EXIT_USAGE = 2
# The flags that carry answers; giving any of them means "do not ask".
ANSWER_FLAGS = {
    "homeserver": "--homeserver", "user_id": "--user-id", "password": "--password",
    "access_token": "--access-token", "device_id": "--device-id", "regions": "--region",
    "coordinator_room": "--coordinator-room", "coordinator_users": "--coordinator-user",
    "coordinator_language": "--coordinator-language", "facilitators": "--facilitator",
    "translation": "--translation",
}
SECRET_ENV = {"password": "MEETBOT_PASSWORD", "access_token": "MEETBOT_ACCESS_TOKEN"}

T = TypeVar("T")
A = TypeVar("A")


class InitError(Exception):
    """A value is missing or wrong (phrased for a person)."""


class Aborted(Exception):
    """The answers ended before every question was answered."""


# -- from flags ------------------------------------------------------------------------------


def region_from_fields(fields: list[str]) -> Region:
    """``--region ID NAME ROOM LANGUAGES [TIMEZONE]``; every wrong field is named."""
    if len(fields) not in (4, 5):
        raise ValueError(
            f"{' '.join(fields)!r}: give ID NAME ROOM LANGUAGES [TIMEZONE], e.g. "
            "--region latam 'Latin America' '#latam:example.org' es,en America/Bogota"
        )
    problems: list[str] = []

    def field(check: Callable[[str], T], text: str, default: T) -> T:
        try:
            return check(text)
        except ValueError as exc:
            problems.append(str(exc))
            return default

    region = Region(
        id=field(region_id, fields[0], ""), name=fields[1].strip() or fields[0],
        room=field(room, fields[2], ""), languages=field(languages, fields[3], []),
        timezone=field(timezone, fields[4], "UTC") if len(fields) == 5 else "UTC",
    )
    if problems:
        raise ValueError(f"{fields[0]}: {'; '.join(problems)}")
    return region


def _secret_from_env(env: dict[str, str]) -> str | None:
    return next((name for name in SECRET_ENV.values() if env.get(name)), None)


def answers_from_flags(args: argparse.Namespace, env: dict[str, str]) -> Answers:
    """Every required value from the flags, or :class:`InitError` naming each one missing
    and each one wrong."""
    missing = [ANSWER_FLAGS[key] for key in ("homeserver", "user_id")
               if getattr(args, key) is None]
    secret_env = None
    if args.password is None and args.access_token is None:
        secret_env = _secret_from_env(env)
        if secret_env is None:
            missing.append("--password or --access-token (or MEETBOT_PASSWORD in the "
                           "environment)")
    missing += [ANSWER_FLAGS[key] for key in ("regions", "coordinator_room",
                                              "coordinator_users") if not getattr(args, key)]
    problems: list[str] = [f"missing {', '.join(missing)}"] if missing else []

    def checked(flag: str, check: Callable[[A], T], value: A | None, default: T) -> T:
        if value is None:
            return default
        try:
            return check(value)
        except ValueError as exc:
            problems.append(f"{flag}: {exc}")
            return default

    def each(flag: str, check: Callable[[A], T], values: list[A]) -> list[T]:
        found = [checked(flag, check, value, None) for value in values]
        return [value for value in found if value is not None]

    if args.password is not None and args.access_token is not None:
        problems.append("give --password or --access-token, not both")
    if args.device_id is not None and args.access_token is None:
        problems.append("--device-id goes with --access-token")
    answers = Answers(
        homeserver=checked("--homeserver", homeserver_url, args.homeserver, ""),
        user_id=checked("--user-id", user_id, args.user_id, ""),
        password=args.password, access_token=args.access_token, device_id=args.device_id,
        secret_env=secret_env,
        regions=each("--region", region_from_fields, args.regions),
        coordinator_room=checked("--coordinator-room", room, args.coordinator_room, ""),
        coordinator_users=each("--coordinator-user", user_id, args.coordinator_users),
        coordinator_language=checked("--coordinator-language", language,
                                     args.coordinator_language, "en"),
        facilitators=each("--facilitator", user_id, args.facilitators),
        translation=checked("--translation", backend, args.translation, "argos"),
    )
    problems += _region_clashes(answers.regions)
    if problems:
        raise InitError("\n".join(problems))
    return answers


def _region_clashes(regions: list[Region]) -> list[str]:
    problems = []
    ids = [r.id for r in regions]
    rooms = [r.room for r in regions]
    for value in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"--region: two regions have the id {value!r}")
    for value in sorted({r for r in rooms if rooms.count(r) > 1}):
        problems.append(f"--region: two regions share the room {value}; each needs its own")
    return problems


# -- asking -----------------------------------------------------------------------------------


class Asker:
    """Questions on ``out``, answers from ``into``; a wrong answer is asked again."""

    def __init__(self, into: TextIO, out: TextIO) -> None:
        self.into = into
        self.out = out

    def _line(self, prompt: str, secret: bool = False) -> str:
        if secret and self.into is sys.__stdin__ and self.into.isatty():
            return getpass.getpass(prompt, stream=self.out)
        self.out.write(prompt)
        self.out.flush()
        line = self.into.readline()
        if not line:
            raise Aborted
        return line.rstrip("\n")

    def ask(self, question: str, check: Callable[[str], T], default: str | None = None,
            *, secret: bool = False) -> T:
        shown = f" [{default}]" if default else ""
        while True:
            text = self._line(f"{question}{shown}: ", secret).strip()
            if not text and default is not None:
                text = default
            if not text:
                self.out.write("  (an answer is needed)\n")
                continue
            try:
                return check(text)
            except ValueError as exc:
                self.out.write(f"  {exc}\n")

    def yes(self, question: str, default: bool = False) -> bool:
        return self.ask(f"{question} (y/n)", _yes_no, "y" if default else "n")


def _yes_no(text: str) -> bool:
    if text.lower() in ("y", "yes", "o", "oui", "s", "si", "sí"):
        return True
    if text.lower() in ("n", "no", "non"):
        return False
    raise ValueError("answer y or n")


def _text(text: str) -> str:
    return text


def _optional(check: Callable[[str], T]) -> Callable[[str], T | None]:
    return lambda text: None if text == "-" else check(text)


def ask_answers(asker: Asker, env: dict[str, str]) -> Answers:
    write = asker.out.write
    write("The bot's Matrix account (create it on the homeserver first).\n")
    bot = asker.ask("Bot user id, e.g. @meetbot:example.org", user_id)
    homeserver = asker.ask("Homeserver URL (client-server API)", homeserver_url,
                           f"https://{server_of(bot)}")
    how = asker.ask("Log in with a password or an access token? (password/token)",
                    _choice("password", "token"), "password")
    password = token = device = secret_env = None
    env_name = SECRET_ENV["password" if how == "password" else "access_token"]
    from_env = f"; Enter: take it from {env_name} when the bot runs" if env.get(env_name) else ""
    secret = asker.ask(f"{'Password' if how == 'password' else 'Access token'} (not shown"
                       f"{from_env})", _text, "-" if from_env else None, secret=True)
    if secret == "-" and from_env:
        secret_env = env_name
    elif how == "password":
        password = secret
    else:
        token = secret
    if how == "token":
        device = asker.ask("Device id of the token (- : the homeserver says it)",
                           _optional(_text), "-")
    write("\nThe regions: one room each, where the meetings happen.\n")
    regions: list[Region] = []
    while True:
        n = len(regions) + 1
        rid = asker.ask(f"Region {n}: id (short, e.g. latam)", _unused(region_id,
                        {r.id for r in regions}, "another region has this id"))
        regions.append(Region(
            id=rid,
            name=asker.ask(f"Region {n}: name", _text, rid),
            room=asker.ask(f"Region {n}: room (id !… or alias #…:server)", _unused(
                room, {r.room for r in regions}, "another region has this room")),
            languages=asker.ask(f"Region {n}: languages among en, fr, es, the first being "
                                "the default (e.g. es,en)", languages, "en"),
            timezone=asker.ask(f"Region {n}: time zone (IANA, e.g. America/Bogota)",
                               timezone, "UTC"),
        ))
        if not asker.yes("Add another region?"):
            break
    write("\nThe research coordinator: receives minutes, summaries and reports.\n")
    coordinator_room = asker.ask("Coordinator room (id or alias)", room)
    users = asker.ask("Coordinator user ids (comma-separated)", _some(user_ids))
    coordinator_language = asker.ask("Language of summaries and reports (en, fr, es)",
                                     language, "en")
    write("\nFacilitators may start and end meetings in any room (people with power level "
          "50 in a room may too).\n")
    facilitators = asker.ask("Facilitator user ids (comma-separated; - : none)",
                             _optional(user_ids), "-") or []
    translation = asker.ask(f"Translation back-end ({', '.join(BACKENDS)})", backend, "argos")
    return Answers(homeserver, bot, password, token, device, secret_env, regions,
                   coordinator_room, users, coordinator_language, facilitators, translation)


def _choice(*options: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        found = [o for o in options if o.startswith(text.lower())]
        if len(found) != 1:
            raise ValueError(f"answer {' or '.join(options)}")
        return found[0]

    return check


def _unused(check: Callable[[str], str], taken: set[str], why: str) -> Callable[[str], str]:
    def checked(text: str) -> str:
        value = check(text)
        if value in taken:
            raise ValueError(why)
        return value

    return checked


def _some(check: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    def checked(text: str) -> list[str]:
        values = check(text)
        if not values:
            raise ValueError("give at least one")
        return values

    return checked


def check_config(path: Path) -> int:
    """``meetbot check-config`` on the new file: the very same checks, in a process of its
    own (``cli/main.py`` lists this module, so this module does not import it)."""
    root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    sys.stdout.flush()
    done = subprocess.run(
        [sys.executable, "-m", "meetbot", "check-config", "--config", str(path)],
        env={**os.environ, "PYTHONPATH": pythonpath}, check=False,
    )
    return done.returncode


def next_steps(a: Answers, path: str) -> str:
    rooms = [r.room for r in a.regions] + [a.coordinator_room]
    steps = [
        f"Create the account {a.user_id} on the homeserver if it does not exist yet, and "
        f"invite it to {', '.join(rooms)} (anyone in those rooms may: it accepts when it "
        "runs).",
        f"meetbot check-config --config {path} --online   (logs in and checks every room: "
        "it exists, the bot is in it, its power level is enough)",
    ]
    if a.translation == "argos":
        langs = sorted({lang for r in a.regions for lang in r.languages}
                       | {a.coordinator_language})
        steps.append(f"meetbot models install {' '.join(langs)} --config {path}   "
                     "(the translation models, once)")
    steps.append(f"meetbot run --config {path}")
    return "Next:\n" + "\n".join(f"  {n}. {step}" for n, step in enumerate(steps, 1))


# -- the command -------------------------------------------------------------------------------


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.description = (
        "Write a commented config file. On a terminal, with none of the values below given, "
        "it asks for each; otherwise every required value is a flag (--homeserver, --user-id, "
        "--password or --access-token, one --region or more, --coordinator-room, "
        "--coordinator-user)."
    )
    add = parser.add_argument
    add("--force", action="store_true", help="replace the file if it exists")
    add("--homeserver", metavar="URL", help="the client-server API URL")
    add("--user-id", metavar="USER", help="the bot's account, @meetbot:example.org")
    add("--password", help="the bot's password (or MEETBOT_PASSWORD in the environment)")
    add("--access-token", metavar="TOKEN", help="instead of a password")
    add("--device-id", metavar="DEVICE", help="the access token's device, if whoami "
        "does not name it")
    add("--region", dest="regions", action="append", nargs="+", default=[],
        metavar="FIELD", help="ID NAME ROOM LANGUAGES [TIMEZONE], e.g. latam 'Latin America' "
        "'#latam:example.org' es,en America/Bogota (repeat for each region)")
    add("--coordinator-room", metavar="ROOM", help="the coordinator room, id or alias")
    add("--coordinator-user", dest="coordinator_users", action="append", default=[],
        metavar="USER", help="a coordinator (repeat for more)")
    add("--coordinator-language", metavar="LANG", help="of summaries and reports (default en)")
    add("--facilitator", dest="facilitators", action="append", default=[], metavar="USER",
        help="a facilitator (repeat for more)")
    add("--translation", metavar="BACKEND", help=f"{' | '.join(BACKENDS)} (default argos)")
    add("--data-dir", metavar="DIR", default="./data", help="where the bot keeps its "
        "database, keys and minutes (default ./data, beside the config file; /data in the "
        "container image); not asked")


def _given(args: argparse.Namespace) -> bool:
    return any(getattr(args, key, None) not in (None, []) for key in ANSWER_FLAGS)


def _err(message: str) -> None:
    print(f"meetbot init: {message}", file=sys.stderr)


@subcommand("init", "write a commented config file (asks, or takes flags)", _arguments)
def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.config)
    if path.exists() and not args.force:
        _err(f"{path} already exists; give --force to replace it, or --config for another file")
        return 1
    env = dict(os.environ)
    interactive = not _given(args) and sys.stdin.isatty()
    try:
        if interactive:
            print(f"Writing {path}. Enter keeps the [default].")
            answers = ask_answers(Asker(sys.stdin, sys.stdout), env)
        else:
            answers = answers_from_flags(args, env)
    except InitError as exc:
        why = ("values were given as flags" if _given(args)
               else "stdin is not a terminal, so nothing is asked")
        _err(f"{exc}\n({why}: give every required value as a flag; see meetbot init --help)")
        return EXIT_USAGE
    except (Aborted, EOFError):
        print(file=sys.stderr)
        _err("the answers ended before the last question; nothing written")
        return 1
    answers.data_dir = args.data_dir
    write_config(path, render(answers, str(path)), env)
    print(f"\nWrote {path} (readable by you only: it may hold the bot's secret).")
    status = check_config(path)
    if status != 0:
        return status
    print("\n" + next_steps(answers, str(path)))
    return 0
