"""``meetbot backup --out FILE``: what a restore needs, in one archive, while the bot runs.

The archive (``.tar.gz``, readable by its owner only) holds, by their paths in ``data_dir``:

- ``meetbot.sqlite3``: the database (the record, the outbox, tasks, the sync position), copied
  with SQLite's online backup API, so it is consistent even while the bot writes (WAL mode);
- ``crypto/``: the encryption keys of the bot's device (nio's store; its SQLite files are
  copied the same way);
- ``session.json``: the access token and the device the keys belong to;
- ``minutes/``: the minutes written so far (they can be made again with ``meetbot minutes``);
- ``meetbot-backup.json``: what is in it and how to restore it.

Not in it, on purpose: ``research-pseudonym.key``, the secret behind the research pseudonyms.
It belongs apart from any copy of the record (with it and the database, pseudonyms can be
traced back to people): ``--key-out FILE`` writes a copy of it to a file of its own. Neither
``models/`` (installed again with ``meetbot models install``) nor ``reports/`` and
``exports/`` (made again from the database) are in it.

Restore: stop the bot, extract into an EMPTY data folder (``tar -xzf FILE -C DATA_DIR``), put
the key back, start. Never extract over a folder that still has the old database's ``-wal``
file: SQLite would apply it to the restored database.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meetbot import __version__
from meetbot.cli.common import add_config_argument, subcommand
from meetbot.config.schema import Config, load_config

DATABASE = "meetbot.sqlite3"
CRYPTO = "crypto"
SESSION = "session.json"
MINUTES = "minutes"
MANIFEST = "meetbot-backup.json"
KEY = "research-pseudonym.key"  # research/pseudonyms.py: SECRET_FILE
LEFT_OUT = ("models", "reports", "exports")


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--out", "-o", type=Path, required=True,
        help="the archive to write (.tar.gz); it must not exist yet",
    )
    parser.add_argument(
        "--key-out", type=Path,
        help=f"also copy the pseudonym secret ({KEY}) to this file, to keep apart from the "
        "archive (on another medium)",
    )
    parser.add_argument(
        "--no-minutes", action="store_true",
        help="leave minutes/ out (meetbot minutes makes them again from the database)",
    )
    parser.epilog = (
        "Safe while the bot runs. Run it as the bot's user. Restore: stop the bot, "
        "tar -xzf FILE -C EMPTY_DATA_DIR, put the key back, start. See docs/own-homeserver.md."
    )


@subcommand("backup", "write a consistent backup of the bot's data, safe while it runs",
            _arguments)
def cmd_backup(args: argparse.Namespace) -> int:
    from meetbot.storage.backup import BackupError

    config = _config_for_paths(args)
    try:
        summary = write_backup(
            config, args.out, key_out=args.key_out, minutes=not args.no_minutes
        )
    except (BackupError, FileExistsError, FileNotFoundError) as exc:
        print(f"meetbot: backup failed: {exc}", file=sys.stderr)
        return 1
    db = summary["database"]
    print(f"{args.out}: {len(summary['files'])} files; database at schema version "
          f"{db['schema_version']}, {db['rows'].get('events', 0)} events, "
          f"{db['rows'].get('meetings', 0)} meetings")
    if args.key_out:
        print(f"{args.key_out}: the pseudonym secret; keep it apart from the archive")
    elif (config.data_path / KEY).exists():
        print(f"not in the archive: {config.data_path / KEY} (the pseudonym secret); keep a "
              "copy apart (--key-out FILE)")
    return 0


def _config_for_paths(args: argparse.Namespace) -> Config:
    """The config, of which a backup reads only paths: the bot's password or token, often
    kept in the service's environment (MEETBOT_PASSWORD, MEETBOT_ACCESS_TOKEN) rather than
    the file, is not needed, so its absence here is no error."""
    env = dict(os.environ)
    if not (env.get("MEETBOT_PASSWORD") or env.get("MEETBOT_ACCESS_TOKEN")):
        env["MEETBOT_ACCESS_TOKEN"] = "not-needed-for-a-backup"
    config = load_config(Path(args.config), env=env)
    logging.getLogger().setLevel(config.log_level)
    return config


def write_backup(
    config: Config, out: Path, *, key_out: Path | None = None, minutes: bool = True
) -> dict[str, Any]:
    """Write the archive ``out`` (and the key to ``key_out``); return its manifest."""
    from meetbot.storage.backup import backup_database, is_sqlite

    data = config.data_path
    database = config.database_path
    if not database.exists():
        raise FileNotFoundError(f"{database}: no database (is data_dir right?)")
    for target in (out, key_out):
        if target is not None and target.exists():
            raise FileExistsError(f"{target}: already exists; choose a new name")
    key = data / KEY
    if key_out is not None and not key.exists():
        raise FileNotFoundError(
            f"{key}: no pseudonym secret yet (it is made when pseudonyms are first needed)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".meetbot-backup-", dir=out.parent) as tmp:
        staging = Path(tmp)
        copied = backup_database(database, staging / DATABASE)
        members: list[tuple[Path, str]] = [(staging / DATABASE, DATABASE)]
        crypto = data / CRYPTO
        if crypto.is_dir():
            for path in sorted(p for p in crypto.rglob("*") if p.is_file()):
                name = path.relative_to(data).as_posix()
                if path.name.endswith(("-wal", "-shm", "-journal")):
                    continue  # the online copy of their database holds what they hold
                if is_sqlite(path):
                    copy = staging / name
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    backup_database(path, copy)
                    members.append((copy, name))
                else:
                    members.append((path, name))
        if (data / SESSION).is_file():
            members.append((data / SESSION, SESSION))
        if minutes and (data / MINUTES).is_dir():
            members += [
                (path, path.relative_to(data).as_posix())
                for path in sorted((data / MINUTES).rglob("*"))
                if path.is_file()
            ]
        manifest = {
            "format": "meetbot-backup/1",
            "meetbot": __version__,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "user_id": config.user_id,
            "homeserver": config.homeserver,
            "database": {"schema_version": copied.schema_version, "rows": copied.rows},
            "files": [name for _path, name in members],
            "not_included": {
                KEY: "the pseudonym secret: back it up apart (meetbot backup --key-out FILE)",
                **{f"{name}/": "made again (models install, report, export)"
                   for name in LEFT_OUT},
            },
            "restore": "stop the bot; tar -xzf THIS_FILE -C AN_EMPTY_DATA_DIR; put "
            f"{KEY} back beside it; start the bot (migrations run at start)",
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        members.append((staging / MANIFEST, MANIFEST))
        partial = out.with_name(out.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                with tarfile.open(fileobj=fh, mode="w:gz") as tar:
                    for path, name in members:
                        tar.add(path, arcname=name, recursive=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if key_out is not None:
        key_out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh, key.open("rb") as src:
            shutil.copyfileobj(src, fh)
    return manifest
