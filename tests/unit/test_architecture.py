"""The house rules of the code base: packages by role, one composition root, no cycles.

The import contracts themselves (layers, a pure core, no cycles at any depth) live in
``pyproject.toml`` and run as ``lint-imports`` in CI; these tests keep the rest true.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import meetbot
from meetbot.app import UnhandledEffect
from meetbot.config.schema import load_config
from meetbot.core import effects, privacy_effects, written_effects
from meetbot.core.engine import Engine
from meetbot.core.events import Message
from meetbot.core.hooks import Hooks
from meetbot.core.registry import Call, CommandRegistry, Features, Scope, command
from meetbot.runtime import features
from meetbot.runtime.features import open_app

PACKAGE = Path(meetbot.__file__).parent
MAX_LINES = 500


def modules() -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages(meetbot.__path__, "meetbot.")
        if not m.name.endswith("__main__")
    ]


def test_no_module_is_longer_than_500_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_at_most_six_loose_modules_sit_at_the_top_of_the_package() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= 6, loose


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_keeps_a_registry_that_importing_would_fill() -> None:
    """Registries exist only where the composition root builds them."""
    for name in modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            assert not isinstance(value, (CommandRegistry, Features)), f"{name}.{attr}"
            assert not (isinstance(value, list) and attr.endswith(("hooks", "plugins"))), (
                f"{name}.{attr}"
            )


def test_every_command_comes_from_a_feature_the_root_lists() -> None:
    listed = {m.__name__ for m in features.CORE_FEATURES}
    for cmd in features.features().commands:
        assert cmd.handler.__module__ in listed, cmd.name
    # Building again gives the same commands in the same order: nothing depends on imports.
    again = Features.collect(features.CORE_FEATURES).commands
    assert [c.name for c in again] == [c.name for c in features.features().commands]


def core_effect_types() -> list[type]:
    found = []
    for module in (effects, privacy_effects, written_effects):
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == module.__name__ and dataclasses.is_dataclass(value):
                found.append(value)
    return found


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(
        "homeserver: http://127.0.0.1:1\nuser_id: '@bot:example.org'\npassword: secret\n"
        f"data_dir: {tmp_path / 'data'}\n"
        "regions:\n  - {id: latam, name: LA, room: '!la:example.org', languages: [es, en]}\n",
        encoding="utf-8",
    )
    return path


async def test_every_effect_the_core_can_ask_for_has_a_handler(tmp_path: Path) -> None:
    app = await open_app(load_config(write_config(tmp_path)))
    try:
        unhandled = [t.__name__ for t in core_effect_types() if not app.handles(t)]
        assert unhandled == []
    finally:
        await app.store.db.close()


@dataclasses.dataclass(frozen=True)
class Unheard:
    """An effect no shell knows."""

    room_id: str


@command("unheard", scope=Scope.ROOM, summary=meetbot.i18n._("Ask for an effect nobody handles."))
def do_unheard(call: Call) -> None:
    call.emit(Unheard(call.event.room_id))  # type: ignore[arg-type]


async def test_an_effect_nobody_handles_fails_loudly(tmp_path: Path) -> None:
    app = await open_app(load_config(write_config(tmp_path)))
    try:
        app.engine = Engine(Features(CommandRegistry(do_unheard.__meetbot_commands__), Hooks()))  # type: ignore[attr-defined]
        event = Message("$1", "!la:example.org", "@ana:example.org",
                        datetime(2027, 1, 1, tzinfo=timezone.utc), "!unheard")
        with pytest.raises(UnhandledEffect, match="Unheard"):
            await app.ingest(event)
        assert not await app.store.has_event("$1")  # nothing half-kept
    finally:
        await app.store.db.close()


SQL = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE TABLE", ".execute(")


def test_sql_lives_only_under_storage() -> None:
    outside = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if "storage" not in path.relative_to(PACKAGE).parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(word in line for word in SQL)
    ]
    assert outside == []
