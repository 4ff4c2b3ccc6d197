"""``meetbot models``: list and install the Argos translation models."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from meetbot.cli.common import add_config_argument, read_config, subcommand

LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the installed models")
    install = actions.add_parser(
        "install",
        help="install .argosmodel files, or download the pairs for languages (online only)",
        description="meetbot models install FILE.argosmodel ... | meetbot models install en es fr",
    )
    install.add_argument("what", nargs="+", help=".argosmodel files, or language codes")
    for action in (listing, install):
        add_config_argument(action)
        action.add_argument(
            "--models-dir",
            type=Path,
            help="where the models live (default: translation.models_dir of the config)",
        )


def _models_dir(args: argparse.Namespace) -> Path:
    if args.models_dir is not None:
        return Path(args.models_dir)
    return read_config(args).models_path


@subcommand("models", "list or install translation models (Argos)", _arguments)
def cmd_models(args: argparse.Namespace) -> int:
    from meetbot.translation.base import TranslationError
    from meetbot.translation.models import install_languages, install_model_files, list_models

    models_dir = _models_dir(args)
    try:
        if args.action == "install":
            files = [Path(w) for w in args.what if not LANGUAGE.match(w)]
            languages = [w for w in args.what if LANGUAGE.match(w)]
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                print(f"meetbot: no such model file: {', '.join(missing)}", file=sys.stderr)
                return 1
            if files:
                install_model_files(models_dir, files)
            if languages:
                install_languages(models_dir, languages, progress=sys.stderr.isatty())
        models = list_models(models_dir)
    except TranslationError as exc:
        print(f"meetbot: {exc}", file=sys.stderr)
        return 1
    if not models:
        print(
            f"No models in {models_dir}. Install some with: meetbot models install en es fr "
            "(online), or meetbot models install FILE.argosmodel"
        )
        return 0
    print(f"Models in {models_dir}:")
    for model in models:
        print(
            f"  {model.source}-{model.target}  {model.name} {model.version}  "
            f"({model.size_bytes / 1e6:.1f} MB)"
        )
    return 0
