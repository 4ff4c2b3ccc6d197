"""Feature modules: importing one registers its commands, hooks, tasks and subcommands."""

from __future__ import annotations

import importlib

FEATURES: tuple[str, ...] = (
    "meetbot.core.translation_commands",
    "meetbot.models_cli",
    "meetbot.demo.cli",
    "meetbot.core.timebox",
    "meetbot.core.queue",
    "meetbot.core.consent",
    "meetbot.core.schedule",
    "meetbot.calendar",
    "meetbot.proposal_anchors",
    "meetbot.render.proposals",
    "meetbot.core.consent_commands",
    "meetbot.core.coordinator_commands",
    "meetbot.research.cli",
)


def load_features() -> None:
    for module in FEATURES:
        importlib.import_module(module)


load_features()
