"""The demo's folder, its people, and the config it writes for the bot."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MARKER = ".meetbot-demo"
CONFIG_NAME = "meetbot.yaml"
KEPT = {"models"}  # survives a new run: downloaded translation models
REGION_LANGUAGES = ("es", "fr", "en")


class DemoFolderError(RuntimeError):
    """The demo folder cannot be used (phrased for a person)."""


@dataclass(frozen=True)
class Person:
    key: str
    localpart: str
    name: str
    language: str


BOT = Person("bot", "meetbot", "meetbot", "en")
FACILITATOR = Person("facilitator", "maya", "Maya (facilitator)", "en")
ANA = Person("ana", "ana", "Ana", "es")
LUCIE = Person("lucie", "lucie", "Lucie", "fr")
SAM = Person("sam", "sam", "Sam", "en")
COORDINATOR = Person("coordinator", "kofi", "Kofi (coordinator)", "en")
PEOPLE = (BOT, FACILITATOR, ANA, LUCIE, SAM, COORDINATOR)
PARTICIPANTS = (ANA, LUCIE, SAM)


@dataclass(frozen=True)
class DemoFolder:
    """Where everything of one demo lives (default ``./meetbot-demo``)."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def synapse(self) -> Path:
        return self.root / "synapse"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def minutes(self) -> Path:
        return self.data / "minutes"

    @property
    def log(self) -> Path:
        return self.root / "meetbot.log"

    @property
    def transcript(self) -> Path:
        return self.root / "transcript.txt"

    def prepare(self) -> bool:
        """Make the folder ready for a fresh demo; True if a previous demo was replaced.

        Only a folder that a demo made (it holds the marker file) is emptied, and its
        ``models/`` folder is kept. Any other non-empty folder is refused.
        """
        root = self.root
        if root.exists() and not root.is_dir():
            raise DemoFolderError(f"{root} is a file; give --dir a folder")
        replaced = False
        if root.is_dir() and any(root.iterdir()):
            if not (root / MARKER).exists():
                raise DemoFolderError(
                    f"{root} already holds files that are not a meetbot demo; "
                    "give --dir a new or empty folder"
                )
            for child in root.iterdir():
                if child.name in KEPT or child.name == MARKER:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            replaced = True
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text("A folder made by `meetbot demo`; the next demo empties it.\n")
        return replaced


def new_password() -> str:
    return secrets.token_urlsafe(9)


def write_config(
    folder: DemoFolder,
    *,
    homeserver: str,
    user_ids: dict[str, str],
    bot_password: str,
    room: str,
    coordinator_room: str,
    backend: str,
    models_dir: Path,
) -> Path:
    """Write the bot's config, a real one a person can read and reuse."""
    models = (
        str(models_dir.relative_to(folder.root))
        if models_dir.is_relative_to(folder.root)
        else str(models_dir)
    )
    config: dict[str, Any] = {
        "homeserver": homeserver,
        "user_id": user_ids[BOT.key],
        "password": bot_password,
        "data_dir": "data",
        "facilitators": [user_ids[FACILITATOR.key]],
        "coordinator": {
            "room": coordinator_room,
            "language": COORDINATOR.language,
            "users": [user_ids[COORDINATOR.key]],
        },
        "regions": [
            {
                "id": "demo",
                "name": "Demo region",
                "room": room,
                "languages": list(REGION_LANGUAGES),
                "timezone": "UTC",
                "agenda": "default",
            }
        ],
        "translation": {"backend": backend, "models_dir": models},
        # Unencrypted demo rooms; a real deployment keeps the default (true).
        "encryption": False,
        "log_level": "INFO",
    }
    header = (
        "# Written by `meetbot demo` for its embedded homeserver; a real one has the same keys.\n"
        "# Check it with: meetbot check-config --config " + str(folder.config) + "\n"
    )
    text = header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    folder.config.write_text(text, encoding="utf-8")
    folder.config.chmod(0o600)
    return folder.config
