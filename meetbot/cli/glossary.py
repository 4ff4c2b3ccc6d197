"""``meetbot glossary export``: the glossary file with the terms added in rooms written in.

Terms added with ``!term add`` live in the database and apply at once; the config's glossary
file changes only through this command (people keep the file in version control, and review
what the rooms added before it becomes the network's glossary).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from meetbot.cli.common import (
    EXIT_OK,
    CommandError,
    add_config_argument,
    output_file,
    read_config,
    stored_record,
    subcommand,
)
from meetbot.config.glossary import GlossaryFile, dump_glossary, merged, read_glossary
from meetbot.storage.glossary_store import GlossaryStore


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export"],
                        help="export: write the file's terms and the rooms' into one file")
    add_config_argument(parser)
    parser.add_argument(
        "--out", "-o", type=Path,
        help="the file to write (default: the config's translation.glossary file, replaced)",
    )


@subcommand("glossary", "write the terms added in rooms into the glossary file", _arguments)
def cmd_glossary(args: argparse.Namespace) -> int:
    config = read_config(args)
    path = config.glossary_path
    out = args.out or path
    if out is None:
        raise CommandError(
            f"translation.glossary is not set in {config.source}: give --out FILE, then set "
            "translation.glossary: FILE in the config"
        )
    output_file(out, "--out")
    current = read_glossary(path, config.source) if path is not None else GlossaryFile()

    async def rows() -> list[tuple[str, str, str]]:
        async with stored_record(config) as app:
            return [(t.source, t.lang, t.target) for t in await GlossaryStore(app.store).terms()]

    room_terms = asyncio.run(rows())
    text = dump_glossary(merged(current, room_terms))
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out.parent, delete=False,
                                     prefix=f".{out.name}.", suffix=".tmp") as handle:
        handle.write(text)
    os.replace(handle.name, out)
    print(f"meetbot: {len(room_terms)} term(s) added in rooms written into {out}",
          file=sys.stderr)
    print(out)
    return EXIT_OK
