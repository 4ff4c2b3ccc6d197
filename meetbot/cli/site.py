"""``meetbot site``: the network's web space, a static site in English, French and Spanish."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from meetbot.cli.common import (
    CommandError,
    add_config_argument,
    output_folder,
    print_paths,
    read_config,
    stored_record,
    subcommand,
)


def _site_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--out", type=Path,
                        help="folder to build the site in (default: the config's site.out); "
                             "it is replaced at each build, so give an empty or new folder, "
                             "or one meetbot built")
    parser.epilog = (
        "Prints the site's index.html. The site names people by pseudonym, as the research "
        "exports do; open it from the folder (file://) or put the folder on any web server."
    )


@subcommand("site", "build the network's web space: meetings, minutes, report, actions, "
            "search (en, fr, es)", _site_arguments)
def cmd_site(args: argparse.Namespace) -> int:
    from meetbot.research.outputs import write_site
    from meetbot.research.pseudonyms import PseudonymKeyError
    from meetbot.research.site import SiteFolderError

    config = read_config(args)
    if args.out is None and config.site_path is None:
        raise CommandError(
            f"no folder to build the site in: give --out DIR, or set site: {{out: DIR}} in "
            f"{config.source or 'the config'}")
    where = args.out or config.site_path
    assert where is not None
    out = output_folder(where, "--out" if args.out else "site.out")

    async def run() -> list[Path]:
        async with stored_record(config) as app:
            try:
                await write_site(app, out)
            except (SiteFolderError, PseudonymKeyError) as exc:
                raise CommandError(str(exc)) from exc
        return [out / "index.html"]

    return print_paths(asyncio.run(run()))
