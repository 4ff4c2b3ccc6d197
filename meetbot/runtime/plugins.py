"""Registries that feature modules fill when they are imported.

They live in a module with no imports of its own: features load while the app (and so the
service) is still being imported, and must be able to register at that moment.
"""

from __future__ import annotations

from typing import Any

# Coroutine functions (service) -> None, awaited once the bot has started.
startup_plugins: list[Any] = []
# Factories (app, client) -> {kind: handler} for features that add durable task kinds.
task_plugins: list[Any] = []


def register_startup_plugin(plugin: Any) -> None:
    startup_plugins.append(plugin)


def register_task_plugin(factory: Any) -> None:
    task_plugins.append(factory)
